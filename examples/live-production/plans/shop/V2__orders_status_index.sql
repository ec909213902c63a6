CREATE INDEX orders_status ON orders (status);
ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;
