-- tidemark:data-loss-ok the example's first version: undoing it empties the shop
DROP TABLE orders;
