-- tidemark:compensates one
SELECT 6;
