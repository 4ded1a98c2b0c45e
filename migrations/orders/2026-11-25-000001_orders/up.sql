-- Orders' schema: read models fed by catalog and auth events, delivery addresses, orders with
-- their item snapshots and status history, idempotency keys, track-and-trace reports and
-- analytics events. The cart lives in Redis (`cart:{userId}`).

-- Products as catalog announces them (`product.upserted`); checkout prices and limits from here.
CREATE TABLE products (
    id uuid PRIMARY KEY,
    version bigint NOT NULL,
    name text NOT NULL,
    category_id uuid,
    category_slug text NOT NULL DEFAULT '',
    category_name text NOT NULL DEFAULT '',
    product_type text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    original_price_cents bigint NOT NULL DEFAULT 0,
    net_weight_mg bigint NOT NULL DEFAULT 0,
    thc_mg bigint NOT NULL DEFAULT 0,
    active boolean NOT NULL,
    available_quantity bigint NOT NULL,
    primary_image_url text NOT NULL DEFAULT '',
    -- Metrc package label, reported with every sale.
    package_label text NOT NULL DEFAULT '',
    -- `product.deleted`: kept (with its version) so a late upsert cannot bring it back.
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL
);
CREATE INDEX products_low_stock ON products (available_quantity) WHERE active AND NOT deleted;

-- Users as auth announces them (every role: customers order, drivers are assigned).
CREATE TABLE users (
    id uuid PRIMARY KEY,
    version bigint NOT NULL,
    email text NOT NULL DEFAULT '',
    full_name text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    -- The driver's door check compares the ID's birth date with this one.
    date_of_birth date,
    role text NOT NULL,
    id_verification text NOT NULL,
    account_status text NOT NULL,
    registered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_registered_at ON users (registered_at);

CREATE TABLE delivery_addresses (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    name text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text,
    city text NOT NULL,
    state text NOT NULL CHECK (char_length(state) = 2),
    zip_code text NOT NULL,
    address_type text NOT NULL CHECK (address_type IN ('home', 'work', 'other')),
    delivery_instructions text,
    is_primary boolean NOT NULL DEFAULT false,
    latitude double precision,
    longitude double precision,
    geocode_precision text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_addresses_user ON delivery_addresses (user_id, created_at);
CREATE UNIQUE INDEX delivery_addresses_one_primary ON delivery_addresses (user_id) WHERE is_primary;

-- Human-friendly order numbers: FS-<date>-<sequence>, unique without a per-day counter row
-- every checkout would queue on.
CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    order_number text NOT NULL UNIQUE,
    customer_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'preparing', 'out_for_delivery', 'delivered', 'cancelled', 'payment_failed')),
    stock_status text NOT NULL CHECK (stock_status IN ('pending', 'reserved', 'rejected')),
    payment_status text NOT NULL CHECK (payment_status IN ('pending', 'succeeded', 'failed', 'refunded', 'action_required')),
    -- snake_case reason: cancellation reason for `cancelled`, failure reason for `payment_failed`.
    status_reason text,
    status_detail text,
    payment_method_id uuid,
    points_to_redeem bigint NOT NULL DEFAULT 0 CHECK (points_to_redeem >= 0),
    payment_attempt integer NOT NULL DEFAULT 0,
    subtotal_cents bigint NOT NULL,
    tax_cents bigint NOT NULL,
    delivery_fee_cents bigint NOT NULL,
    total_cents bigint NOT NULL,
    -- The tax components as computed at checkout (id, name, percent, base, amount).
    taxes jsonb NOT NULL DEFAULT '[]',
    jurisdiction text NOT NULL,
    service_area text NOT NULL,
    distance_miles double precision NOT NULL,
    -- The jurisdiction's local date of the order: daily purchase limits sum over it.
    local_date date NOT NULL,
    special_instructions text,
    driver_id uuid,
    -- What the driver read from the ID at the door (document type, birth date, result).
    id_check jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    delivered_at timestamptz,
    cancelled_at timestamptz
);
CREATE INDEX orders_customer ON orders (customer_id, created_at DESC);
CREATE INDEX orders_customer_day ON orders (customer_id, local_date) WHERE status <> 'cancelled';
CREATE INDEX orders_status ON orders (status, created_at);
CREATE INDEX orders_driver ON orders (driver_id, created_at DESC) WHERE driver_id IS NOT NULL;
CREATE INDEX orders_created ON orders (created_at);

-- Where the order goes: the saved address copied at checkout (later edits do not change it),
-- with the coordinates the area check used.
CREATE TABLE order_destinations (
    order_id uuid PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    address_id uuid NOT NULL,
    address_name text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text,
    city text NOT NULL,
    state text NOT NULL,
    zip_code text NOT NULL,
    latitude double precision NOT NULL,
    longitude double precision NOT NULL,
    delivery_instructions text
);

CREATE TABLE order_items (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id uuid NOT NULL,
    product_name text NOT NULL,
    product_type text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL,
    line_total_cents bigint NOT NULL,
    net_weight_mg bigint NOT NULL,
    thc_mg bigint NOT NULL,
    package_label text NOT NULL DEFAULT ''
);
CREATE INDEX order_items_order ON order_items (order_id);
CREATE INDEX order_items_product ON order_items (product_id);

CREATE TABLE order_status_history (
    id bigserial PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status text NOT NULL,
    stock_status text NOT NULL,
    payment_status text NOT NULL,
    reason text,
    note text,
    actor_id uuid,
    actor_role text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order ON order_status_history (order_id, id);

-- `Idempotency-Key` of checkouts: the same key and body answer the same order.
CREATE TABLE idempotency_keys (
    customer_id uuid NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, key)
);

-- Every delivered sale, reported to track-and-trace (Metrc) until accepted.
CREATE TABLE track_and_trace_reports (
    order_id uuid PRIMARY KEY REFERENCES orders (id),
    jurisdiction text NOT NULL,
    adapter text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'accepted')),
    receipt jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    external_id text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz
);
CREATE INDEX track_and_trace_due ON track_and_trace_reports (next_attempt_at) WHERE status = 'pending';

CREATE TABLE analytics_events (
    id uuid PRIMARY KEY,
    user_id uuid,
    event text NOT NULL,
    properties jsonb NOT NULL DEFAULT '{}',
    session_id text,
    ip text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_events_time ON analytics_events (created_at, event);
CREATE INDEX analytics_events_user ON analytics_events (user_id, created_at) WHERE user_id IS NOT NULL;
