-- tidemark:data-loss-ok the first version: undoing it empties the shop
DROP TABLE orders;
