DROP TABLE campaign_audiences;
DROP INDEX member_links_by_partner;
DROP TABLE segment_members;
DROP TABLE segments;
DROP TABLE interaction_awards;
DROP TABLE member_interaction_days;
DROP TABLE interactions;
