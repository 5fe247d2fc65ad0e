-- Reversals are found by the entry they reverse (every reversal sums what was already given
-- back); without an index that was a scan of the whole chain. Partial: only reversals carry it,
-- so ordinary writes pay nothing.
CREATE INDEX entries_by_reverses ON entries (reverses) WHERE reverses IS NOT NULL;
