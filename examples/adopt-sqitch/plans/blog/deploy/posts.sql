-- Deploy blog:posts to pg
-- requires: users

BEGIN;

CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL
);

COMMIT;
