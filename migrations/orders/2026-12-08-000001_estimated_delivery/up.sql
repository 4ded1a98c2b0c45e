-- The guide's `estimatedDeliveryTime`: when the tracking service expects the driver at the
-- door. Null until tracking publishes an ETA for the order (delivery.eta_updated).
ALTER TABLE orders ADD COLUMN estimated_delivery_at timestamptz;
