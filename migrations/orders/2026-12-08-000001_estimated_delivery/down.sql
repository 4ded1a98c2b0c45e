ALTER TABLE orders DROP COLUMN estimated_delivery_at;
