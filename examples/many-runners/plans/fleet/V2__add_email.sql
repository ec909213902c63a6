ALTER TABLE accounts ADD COLUMN email text;
SELECT pg_sleep(0.2);
