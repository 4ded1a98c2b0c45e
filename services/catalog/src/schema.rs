//! Diesel's view of the `catalog` schema (`migrations/catalog`). Unqualified: connections run
//! with `search_path = catalog, public`.

diesel::table! {
    categories (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        icon -> Nullable<Text>,
        description -> Nullable<Text>,
        sort_order -> Int4,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        category_id -> Uuid,
        slug -> Nullable<Text>,
        name -> Text,
        description -> Text,
        price_cents -> Int8,
        original_price_cents -> Nullable<Int8>,
        product_type -> Text,
        net_weight_grams -> Nullable<Numeric>,
        thc_mg_per_package -> Nullable<Numeric>,
        thc_value -> Nullable<Numeric>,
        thc_unit -> Nullable<Text>,
        cbd_value -> Nullable<Numeric>,
        cbd_unit -> Nullable<Text>,
        strain_type -> Nullable<Text>,
        effects -> Array<Text>,
        lab_tested -> Bool,
        lab_results_url -> Nullable<Text>,
        package_label -> Nullable<Text>,
        stock_quantity -> Int4,
        reserved_quantity -> Int4,
        is_featured -> Bool,
        is_active -> Bool,
        deleted_at -> Nullable<Timestamptz>,
        rating_average -> Nullable<Numeric>,
        rating_count -> Int4,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    product_images (id) {
        id -> Uuid,
        product_id -> Uuid,
        object_key -> Text,
        content_type -> Text,
        byte_size -> Int4,
        alt_text -> Nullable<Text>,
        sort_order -> Int4,
        is_primary -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    purchases (user_id, product_id, order_id) {
        user_id -> Uuid,
        product_id -> Uuid,
        order_id -> Uuid,
        delivered_at -> Timestamptz,
    }
}

diesel::table! {
    reviews (id) {
        id -> Uuid,
        product_id -> Uuid,
        user_id -> Uuid,
        author_name -> Text,
        rating -> Int2,
        comment -> Nullable<Text>,
        is_hidden -> Bool,
        hidden_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    stock_reservations (order_id, product_id) {
        order_id -> Uuid,
        product_id -> Uuid,
        quantity -> Int4,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    stock_decisions (order_id) {
        order_id -> Uuid,
        outcome -> Text,
        decided_at -> Timestamptz,
    }
}

diesel::table! {
    inventory_history (id) {
        id -> Int8,
        product_id -> Uuid,
        kind -> Text,
        change -> Int4,
        quantity_after -> Int4,
        reason -> Text,
        actor_id -> Nullable<Uuid>,
        order_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(products -> categories (category_id));
diesel::joinable!(product_images -> products (product_id));
diesel::joinable!(reviews -> products (product_id));
diesel::allow_tables_to_appear_in_same_query!(
    categories,
    products,
    product_images,
    purchases,
    reviews,
    stock_reservations,
    stock_decisions,
    inventory_history,
);
