-- Insights (issue 20): what the segment worker's daily pass over every member counted, per
-- partner and for the network (`scope`: a partner's id, or `network`), as the JSON the API
-- serves. Reads never count members; they read this.
CREATE TABLE insights (
    scope TEXT PRIMARY KEY NOT NULL,
    computed_at_us BIGINT NOT NULL,
    body TEXT NOT NULL
);
-- A sponsor's campaigns, for its insights.
CREATE INDEX campaigns_by_sponsor ON campaigns (sponsor, created_at_us);
