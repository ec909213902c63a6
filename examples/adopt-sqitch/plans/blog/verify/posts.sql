-- Verify blog:posts on pg

BEGIN;

SELECT id, user_id, body FROM posts WHERE FALSE;

ROLLBACK;
