-- tidemark:data-loss-ok the quantities go with the column
ALTER TABLE orders DROP COLUMN qty;
