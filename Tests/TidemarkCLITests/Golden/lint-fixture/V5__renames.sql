ALTER TABLE orders RENAME COLUMN status TO state;
ALTER TABLE customers RENAME TO clients;
VACUUM FULL orders;
REFRESH MATERIALIZED VIEW order_totals;
