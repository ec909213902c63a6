-- Order totals are now computed by the billing service, so the column goes.
-- (It is still read by the invoicing job: this is the migration that will be quarantined.)
ALTER TABLE orders DROP COLUMN total_cents;
