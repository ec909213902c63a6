CREATE INDEX orders_customer ON orders (customer_id);
DROP INDEX orders_status;
REINDEX TABLE customers;
