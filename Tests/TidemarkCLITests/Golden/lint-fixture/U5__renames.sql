ALTER TABLE clients RENAME TO customers;
ALTER TABLE orders RENAME state TO status;
