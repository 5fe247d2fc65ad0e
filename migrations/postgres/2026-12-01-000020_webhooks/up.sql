-- Webhooks (issue 21): partners' endpoints, the outbox the writer fills in the same transaction
-- as what caused each event, and every delivery attempt (status and timing, never bodies).

-- One endpoint per partner. `events`: the event types it takes, comma-separated.
-- `disabled_at_us`: set when the endpoint answered 410 Gone; a PUT clears it.
CREATE TABLE webhook_endpoints (
    partner_id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    disabled_at_us BIGINT,
    disabled_reason TEXT
);

-- The outbox: one row per event and receiving partner, delivered in `seq` order per partner.
-- `entry_id`: the entry an entry event is about (its body is rendered at the first attempt and
-- kept in `body`, so that every retry sends the same bytes); `data`: the payload of an event
-- that is not about an entry. `state`: pending, delivered or failed; `queued_at_us`: when it was
-- queued, then when its current run of attempts began (its three days of retries count from it).
CREATE TABLE webhook_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    entry_id TEXT,
    data TEXT,
    body TEXT,
    created_at_us BIGINT NOT NULL,
    queued_at_us BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_us BIGINT NOT NULL,
    last_attempt_us BIGINT,
    last_status INTEGER,
    last_error TEXT,
    done_at_us BIGINT
);
CREATE INDEX webhook_events_pending ON webhook_events (partner_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_events_by_partner ON webhook_events (partner_id, seq);
CREATE INDEX webhook_events_failed ON webhook_events (partner_id, seq) WHERE state = 'failed';

-- Every attempt: when, how long, and what came back (a status, or why there was none).
CREATE TABLE webhook_attempts (
    event_seq BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at_us BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status INTEGER,
    error TEXT,
    PRIMARY KEY (event_seq, attempt)
);

-- `points.expiring` notices already sent: one per member, unit and expiry day.
CREATE TABLE expiry_notices (
    member_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    expires_day INTEGER NOT NULL,
    sent_at_us BIGINT NOT NULL,
    PRIMARY KEY (member_id, unit, expires_day)
);
