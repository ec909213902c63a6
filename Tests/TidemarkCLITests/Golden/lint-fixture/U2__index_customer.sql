-- tidemark:no-transaction
DROP INDEX CONCURRENTLY orders_customer;
CREATE INDEX CONCURRENTLY orders_status ON orders (status);
