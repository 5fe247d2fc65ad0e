DROP TABLE issuer_days;
DROP TABLE member_activity;
DROP TABLE lot_moves;
DROP TABLE lots;
