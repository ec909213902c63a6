-- Verify blog:user_posts on pg

BEGIN;

SELECT name, body FROM user_posts WHERE FALSE;

ROLLBACK;
