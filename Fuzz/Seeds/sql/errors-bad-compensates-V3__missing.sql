-- tidemark:compensates 9
SELECT 3;
