-- Paid tiers (issue 19): each purchase of a paid tier by a member at a partner's till. The price
-- is the entry `entry_id` (kind `subscription`); a cancellation within 14 days is the reversing
-- entry `refund_entry_id`. The member's tier row (member_tiers.paid_until_us) says until when the
-- tier is paid.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    tier TEXT NOT NULL,
    price_minor BIGINT NOT NULL,
    entry_id TEXT NOT NULL,
    starts_at_us BIGINT NOT NULL,
    ends_at_us BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    cancelled_at_us BIGINT,
    refund_entry_id TEXT
);
CREATE INDEX subscriptions_by_member ON subscriptions (member_id, ends_at_us);
