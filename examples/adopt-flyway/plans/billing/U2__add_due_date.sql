-- tidemark:data-loss-ok the due dates go with the column
ALTER TABLE invoices DROP COLUMN due_on;
