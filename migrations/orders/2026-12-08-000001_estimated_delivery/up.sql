-- The guide's `estimatedDeliveryTime`: when the tracking service expects the driver at the
-- door, from its latest delivery.eta_updated. Null until tracking publishes an ETA for the
-- order. `eta_computed_at` orders the estimates: an older one arriving late changes nothing.
ALTER TABLE orders
    ADD COLUMN estimated_delivery_at timestamptz,
    ADD COLUMN eta_computed_at timestamptz;
