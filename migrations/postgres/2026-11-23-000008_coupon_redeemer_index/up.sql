-- A campaign's per-member limit counts the coupons already redeemed for the member at every
-- redemption; without an index that read every coupon of the campaign, inside the single
-- writer. Partial: only redeemed coupons carry a redeemer.
CREATE INDEX coupons_by_redeemer ON coupons (campaign_id, redeemed_for) WHERE redeemed_for IS NOT NULL;
