CREATE TABLE events (id bigint, at timestamptz);
-- builds without locking writes
CREATE INDEX CONCURRENTLY events_at ON events (at);
