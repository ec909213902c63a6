CREATE TABLE invoices (id integer PRIMARY KEY, customer text NOT NULL, amount_cents integer NOT NULL);
