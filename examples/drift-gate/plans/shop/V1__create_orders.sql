CREATE TABLE orders (id integer PRIMARY KEY, code text NOT NULL);
