//! Diesel's view of the `orders` schema (`migrations/orders`). Unqualified: connections run
//! with `search_path = orders, public`.

diesel::table! {
    products (id) {
        id -> Uuid,
        version -> Int8,
        name -> Text,
        category_id -> Nullable<Uuid>,
        category_slug -> Text,
        category_name -> Text,
        product_type -> Text,
        price_cents -> Int8,
        original_price_cents -> Int8,
        net_weight_mg -> Int8,
        thc_mg -> Int8,
        active -> Bool,
        available_quantity -> Int8,
        primary_image_url -> Text,
        package_label -> Text,
        deleted -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        version -> Int8,
        email -> Text,
        full_name -> Text,
        phone -> Text,
        date_of_birth -> Nullable<Date>,
        role -> Text,
        id_verification -> Text,
        account_status -> Text,
        registered_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    delivery_addresses (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        address_line1 -> Text,
        address_line2 -> Nullable<Text>,
        city -> Text,
        state -> Text,
        zip_code -> Text,
        address_type -> Text,
        delivery_instructions -> Nullable<Text>,
        is_primary -> Bool,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        geocode_precision -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        order_number -> Text,
        customer_id -> Uuid,
        status -> Text,
        stock_status -> Text,
        payment_status -> Text,
        status_reason -> Nullable<Text>,
        status_detail -> Nullable<Text>,
        payment_method_id -> Nullable<Uuid>,
        points_to_redeem -> Int8,
        payment_attempt -> Int4,
        subtotal_cents -> Int8,
        tax_cents -> Int8,
        delivery_fee_cents -> Int8,
        total_cents -> Int8,
        taxes -> Jsonb,
        jurisdiction -> Text,
        service_area -> Text,
        distance_miles -> Float8,
        local_date -> Date,
        special_instructions -> Nullable<Text>,
        driver_id -> Nullable<Uuid>,
        id_check -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        confirmed_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        estimated_delivery_at -> Nullable<Timestamptz>,
        eta_computed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_destinations (order_id) {
        order_id -> Uuid,
        address_id -> Uuid,
        address_name -> Text,
        address_line1 -> Text,
        address_line2 -> Nullable<Text>,
        city -> Text,
        state -> Text,
        zip_code -> Text,
        latitude -> Float8,
        longitude -> Float8,
        delivery_instructions -> Nullable<Text>,
    }
}

diesel::table! {
    order_items (id) {
        id -> Uuid,
        order_id -> Uuid,
        product_id -> Uuid,
        product_name -> Text,
        product_type -> Text,
        quantity -> Int4,
        unit_price_cents -> Int8,
        line_total_cents -> Int8,
        net_weight_mg -> Int8,
        thc_mg -> Int8,
        package_label -> Text,
    }
}

diesel::table! {
    order_status_history (id) {
        id -> Int8,
        order_id -> Uuid,
        status -> Text,
        stock_status -> Text,
        payment_status -> Text,
        reason -> Nullable<Text>,
        note -> Nullable<Text>,
        actor_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (customer_id, key) {
        customer_id -> Uuid,
        key -> Text,
        request_hash -> Text,
        order_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    track_and_trace_reports (order_id) {
        order_id -> Uuid,
        jurisdiction -> Text,
        adapter -> Text,
        status -> Text,
        receipt -> Jsonb,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        external_id -> Nullable<Text>,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    analytics_events (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        event -> Text,
        properties -> Jsonb,
        session_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_destinations -> orders (order_id));
diesel::joinable!(order_status_history -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    products,
    users,
    delivery_addresses,
    orders,
    order_destinations,
    order_items,
    order_status_history,
    idempotency_keys,
    track_and_trace_reports,
    analytics_events,
);
