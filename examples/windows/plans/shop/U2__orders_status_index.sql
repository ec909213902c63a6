DROP INDEX orders_status;
