DROP INDEX coupons_by_redeemer;
