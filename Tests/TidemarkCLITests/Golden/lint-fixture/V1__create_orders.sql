-- New tables are empty: nothing here is a finding.
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, total_cents int);
CREATE INDEX orders_status ON orders (status);
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0);
CREATE TABLE customers (id bigint PRIMARY KEY, email text);
