--   tidemark:data-loss-ok status is unused since 2023
ALTER TABLE orders DROP COLUMN status;
