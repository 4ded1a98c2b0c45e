//! Diesel's view of the `payments` schema (`migrations/payments`). Unqualified: connections
//! run with `search_path = payments, public`.

diesel::table! {
    payment_customers (user_id) {
        user_id -> Uuid,
        provider -> Text,
        provider_customer_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payment_methods (id) {
        id -> Uuid,
        user_id -> Uuid,
        #[sql_name = "type"]
        method_type -> Text,
        provider -> Text,
        provider_payment_method_id -> Text,
        card_brand -> Nullable<Text>,
        last_four -> Nullable<Bpchar>,
        exp_month -> Nullable<Int2>,
        exp_year -> Nullable<Int2>,
        is_primary -> Bool,
        removed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rewards_accounts (user_id) {
        user_id -> Uuid,
        balance_points -> Int8,
        sequence -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rewards_transactions (id) {
        id -> Uuid,
        user_id -> Uuid,
        sequence -> Int8,
        kind -> Text,
        points -> Int8,
        balance_after -> Int8,
        order_id -> Nullable<Uuid>,
        description -> Text,
        actor_id -> Nullable<Uuid>,
        reference -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sandbox_customers (id) {
        id -> Text,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sandbox_payment_methods (id) {
        id -> Text,
        test_card -> Text,
        customer_id -> Nullable<Text>,
        wallet -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    payment_customers,
    payment_methods,
    rewards_accounts,
    rewards_transactions,
    sandbox_customers,
    sandbox_payment_methods,
    sandbox_payment_intents,
);

diesel::table! {
    payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        customer_id -> Uuid,
        attempt -> Int4,
        total_cents -> Int8,
        points_redeemed -> Int8,
        card_amount_cents -> Int8,
        status -> Text,
        payment_method_id -> Nullable<Uuid>,
        method_type -> Text,
        card_brand -> Nullable<Text>,
        card_last4 -> Nullable<Text>,
        provider -> Nullable<Text>,
        provider_payment_id -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        decline_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        refunded_cents -> Int8,
        points_restored -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refunds (id) {
        id -> Uuid,
        payment_id -> Uuid,
        amount_cents -> Int8,
        points_restored -> Int8,
        reason -> Text,
        note -> Nullable<Text>,
        actor_id -> Nullable<Uuid>,
        provider_refund_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    provider_events (id) {
        id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        payload -> Jsonb,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    sandbox_payment_intents (id) {
        id -> Text,
        idempotency_key -> Text,
        amount_cents -> Int8,
        customer_id -> Nullable<Text>,
        payment_method_id -> Nullable<Text>,
        status -> Text,
        client_secret -> Text,
        decline_code -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sandbox_refunds (id) {
        id -> Text,
        idempotency_key -> Text,
        payment_intent_id -> Text,
        amount_cents -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(refunds -> payments (payment_id));
diesel::allow_tables_to_appear_in_same_query!(payments, refunds, payment_methods);
diesel::allow_tables_to_appear_in_same_query!(orders, payments);

diesel::table! {
    orders (order_id) {
        order_id -> Uuid,
        order_number -> Text,
        customer_id -> Uuid,
        total_cents -> Int8,
        points_to_redeem -> Int8,
        payment_method_id -> Nullable<Uuid>,
        cancelled -> Bool,
        submitted_at -> Timestamptz,
    }
}
