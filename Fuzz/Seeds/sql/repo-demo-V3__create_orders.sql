CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    total_cents INTEGER NOT NULL,
    note TEXT
);
CREATE INDEX orders_account ON orders (account_id);
