-- Adds a value to the enum.

-- tidemark:no-transaction
ALTER TYPE order_status ADD VALUE 'refunded';
