DROP TABLE accounts;
DROP TABLE postings;
DROP TABLE entries;
DROP TABLE partners;
DROP TABLE units;
