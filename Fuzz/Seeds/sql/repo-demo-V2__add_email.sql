ALTER TABLE accounts ADD COLUMN email TEXT;
CREATE INDEX accounts_email ON accounts (email);
