-- tidemark:data-loss-ok the first version: undoing it empties billing
DROP TABLE invoices;
