-- The ledger: units, partners, entries with their postings (append-only), account balances.
-- Amounts are BIGINT counts of the unit's smallest step; times are microseconds since the epoch.

CREATE TABLE units (
    code TEXT PRIMARY KEY NOT NULL,
    scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 8),
    kind TEXT NOT NULL CHECK (kind IN ('points', 'currency')),
    issuer TEXT,
    value TEXT,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE partners (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE entries (
    seq BIGINT PRIMARY KEY NOT NULL CHECK (seq >= 1),
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
CREATE INDEX entries_by_partner ON entries (partner, seq);
CREATE INDEX entries_by_member ON entries (member, seq);

CREATE TABLE postings (
    entry_seq BIGINT NOT NULL REFERENCES entries (seq),
    line INTEGER NOT NULL,
    account TEXT NOT NULL,
    unit TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
    PRIMARY KEY (entry_seq, line)
);
CREATE INDEX postings_by_account ON postings (account, entry_seq);

CREATE TABLE accounts (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    balance_minor BIGINT NOT NULL,
    -- Points somebody holds are a credit balance (signed: at or below zero) and never negative.
    CHECK (kind NOT IN ('member', 'hold') OR balance_minor <= 0)
);
CREATE INDEX accounts_by_unit ON accounts (unit, kind);

-- Entries and postings are append-only: a mistake is corrected by a reversing entry.
CREATE FUNCTION coalition_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION coalition_append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION coalition_append_only();
