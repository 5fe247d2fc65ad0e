DROP INDEX coupons_by_member;
DROP INDEX operations_pending_by_member;
DROP INDEX idempotency_by_member;
ALTER TABLE idempotency_keys DROP COLUMN member_id;
ALTER TABLE members DROP COLUMN erased_at_us;
DROP TABLE aggregate_builds;
DROP TABLE member_profile_days;
DROP TABLE member_profiles;
