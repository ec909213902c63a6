-- Verify blog:users_email on pg

BEGIN;

SELECT email FROM users WHERE FALSE;

ROLLBACK;
