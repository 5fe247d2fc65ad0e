-- The behaviour profile: what a member did at each brand, kept by the writer in the transaction
-- of each entry that counts (earns, redemptions, captures, coupon redemptions, reversals), so
-- reads never scan the journal. Money is in minor units of the settlement currency, valued when
-- each entry was posted (the entry's memo records that value; `coalition rebuild-aggregates`
-- recomputes these tables from the journal). PostgreSQL: pages left 30 % free, so that the
-- writer's upserts (which change no key) stay on their page as heap-only updates.
CREATE TABLE member_profiles (
    member_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    visits BIGINT NOT NULL,
    spend_minor BIGINT NOT NULL,
    earned_minor BIGINT NOT NULL,
    redeemed_minor BIGINT NOT NULL,
    first_seen_us BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL,
    PRIMARY KEY (member_id, partner)
) WITH (fillfactor = 70);
-- The same, per UTC day: the rolling windows (30, 90, 365 days) later read sums of these.
CREATE TABLE member_profile_days (
    member_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    day INTEGER NOT NULL,
    visits BIGINT NOT NULL,
    spend_minor BIGINT NOT NULL,
    earned_minor BIGINT NOT NULL,
    redeemed_minor BIGINT NOT NULL,
    PRIMARY KEY (member_id, partner, day)
) WITH (fillfactor = 70);
-- Which aggregates have been built from the journal. A database with entries from before the
-- profile starts without a row: the service builds the profile from the journal once, at start.
CREATE TABLE aggregate_builds (
    name TEXT PRIMARY KEY NOT NULL,
    built_at_us BIGINT NOT NULL,
    entries BIGINT NOT NULL
);
INSERT INTO aggregate_builds (name, built_at_us, entries)
SELECT 'profiles', 0, 0 WHERE NOT EXISTS (SELECT 1 FROM entries);
-- Erasure (DELETE /v1/me): the member's row stays, as the journal still names its UUID, marked
-- erased; nothing else about the person does.
ALTER TABLE members ADD COLUMN erased_at_us BIGINT;
-- Idempotency records that name a member (an enrolment's answer holds the external id and card
-- number): erasure removes them by this column.
ALTER TABLE idempotency_keys ADD COLUMN member_id TEXT;
CREATE INDEX idempotency_by_member ON idempotency_keys (member_id) WHERE member_id IS NOT NULL;
-- What erasure finds of a member without scanning: their open holds and their coupons.
CREATE INDEX operations_pending_by_member ON operations (member_id) WHERE status = 'pending';
CREATE INDEX coupons_by_member ON coupons (member_id) WHERE member_id IS NOT NULL;
