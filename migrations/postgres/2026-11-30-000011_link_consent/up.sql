-- Consent per link: what each brand may see of the member's other brands (balances, profile).
-- The member's own columns become the default a new link starts from. Existing links take the
-- member's choice as it stood.
ALTER TABLE member_links ADD COLUMN share_balances INTEGER NOT NULL DEFAULT 0;
ALTER TABLE member_links ADD COLUMN share_profile INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN share_profile INTEGER NOT NULL DEFAULT 0;
UPDATE member_links SET share_balances = (
    SELECT m.share_balances FROM members m WHERE m.id = member_links.member_id
);
