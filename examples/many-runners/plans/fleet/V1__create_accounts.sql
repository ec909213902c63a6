CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);
SELECT pg_sleep(0.2); -- a step that takes a while, so the runners overlap
