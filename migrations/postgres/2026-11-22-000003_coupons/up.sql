-- Coupon campaigns and their single-use codes. Money reserved for a coupon is posted in the
-- ledger (campaign and commitment accounts); these tables keep the counters and the states.

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    sponsor TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- The campaign's fixed terms as JSON: name, redeemable_at, benefit, per_member_limit.
    terms TEXT NOT NULL,
    budget_minor BIGINT NOT NULL CHECK (budget_minor > 0),
    reserved_minor BIGINT NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0),
    used_minor BIGINT NOT NULL DEFAULT 0 CHECK (used_minor >= 0),
    issued_count BIGINT NOT NULL DEFAULT 0,
    redeemed_count BIGINT NOT NULL DEFAULT 0,
    valid_from_us BIGINT NOT NULL,
    valid_until_us BIGINT NOT NULL,
    trigger_partner TEXT,
    trigger_min_minor BIGINT,
    created_at_us BIGINT NOT NULL,
    -- A sponsor never pays more than it committed.
    CHECK (reserved_minor + used_minor <= budget_minor),
    CHECK (valid_from_us < valid_until_us)
);
CREATE INDEX campaigns_by_trigger ON campaigns (trigger_partner);

CREATE TABLE coupons (
    code TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    member_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('issued', 'redeemed', 'expired', 'voided')),
    reserved_minor BIGINT NOT NULL CHECK (reserved_minor > 0),
    expires_at_us BIGINT NOT NULL,
    redemption_entry TEXT,
    discount_minor BIGINT,
    redeemed_by TEXT,
    redeemed_for TEXT,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX coupons_by_campaign ON coupons (campaign_id, member_id);
CREATE INDEX coupons_due ON coupons (status, expires_at_us);
CREATE INDEX coupons_by_redemption ON coupons (redemption_entry);
