-- The console finds an entry by the partner's reference (its receipt or order number) without
-- walking the journal: only entries that carry one are indexed.
CREATE INDEX entries_by_reference ON entries (reference, seq) WHERE reference IS NOT NULL;
