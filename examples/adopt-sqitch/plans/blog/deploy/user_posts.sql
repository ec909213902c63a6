-- Deploy blog:user_posts to pg
-- requires: users_email

BEGIN;

DROP VIEW user_posts;
CREATE VIEW user_posts AS
    SELECT users.name, users.email, posts.body
    FROM posts JOIN users ON users.id = posts.user_id;

COMMIT;
