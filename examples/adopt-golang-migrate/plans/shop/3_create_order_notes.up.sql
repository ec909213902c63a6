CREATE TABLE order_notes (id integer PRIMARY KEY, order_id integer NOT NULL REFERENCES orders (id), note text NOT NULL);
