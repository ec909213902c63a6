-- Verify blog:users on pg

BEGIN;

SELECT id, name FROM users WHERE FALSE;

ROLLBACK;
