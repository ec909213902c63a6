-- Deploy blog:users_email to pg
-- requires: users

BEGIN;

ALTER TABLE users ADD COLUMN email TEXT;

COMMIT;
