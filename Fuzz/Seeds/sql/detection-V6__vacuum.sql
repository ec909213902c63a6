DELETE FROM events WHERE at < now() - interval '1 year';
VACUUM (ANALYZE) events;
