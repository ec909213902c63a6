-- tidemark:compensates 2
SELECT 2;
