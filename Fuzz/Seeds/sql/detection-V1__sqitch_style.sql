-- Deploy app:users to pg

BEGIN;

CREATE TABLE users (id integer PRIMARY KEY);

COMMIT;
