-- tidemark:compensates 5
SELECT 4;
