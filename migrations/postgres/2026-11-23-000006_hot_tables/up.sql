-- The SQLite twin of this migration rebuilds the hot tables in the layout SQLite writes
-- fastest (row id as the chain position, WITHOUT ROWID tables). PostgreSQL's tables already have
-- their primary key as the only key index: nothing to change.
SELECT 1;
