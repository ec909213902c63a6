ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE orders ADD CONSTRAINT orders_status_known CHECK (status IN ('new', 'paid'));
ALTER TABLE customers ADD CONSTRAINT customers_email_unique UNIQUE (email);
ALTER TABLE orders
    ALTER COLUMN status SET NOT NULL;
-- Safe forms: not findings.
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk2 FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk2;
