-- Payments, first part: customers and payment methods at the provider, the FS Coin ledger,
-- and the sandbox provider's own state. Money is in cents; points are whole numbers
-- (100 points = $1.00).

-- The provider's customer for each user, created on first use.
CREATE TABLE payment_customers (
    user_id UUID PRIMARY KEY,
    provider TEXT NOT NULL,
    provider_customer_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_customer_id)
);

-- A user's saved methods: what the provider told us about them, never a card number.
CREATE TABLE payment_methods (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('card', 'apple_pay', 'google_pay')),
    provider TEXT NOT NULL,
    provider_payment_method_id TEXT NOT NULL,
    card_brand TEXT,
    last_four CHAR(4) CHECK (last_four ~ '^[0-9]{4}$'),
    exp_month SMALLINT CHECK (exp_month BETWEEN 1 AND 12),
    exp_year SMALLINT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    -- Set when the user removed it (detached at the provider); kept for past payments.
    removed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX payment_methods_user_idx ON payment_methods (user_id) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX payment_methods_one_primary ON payment_methods (user_id)
    WHERE is_primary AND removed_at IS NULL;
CREATE UNIQUE INDEX payment_methods_attached_once ON payment_methods (user_id, provider, provider_payment_method_id)
    WHERE removed_at IS NULL;

-- FS Coin: one balance per user that never goes below zero (the check holds under any
-- concurrency), and the ledger explaining it.
CREATE TABLE rewards_accounts (
    user_id UUID PRIMARY KEY,
    balance_points BIGINT NOT NULL DEFAULT 0 CHECK (balance_points >= 0),
    -- +1 per ledger entry; sent with rewards.changed so consumers apply them in order.
    sequence BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE rewards_transactions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES rewards_accounts (user_id),
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('earned', 'redeemed', 'restored', 'reversed', 'expired', 'adjusted')),
    points BIGINT NOT NULL CHECK (points <> 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    order_id UUID,
    description TEXT NOT NULL,
    actor_id UUID,
    -- What the entry is for, e.g. `order:<id>:1:redeemed`: one entry per reference, so a
    -- redelivered event changes nothing (admin adjustments have none).
    reference TEXT UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, sequence)
);

CREATE INDEX rewards_transactions_user_idx ON rewards_transactions (user_id, sequence DESC);

-- The sandbox provider's state (PAYMENT_PROVIDER=sandbox): what Stripe would keep.
CREATE TABLE sandbox_customers (
    id TEXT PRIMARY KEY,
    metadata JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_payment_methods (
    id TEXT PRIMARY KEY,
    -- The test card it stands for (pm_card_visa, pm_card_chargeDeclined, ...).
    test_card TEXT NOT NULL,
    customer_id TEXT REFERENCES sandbox_customers (id),
    wallet TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
