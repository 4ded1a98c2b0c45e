-- create-intent without an order id pays the customer's newest order still waiting for
-- payment: found by customer, newest first, among the orders not cancelled.
CREATE INDEX orders_customer_idx ON orders (customer_id, submitted_at DESC) WHERE NOT cancelled;
