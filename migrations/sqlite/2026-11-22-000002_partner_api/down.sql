DROP TABLE operations;
DROP TABLE idempotency_keys;
DROP TABLE member_links;
DROP TABLE members;
