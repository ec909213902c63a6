-- tidemark:no-transaction
DROP INDEX orders_code_key;
DROP TABLE order_notes;
ALTER TABLE orders DROP COLUMN positive;
