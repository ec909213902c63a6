CREATE TABLE orders (
  id bigint PRIMARY KEY,
  status text NOT NULL,
  total_cents integer NOT NULL
);
