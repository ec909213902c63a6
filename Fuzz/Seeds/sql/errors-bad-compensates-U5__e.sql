-- tidemark:compensates 1
SELECT 5;
