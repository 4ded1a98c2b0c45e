ALTER TABLE orders DROP COLUMN estimated_delivery_at, DROP COLUMN eta_computed_at;
