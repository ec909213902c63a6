-- tidemark:lock-ok orders is written only by the nightly batch; run at 03:00
ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE orders ADD COLUMN placed_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE orders ADD COLUMN region text NOT NULL;
ALTER TABLE customers ADD COLUMN number bigserial PRIMARY KEY;
