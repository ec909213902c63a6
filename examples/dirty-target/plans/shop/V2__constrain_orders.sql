-- tidemark:no-transaction
ALTER TABLE orders ADD COLUMN positive integer NOT NULL DEFAULT 1 CHECK (qty > 0);
CREATE TABLE order_notes (id integer PRIMARY KEY, order_id integer NOT NULL, note text);
CREATE UNIQUE INDEX orders_code_key ON orders (code);
