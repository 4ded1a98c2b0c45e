#!/usr/bin/env bash
# Catalog read paths over 10,000 products: a category page with the Redis cache on and off,
# and searches (never cached). Release build; wrk at 64 connections.
#
#   scripts/bench-catalog.sh            (make bench runs it; installs wrk if missing)
#   BENCH_SECONDS=30 scripts/bench-catalog.sh
#
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
CONNECTIONS=64
PORT=18082
DB_NAME=faded_skies_bench_catalog
PRODUCTS=10000
work=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
need_tools wrk:wrk
release_build -p catalog
bench_database "$DB_NAME"

export APP_ENV=development LOG_FORMAT=json RUST_LOG=warn HOST=127.0.0.1 PORT
export EVENTS_EXCHANGE=faded_skies.bench OBJECT_STORE_URL="file://$work/objects"
export CATALOG_CACHE_PREFIX="bench:$$:" CATALOG_SEED_DEMO=true

start() {
    CATALOG_CACHE_ENABLED=$1 "$target_dir/release/catalog" >"$work/catalog.log" 2>&1 &
    pid=$!
    bash scripts/wait-for-http.sh "http://127.0.0.1:$PORT/health/live" 60
}
stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}

# The demo catalog (8 categories) comes with the first start; then generated flower products
# up to 10,000 in all, so the category page filters and sorts nearly the whole table.
start true
psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -v ON_ERROR_STOP=1 -q <<SQL
SET search_path TO catalog, public;
INSERT INTO products (category_id, slug, name, description, price_cents, product_type,
    net_weight_grams, thc_value, thc_unit, strain_type, effects, lab_tested, stock_quantity,
    is_featured)
SELECT c.id, 'bench-' || n,
       (ARRAY['Blue','Purple','Golden','Sour','Northern','Lemon','Cherry','Ghost'])[1 + n % 8] || ' ' ||
       (ARRAY['Dream','Kush','Haze','Diesel','Lights','Cake','Punch','Glue'])[1 + (n / 8) % 8] || ' #' || n,
       'Bench product ' || n || ' with a sweet, earthy aroma and a calm finish.',
       1500 + (n * 37) % 6000, 'flower', 3.5, 15 + (n % 150) / 10.0, 'percent',
       (ARRAY['sativa','indica','hybrid'])[1 + n % 3], ARRAY['relaxed','happy'], true,
       n % 50, n % 97 = 0
FROM generate_series(1, $PRODUCTS - (SELECT count(*) FROM products)) AS n
JOIN LATERAL (SELECT id FROM categories WHERE slug = 'flower') c ON true;
ANALYZE products;
SQL
total=$(psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -qtAc "SELECT count(*) FROM catalog.products")
flower=$(psql -h 127.0.0.1 -U postgres -d "$DB_NAME" -qtAc "SELECT count(*) FROM catalog.products p JOIN catalog.categories c ON c.id = p.category_id WHERE c.slug = 'flower'")
echo "products: $total (flower: $flower)" >&2

# shellcheck source=scripts/lib/wrk.sh
source scripts/lib/wrk.sh

base="http://127.0.0.1:$PORT/api/products"
echo "| request | cache | req/s | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---|---|---|---|"
echo "| GET /api/products?category=flower&limit=20 | on | $(wrk_row "$base?category=flower&limit=20") |"
echo "| GET /api/products?search=blue%20dream&limit=20 | (never cached) | $(wrk_row "$base?search=blue%20dream&limit=20") |"
echo "| GET /api/products?search=blu%20dreem&limit=20 | (never cached) | $(wrk_row "$base?search=blu%20dreem&limit=20") |"
stop
start false
echo "| GET /api/products?category=flower&limit=20 | off | $(wrk_row "$base?category=flower&limit=20") |"
