DROP TABLE settlement_obligations;
DROP TABLE settlement_positions;
DROP TABLE settlements;
