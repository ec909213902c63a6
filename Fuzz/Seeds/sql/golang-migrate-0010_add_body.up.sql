ALTER TABLE posts ADD COLUMN body text;
