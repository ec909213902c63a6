-- Adds a column.
  -- tidemark:no-transactoin
SELECT 1;
