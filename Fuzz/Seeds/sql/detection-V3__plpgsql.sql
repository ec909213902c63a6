CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION count_users() RETURNS bigint AS $body$
DECLARE n bigint;
BEGIN
    SELECT count(*) INTO n FROM users;
    COMMIT;
    RETURN n;
END
$body$ LANGUAGE plpgsql;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN
        CREATE ROLE app;
    END IF;
END
$$;

CREATE FUNCTION add(a integer, b integer) RETURNS integer
    LANGUAGE SQL
    BEGIN ATOMIC
        SELECT a + b;
    END;

-- BEGIN; in a comment, and in a string:
INSERT INTO notes (body) VALUES ('BEGIN; COMMIT;');
