DROP INDEX campaigns_by_sponsor;
DROP TABLE insights;
