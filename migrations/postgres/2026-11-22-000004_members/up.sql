-- Members' authorisations: a short code that lets one partner spend up to max_minor points of
-- one unit of the member's, until it expires.

CREATE TABLE authorizations (
    code TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    partner TEXT NOT NULL,
    unit TEXT NOT NULL,
    max_minor BIGINT NOT NULL CHECK (max_minor > 0),
    used_minor BIGINT NOT NULL DEFAULT 0 CHECK (used_minor >= 0),
    expires_at_us BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    CHECK (used_minor <= max_minor)
);
CREATE INDEX authorizations_by_member ON authorizations (member_id);
