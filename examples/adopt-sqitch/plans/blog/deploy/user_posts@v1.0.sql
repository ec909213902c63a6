-- Deploy blog:user_posts to pg
-- requires: users
-- requires: posts

BEGIN;

CREATE VIEW user_posts AS
    SELECT users.name, posts.body
    FROM posts JOIN users ON users.id = posts.user_id;

COMMIT;
