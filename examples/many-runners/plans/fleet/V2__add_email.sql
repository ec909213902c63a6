ALTER TABLE accounts ADD COLUMN email text;
SELECT pg_sleep(1); -- long enough that a runner killed during it is always killed mid-target
