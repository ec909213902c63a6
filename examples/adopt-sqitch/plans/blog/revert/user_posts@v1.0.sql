-- Revert blog:user_posts from pg

BEGIN;

DROP VIEW user_posts;

COMMIT;
