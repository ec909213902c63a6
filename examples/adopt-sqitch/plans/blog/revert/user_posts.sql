-- Revert blog:user_posts from pg: back to the view as of @v1.0

BEGIN;

DROP VIEW user_posts;
CREATE VIEW user_posts AS
    SELECT users.name, posts.body
    FROM posts JOIN users ON users.id = posts.user_id;

COMMIT;
