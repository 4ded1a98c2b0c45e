-- Catalog: categories, products with their stock, images, reviews, purchases learnt from
-- deliveries (review eligibility), stock reservations of the order saga and the inventory
-- history. Money is in cents; quantities are packages.

-- Trigram matching for misspelt searches ("blu dreem" finds "Blue Dream"). A trusted
-- extension, so the service's database user may create it; it lives in public, which is on
-- every service's search_path.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE categories (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    icon VARCHAR(50),
    description TEXT,
    sort_order INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    category_id UUID NOT NULL REFERENCES categories (id),
    -- Stable key for the demo seed and admin imports; optional for products made by hand.
    slug VARCHAR(120) UNIQUE,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_cents BIGINT NOT NULL CHECK (price_cents > 0),
    original_price_cents BIGINT CHECK (original_price_cents > price_cents),
    product_type TEXT NOT NULL CHECK (product_type IN
        ('flower', 'pre_roll', 'vape', 'concentrate', 'edible', 'tincture', 'topical', 'accessory')),
    net_weight_grams NUMERIC(10, 3) CHECK (net_weight_grams > 0),
    thc_mg_per_package NUMERIC(10, 2) CHECK (thc_mg_per_package >= 0),
    thc_value NUMERIC(8, 2) CHECK (thc_value >= 0),
    thc_unit TEXT CHECK (thc_unit IN ('percent', 'mg')),
    cbd_value NUMERIC(8, 2) CHECK (cbd_value >= 0),
    cbd_unit TEXT CHECK (cbd_unit IN ('percent', 'mg')),
    strain_type TEXT CHECK (strain_type IN ('sativa', 'indica', 'hybrid')),
    effects TEXT[] NOT NULL DEFAULT '{}',
    lab_tested BOOLEAN NOT NULL DEFAULT FALSE,
    lab_results_url VARCHAR(500),
    package_label VARCHAR(64),
    -- Stock on hand, and the part of it held by open reservations; what can be ordered is
    -- the difference, which the checks keep from going below zero.
    stock_quantity INTEGER NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    reserved_quantity INTEGER NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0),
    is_featured BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    -- Set when an admin deletes the product: it is gone for clients, kept for history.
    deleted_at TIMESTAMPTZ,
    rating_average NUMERIC(3, 2),
    rating_count INTEGER NOT NULL DEFAULT 0,
    -- +1 on every change, sent with product.upserted so consumers never apply an old one.
    version BIGINT NOT NULL DEFAULT 1,
    -- Full-text document (name A, effects and category B, description C), kept by trigger.
    search_document TSVECTOR NOT NULL DEFAULT ''::tsvector,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (reserved_quantity <= stock_quantity),
    CHECK ((thc_value IS NULL) = (thc_unit IS NULL)),
    CHECK ((cbd_value IS NULL) = (cbd_unit IS NULL))
);

-- A category page, newest first, read in index order; its count from the index alone.
CREATE INDEX products_category_idx ON products (category_id, created_at DESC, id DESC)
    WHERE is_active AND deleted_at IS NULL;
CREATE INDEX products_featured_idx ON products (created_at DESC) WHERE is_featured AND is_active AND deleted_at IS NULL;
CREATE INDEX products_price_idx ON products (price_cents);
CREATE INDEX products_search_idx ON products USING GIN (search_document);
CREATE INDEX products_name_trgm_idx ON products USING GIN (name gin_trgm_ops);
CREATE INDEX products_low_stock_idx ON products ((stock_quantity - reserved_quantity)) WHERE deleted_at IS NULL;

-- Effects are an array; array_to_string is only STABLE, so the trigger builds the document.
CREATE FUNCTION products_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_document :=
        setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(array_to_string(NEW.effects, ' '), '')), 'B') ||
        setweight(to_tsvector('english', coalesce(
            (SELECT name || ' ' || slug FROM categories WHERE id = NEW.category_id), '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.strain_type, '') || ' ' || NEW.product_type), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
    RETURN NEW;
END
$$;

CREATE TRIGGER products_search_document
    BEFORE INSERT OR UPDATE OF name, effects, description, category_id, strain_type, product_type
    ON products FOR EACH ROW EXECUTE FUNCTION products_search_document();

-- A renamed category changes the documents of its products.
CREATE FUNCTION categories_refresh_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products SET category_id = category_id WHERE category_id = NEW.id;
    RETURN NEW;
END
$$;

CREATE TRIGGER categories_refresh_search
    AFTER UPDATE OF name, slug ON categories
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug)
    EXECUTE FUNCTION categories_refresh_search();

CREATE TABLE product_images (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- Key in the object store, and what the stored bytes are.
    object_key VARCHAR(300) NOT NULL,
    content_type VARCHAR(50) NOT NULL,
    byte_size INTEGER NOT NULL,
    alt_text VARCHAR(255),
    sort_order INTEGER NOT NULL DEFAULT 0,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX product_images_product_idx ON product_images (product_id, sort_order);
CREATE UNIQUE INDEX product_images_one_primary ON product_images (product_id) WHERE is_primary;

-- Who received which product (from order.delivered): only they may review it.
CREATE TABLE purchases (
    user_id UUID NOT NULL,
    product_id UUID NOT NULL,
    order_id UUID NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, product_id, order_id)
);

CREATE TABLE reviews (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    user_id UUID NOT NULL,
    author_name VARCHAR(60) NOT NULL,
    rating SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT,
    is_hidden BOOLEAN NOT NULL DEFAULT FALSE,
    hidden_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (product_id, user_id)
);

CREATE INDEX reviews_product_idx ON reviews (product_id, created_at DESC);

-- The stock step of the saga, one row per order line. `reserved` holds stock; `released`
-- (order cancelled) gave it back; `committed` (delivered) took it out of stock on hand.
CREATE TABLE stock_reservations (
    order_id UUID NOT NULL,
    product_id UUID NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    status TEXT NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'released', 'committed')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, product_id)
);

CREATE INDEX stock_reservations_open_idx ON stock_reservations (product_id) WHERE status = 'reserved';

-- What catalog answered for each order, so a second order.submitted for the same order
-- (a new event id) is not reserved twice.
CREATE TABLE stock_decisions (
    order_id UUID PRIMARY KEY,
    outcome TEXT NOT NULL CHECK (outcome IN ('reserved', 'rejected')),
    decided_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every change of stock on hand, with why and who.
CREATE TABLE inventory_history (
    id BIGSERIAL PRIMARY KEY,
    product_id UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('set', 'adjust', 'sold', 'created')),
    change INTEGER NOT NULL,
    quantity_after INTEGER NOT NULL,
    reason TEXT NOT NULL,
    actor_id UUID,
    order_id UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX inventory_history_product_idx ON inventory_history (product_id, id DESC);
