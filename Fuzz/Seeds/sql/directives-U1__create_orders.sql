-- tidemark:data-loss-ok orders are re-imported from the ledger
DROP TABLE orders;
