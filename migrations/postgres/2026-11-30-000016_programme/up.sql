-- Touch points, segments and targeted offers (issue 20).
--
-- Interactions: every touch point a partner reports, append-only beside the journal (the
-- profile counts each as a visit; `coalition rebuild-aggregates` reads them back). `entry_id`:
-- the earn an interaction rule posted for it, if any.
CREATE TABLE interactions (
    id TEXT PRIMARY KEY NOT NULL,
    partner TEXT NOT NULL,
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    occurred_at TEXT,
    entry_id TEXT
);
CREATE INDEX interactions_by_member ON interactions (member_id, at_us);
-- Interactions per member, brand, kind and UTC day: what `interactions_30d:{kind}` sums.
CREATE TABLE member_interaction_days (
    member_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    kind TEXT NOT NULL,
    day INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (member_id, partner, kind, day)
);
-- Awards of each interaction rule per member and local day (yyyymmdd): its daily cap.
CREATE TABLE interaction_awards (
    member_id TEXT NOT NULL,
    partner TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    awards BIGINT NOT NULL,
    PRIMARY KEY (member_id, partner, rule_id, day)
);
-- Segments: a partner's (owner) or the network's (owner NULL) definition, its size and the
-- members in it, each with the order they entered in (`seq`, from `entered_total`).
CREATE TABLE segments (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0 CHECK (size >= 0),
    entered_total BIGINT NOT NULL DEFAULT 0,
    created_at_us BIGINT NOT NULL,
    evaluated_at_us BIGINT
);
CREATE INDEX segments_by_owner ON segments (owner, created_at_us);
CREATE TABLE segment_members (
    segment_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entered_at_us BIGINT NOT NULL,
    PRIMARY KEY (segment_id, member_id)
);
CREATE UNIQUE INDEX segment_members_in_order ON segment_members (segment_id, seq);
CREATE INDEX segment_members_by_member ON segment_members (member_id);
-- A partner's segment is evaluated over its linked members, page by page.
CREATE INDEX member_links_by_partner ON member_links (partner, member_id);
-- Targeted offers: a campaign for a segment's members, issued as they enter it while it runs;
-- `issued_through_seq`: the segment's members up to this place in the order they entered have
-- been offered a coupon; `exhausted_at_us`: when issuance stopped because the budget could not
-- reserve one more coupon.
CREATE TABLE campaign_audiences (
    campaign_id TEXT PRIMARY KEY NOT NULL REFERENCES campaigns (id),
    segment_id TEXT NOT NULL REFERENCES segments (id),
    auto_issue INTEGER NOT NULL,
    issued_through_seq BIGINT NOT NULL DEFAULT 0,
    exhausted_at_us BIGINT
);
CREATE INDEX campaign_audiences_by_segment ON campaign_audiences (segment_id);
