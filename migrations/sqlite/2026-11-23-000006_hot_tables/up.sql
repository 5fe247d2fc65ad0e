-- SQLite only: the tables every write touches, in the layout SQLite writes with the fewest
-- B-trees. `seq INTEGER PRIMARY KEY` makes the chain position the row id (BIGINT PRIMARY KEY kept
-- a second index beside it); postings, accounts and operations become WITHOUT ROWID tables
-- stored in their primary key's order (each had a row-id tree and a separate key index).
-- Same columns, constraints, indexes and triggers; the rows are copied. PostgreSQL needs none of
-- this (its primary keys are the only index either way).

CREATE TABLE entries_new (
    seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    partner TEXT,
    member TEXT,
    reference TEXT,
    reverses TEXT,
    key_id TEXT,
    signature TEXT,
    memo TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO entries_new (seq, id, kind, created_at_us, partner, member, reference, reverses,
                         key_id, signature, memo, prev_hash, hash)
SELECT seq, id, kind, created_at_us, partner, member, reference, reverses,
       key_id, signature, memo, prev_hash, hash
FROM entries;

CREATE TABLE postings_new (
    -- Renaming entries_new to entries below renames this reference too.
    entry_seq BIGINT NOT NULL REFERENCES entries_new (seq),
    line INTEGER NOT NULL,
    account TEXT NOT NULL,
    unit TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
    PRIMARY KEY (entry_seq, line)
) WITHOUT ROWID;
INSERT INTO postings_new (entry_seq, line, account, unit, amount_minor)
SELECT entry_seq, line, account, unit, amount_minor FROM postings;

CREATE TABLE accounts_new (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    balance_minor BIGINT NOT NULL,
    -- Points somebody holds are a credit balance (signed: at or below zero) and never negative.
    CHECK (kind NOT IN ('member', 'hold') OR balance_minor <= 0)
) WITHOUT ROWID;
INSERT INTO accounts_new (name, kind, unit, balance_minor)
SELECT name, kind, unit, balance_minor FROM accounts;

CREATE TABLE operations_new (
    entry_id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('earn', 'redemption', 'hold', 'capture')),
    partner TEXT NOT NULL,
    member_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    points_minor BIGINT NOT NULL CHECK (points_minor > 0),
    reversed_minor BIGINT NOT NULL DEFAULT 0 CHECK (reversed_minor >= 0),
    status TEXT NOT NULL,
    expires_at_us BIGINT,
    closed_by TEXT,
    created_at_us BIGINT NOT NULL,
    CHECK (reversed_minor <= points_minor)
) WITHOUT ROWID;
INSERT INTO operations_new (entry_id, kind, partner, member_id, unit, points_minor,
                            reversed_minor, status, expires_at_us, closed_by, created_at_us)
SELECT entry_id, kind, partner, member_id, unit, points_minor,
       reversed_minor, status, expires_at_us, closed_by, created_at_us
FROM operations;

-- Dropping a table drops its indexes and triggers and fires none of them.
DROP TABLE postings;
DROP TABLE entries;
DROP TABLE accounts;
DROP TABLE operations;
ALTER TABLE entries_new RENAME TO entries;
ALTER TABLE postings_new RENAME TO postings;
ALTER TABLE accounts_new RENAME TO accounts;
ALTER TABLE operations_new RENAME TO operations;

CREATE INDEX entries_by_partner ON entries (partner, seq);
CREATE INDEX entries_by_member ON entries (member, seq);
CREATE INDEX postings_by_account ON postings (account, entry_seq);
CREATE INDEX accounts_by_unit ON accounts (unit, kind);
CREATE INDEX operations_due ON operations (status, expires_at_us);

-- Entries and postings are append-only: a mistake is corrected by a reversing entry.
CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'entries are append-only'); END;
CREATE TRIGGER postings_append_only_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;
CREATE TRIGGER postings_append_only_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;
