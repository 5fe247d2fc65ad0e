DROP TABLE reward_claims;
DROP TABLE rewards;
