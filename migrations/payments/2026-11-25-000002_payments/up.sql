-- Payments of orders (the saga's charge step), their refunds, every provider webhook event
-- once, and the sandbox provider's PaymentIntents and refunds.

CREATE TABLE payments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    -- Orders' attempt number from order.payment_requested; one payment per attempt.
    attempt INTEGER NOT NULL DEFAULT 1,
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    points_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (points_redeemed >= 0),
    card_amount_cents BIGINT NOT NULL DEFAULT 0 CHECK (card_amount_cents >= 0),
    status TEXT NOT NULL CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed', 'refunded')),
    payment_method_id UUID,
    method_type TEXT NOT NULL CHECK (method_type IN ('card', 'apple_pay', 'google_pay', 'fs_coin')),
    card_brand TEXT,
    card_last4 TEXT,
    provider TEXT,
    provider_payment_id TEXT,
    client_secret TEXT,
    decline_code TEXT,
    failure_message TEXT,
    refunded_cents BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= card_amount_cents),
    points_restored BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (order_id, attempt)
);

CREATE INDEX payments_customer_idx ON payments (customer_id, created_at DESC);
CREATE INDEX payments_status_idx ON payments (status, created_at DESC);
CREATE UNIQUE INDEX payments_provider_id ON payments (provider, provider_payment_id)
    WHERE provider_payment_id IS NOT NULL;

CREATE TABLE refunds (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_id UUID NOT NULL REFERENCES payments (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    points_restored BIGINT NOT NULL DEFAULT 0,
    reason TEXT NOT NULL CHECK (reason IN ('order_cancelled', 'admin')),
    note TEXT,
    actor_id UUID,
    provider_refund_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Every provider event, once by its id: a replay finds the row and changes nothing.
CREATE TABLE provider_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    payload JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The sandbox provider's PaymentIntents and refunds.
CREATE TABLE sandbox_payment_intents (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    amount_cents BIGINT NOT NULL,
    customer_id TEXT,
    payment_method_id TEXT,
    status TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    decline_code TEXT,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_refunds (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_intent_id TEXT NOT NULL REFERENCES sandbox_payment_intents (id),
    amount_cents BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Orders as payments needs them (from order.submitted and order.cancelled), so
-- create-intent can tie a PaymentIntent to the caller's own pending order and its amount.
CREATE TABLE orders (
    order_id UUID PRIMARY KEY,
    order_number TEXT NOT NULL,
    customer_id UUID NOT NULL,
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    points_to_redeem BIGINT NOT NULL DEFAULT 0,
    payment_method_id UUID,
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    submitted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
