-- Brings the column back, but not its values: only a backup restores those.
ALTER TABLE orders ADD COLUMN total_cents INTEGER NOT NULL DEFAULT 0;
