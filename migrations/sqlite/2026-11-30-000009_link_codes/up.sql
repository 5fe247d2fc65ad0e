-- Link codes: a member asks for one to let another brand enrol them as the same member
-- (POST /v1/me/links, then POST /v1/members with link_code). Single use, short-lived.
CREATE TABLE link_codes (
    code TEXT PRIMARY KEY NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (id),
    partner TEXT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    used_at_us BIGINT,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX link_codes_by_member ON link_codes (member_id);
