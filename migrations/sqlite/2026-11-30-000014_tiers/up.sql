-- A member's tier (issue 19): the tier held, since when, and what keeps it — the qualifying
-- spend's tier is re-evaluated by the writer on every qualifying event (from the day buckets of
-- member_profile_days, never the journal) and daily by a sweeper; a paid tier is kept until
-- paid_until_us whatever the spend. No row: the ladder's first level. `rank` is the tier's place
-- on the ladder (0 first), so the sweeper finds the members above it without reading the rest.
CREATE TABLE member_tiers (
    member_id TEXT PRIMARY KEY NOT NULL,
    tier TEXT NOT NULL,
    tier_rank INTEGER NOT NULL,
    since_us BIGINT NOT NULL,
    -- When the qualifying spend fell below the tier held: the grace period runs from here.
    below_since_us BIGINT,
    paid_tier TEXT,
    paid_until_us BIGINT
);
CREATE INDEX member_tiers_above_first ON member_tiers (member_id) WHERE tier_rank > 0;
-- Every change of a member's tier, with its reason: GET .../tier's history.
CREATE TABLE tier_changes (
    member_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_us BIGINT NOT NULL,
    tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (member_id, seq)
);
