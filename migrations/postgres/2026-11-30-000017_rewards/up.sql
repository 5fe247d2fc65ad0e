-- Rewards (issue 20): experiences and products a partner offers for points, each with a number
-- of places. `claimed` counts the places taken (a cancelled claim gives its place back); a
-- claim takes one only while `claimed < capacity`, in the claim's own write.
CREATE TABLE rewards (
    id TEXT PRIMARY KEY NOT NULL,
    partner TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    unit TEXT NOT NULL,
    price_minor BIGINT NOT NULL CHECK (price_minor > 0),
    capacity BIGINT NOT NULL CHECK (capacity > 0),
    claimed BIGINT NOT NULL DEFAULT 0,
    starts_at_us BIGINT,
    ends_at_us BIGINT,
    created_at_us BIGINT NOT NULL,
    CHECK (claimed >= 0 AND claimed <= capacity)
);
CREATE INDEX rewards_in_order ON rewards (created_at_us, id);
-- Each place taken: the points spent (`entry_id`, kind `reward_claim`), fulfilled by the partner
-- or cancelled with the points given back (`refund_entry_id`, a reversal).
CREATE TABLE reward_claims (
    code TEXT PRIMARY KEY NOT NULL,
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    member_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'fulfilled', 'cancelled')),
    entry_id TEXT NOT NULL,
    refund_entry_id TEXT,
    created_at_us BIGINT NOT NULL,
    closed_at_us BIGINT
);
CREATE INDEX reward_claims_by_member ON reward_claims (member_id, created_at_us);
CREATE INDEX reward_claims_by_reward ON reward_claims (reward_id, created_at_us);
