-- Drops the orders.
-- tidemark:irreversible data is gone
DROP TABLE orders;
