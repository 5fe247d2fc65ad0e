-- Member card numbers: 16 digits (network prefix, random digits, Luhn check digit). A replaced
-- card stays, revoked: a number is never reused. Members enrolled before cards existed are given
-- one by the service when it starts (random numbers need the service's random source).
CREATE TABLE cards (
    number TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    issued_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT
);
CREATE UNIQUE INDEX cards_active_by_member ON cards (member_id) WHERE revoked_at_us IS NULL;
