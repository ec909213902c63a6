-- Deploy blog:users to pg

BEGIN;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

COMMIT;
