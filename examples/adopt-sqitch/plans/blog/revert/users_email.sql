-- Revert blog:users_email from pg

BEGIN;

ALTER TABLE users DROP COLUMN email;

COMMIT;
