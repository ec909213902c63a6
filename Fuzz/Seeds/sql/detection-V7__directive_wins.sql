-- tidemark:no-transaction
BEGIN;
SELECT 1;
COMMIT;
