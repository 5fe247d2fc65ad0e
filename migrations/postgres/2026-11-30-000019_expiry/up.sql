-- Expiry and liability (issue 21).
--
-- Lots: what each credit to a member's points left, spent oldest first. `lot_seq` is the
-- chain position of the entry that made the lot (0: the opening lot of a balance that predates
-- lots); `clock_us` is when the lot's expiry starts counting (when it was earned, or when an
-- expiry of it was undone). The remainders of an account's lots add up to its balance (verify).
CREATE TABLE lots (
    account TEXT NOT NULL,
    lot_seq BIGINT NOT NULL CHECK (lot_seq >= 0),
    member_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    earned_at_us BIGINT NOT NULL,
    clock_us BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    remaining_minor BIGINT NOT NULL CHECK (remaining_minor >= 0),
    PRIMARY KEY (account, lot_seq)
);
CREATE INDEX lots_open_by_unit ON lots (unit, clock_us) WHERE remaining_minor > 0;
CREATE INDEX lots_open_by_member ON lots (member_id, unit, earned_at_us, lot_seq)
    WHERE remaining_minor > 0;

-- What each entry did to each lot (negative: taken, positive: given), so that a reversal, a
-- void or a hold's release gives back exactly the lots the original took. `restores`: the
-- entry whose moves this one undoes.
CREATE TABLE lot_moves (
    entry_id TEXT NOT NULL,
    account TEXT NOT NULL,
    lot_seq BIGINT NOT NULL,
    delta_minor BIGINT NOT NULL CHECK (delta_minor <> 0),
    restores TEXT,
    PRIMARY KEY (entry_id, account, lot_seq)
);
CREATE INDEX lot_moves_restoring ON lot_moves (restores, account) WHERE restores IS NOT NULL;

-- A member's last earn or spend at any brand: the clock of the `inactivity` policy.
CREATE TABLE member_activity (
    member_id TEXT PRIMARY KEY NOT NULL,
    last_active_us BIGINT NOT NULL
);
CREATE INDEX member_activity_by_time ON member_activity (last_active_us);

-- Per issuer account and UTC day: points earned, redeemed and expired, and the net change of
-- the account (its balance is the sum of every day's net). The liability report reads these.
CREATE TABLE issuer_days (
    account TEXT NOT NULL,
    unit TEXT NOT NULL,
    day INTEGER NOT NULL,
    earned_minor BIGINT NOT NULL,
    redeemed_minor BIGINT NOT NULL,
    expired_minor BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    PRIMARY KEY (account, day)
);

-- Balances that predate lots become one lot each, dated now; their members count as active now.
INSERT INTO lots (account, lot_seq, member_id, unit, earned_at_us, clock_us, amount_minor,
                  remaining_minor)
SELECT name, 0, substr(name, 8, length(name) - 8 - length(unit)), unit, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT),
       -balance_minor, -balance_minor
FROM accounts WHERE kind = 'member' AND balance_minor < 0;
INSERT INTO member_activity (member_id, last_active_us)
SELECT DISTINCT substr(name, 8, length(name) - 8 - length(unit)), CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)
FROM accounts WHERE kind = 'member' AND balance_minor < 0;

-- The issuers' days so far, from the journal (the same sums `verify` recomputes).
INSERT INTO issuer_days (account, unit, day, earned_minor, redeemed_minor, expired_minor, net_minor)
SELECT p.account, p.unit, CAST(e.created_at_us / 86400000000 AS INTEGER),
       SUM(CASE WHEN e.kind IN ('earn', 'conversion') AND p.amount_minor > 0
                THEN p.amount_minor ELSE 0 END),
       SUM(CASE WHEN e.kind IN ('redemption', 'capture', 'reward_claim', 'donation', 'conversion')
                     AND p.amount_minor < 0
                THEN -p.amount_minor ELSE 0 END),
       0,
       SUM(p.amount_minor)
FROM postings p JOIN entries e ON e.seq = p.entry_seq
WHERE p.account LIKE 'issuer:%'
GROUP BY p.account, p.unit, CAST(e.created_at_us / 86400000000 AS INTEGER);
