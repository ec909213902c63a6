CREATE TABLE users (id integer);
