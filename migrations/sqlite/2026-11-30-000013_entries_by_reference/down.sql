DROP INDEX entries_by_reference;
