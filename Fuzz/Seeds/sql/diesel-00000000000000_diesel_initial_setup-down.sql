DROP FUNCTION diesel_noop();
