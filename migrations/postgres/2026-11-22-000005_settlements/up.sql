-- Settlement cycles: each closes the entries of a chain range (first_seq, last_seq] at a
-- cut-off, with every party's multilateral net and the gross bilateral obligations behind them.

CREATE TABLE settlements (
    id TEXT PRIMARY KEY NOT NULL,
    cutoff_us BIGINT NOT NULL UNIQUE,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'partially_paid', 'settled')),
    created_at_us BIGINT NOT NULL,
    CHECK (first_seq <= last_seq)
);

CREATE TABLE settlement_positions (
    settlement_id TEXT NOT NULL REFERENCES settlements (id),
    party TEXT NOT NULL,
    -- Above zero: the network pays the party; below: the party pays the network.
    net_minor BIGINT NOT NULL,
    paid_minor BIGINT NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
    PRIMARY KEY (settlement_id, party)
);

CREATE TABLE settlement_obligations (
    settlement_id TEXT NOT NULL REFERENCES settlements (id),
    debtor TEXT NOT NULL,
    creditor TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (settlement_id, debtor, creditor)
);
