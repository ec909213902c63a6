-- tidemark:no-transaction now
-- tidemark:data-loss-ok
-- tidemark:no-transaction
SELECT 1;
