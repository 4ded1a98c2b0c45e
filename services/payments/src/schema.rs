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
);
