DROP INDEX entries_by_reverses;
