-- due dates are ISO 8601 text: SQLite has no date type
ALTER TABLE invoices ADD COLUMN due_on text;
