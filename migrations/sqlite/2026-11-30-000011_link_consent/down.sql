ALTER TABLE members DROP COLUMN share_profile;
ALTER TABLE member_links DROP COLUMN share_profile;
ALTER TABLE member_links DROP COLUMN share_balances;
