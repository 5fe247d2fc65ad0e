-- The partner API's state beside the ledger: members and their links to partners, idempotency
-- records, and the mutable state of earns, redemptions and holds (the entries stay append-only).

CREATE TABLE members (
    id TEXT PRIMARY KEY NOT NULL,
    share_balances INTEGER NOT NULL DEFAULT 0 CHECK (share_balances IN (0, 1)),
    created_at_us BIGINT NOT NULL
);

CREATE TABLE member_links (
    partner TEXT NOT NULL,
    external_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (partner, external_id)
);
CREATE UNIQUE INDEX member_links_by_member ON member_links (member_id, partner);

CREATE TABLE idempotency_keys (
    partner TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (partner, idem_key)
);

CREATE TABLE operations (
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
);
CREATE INDEX operations_due ON operations (status, expires_at_us);
