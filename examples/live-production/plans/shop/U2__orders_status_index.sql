DROP INDEX orders_status;
ALTER TABLE orders ALTER COLUMN total_cents TYPE integer;
