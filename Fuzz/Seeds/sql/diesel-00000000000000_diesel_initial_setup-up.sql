CREATE FUNCTION diesel_noop() RETURNS void AS $$ BEGIN END; $$ LANGUAGE plpgsql;
