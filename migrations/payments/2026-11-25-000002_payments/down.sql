DROP TABLE orders;
DROP TABLE sandbox_refunds;
DROP TABLE sandbox_payment_intents;
DROP TABLE provider_events;
DROP TABLE refunds;
DROP TABLE payments;
