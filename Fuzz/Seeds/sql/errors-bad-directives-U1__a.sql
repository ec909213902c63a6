-- tidemark:irreversible
SELECT 1;
