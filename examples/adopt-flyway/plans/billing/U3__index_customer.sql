DROP INDEX invoices_customer;
