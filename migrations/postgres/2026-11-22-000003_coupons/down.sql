DROP TABLE coupons;
DROP TABLE campaigns;
