DROP TABLE customers;
DROP TABLE orders;
