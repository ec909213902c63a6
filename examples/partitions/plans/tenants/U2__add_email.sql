-- tidemark:data-loss-ok the addresses go with the column
ALTER TABLE accounts DROP COLUMN email;
