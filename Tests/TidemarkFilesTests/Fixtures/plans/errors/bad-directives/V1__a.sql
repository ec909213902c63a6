-- tidemark:no-transaction now
-- tidemark:data-loss-ok
-- tidemark:no-transaction
-- tidemark:lock-ok
SELECT 1;
