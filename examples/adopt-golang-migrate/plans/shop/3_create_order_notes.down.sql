-- tidemark:data-loss-ok the notes go with the table
DROP TABLE order_notes;
