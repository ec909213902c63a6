DROP INDEX accounts_email;
ALTER TABLE accounts DROP COLUMN email;
