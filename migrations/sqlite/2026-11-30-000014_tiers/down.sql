DROP TABLE tier_changes;
DROP TABLE member_tiers;
