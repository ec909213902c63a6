CREATE TABLE orders (
  id integer PRIMARY KEY,
  code text NOT NULL,
  qty integer NOT NULL
);
