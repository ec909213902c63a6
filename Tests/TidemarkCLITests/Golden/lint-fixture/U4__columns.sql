ALTER TABLE customers DROP COLUMN number;
ALTER TABLE orders DROP COLUMN region, DROP COLUMN placed_at, DROP COLUMN token;
ALTER TABLE orders ALTER COLUMN total_cents TYPE int;
