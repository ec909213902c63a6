-- tidemark:data-loss-ok the first version: undoing it empties the tenant
DROP TABLE accounts;
