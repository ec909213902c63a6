-- Roll forward of version 3.
-- tidemark:compensates 3
ALTER TABLE orders ADD COLUMN status text;
-- tidemark:no-transaction   (not a directive: below the first statement)
