//! Diesel's view of the `auth` schema (`migrations/auth`). Unqualified: connections run with
//! `search_path = auth`.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        full_name -> Text,
        phone -> Text,
        date_of_birth -> Date,
        role -> Text,
        id_status -> Text,
        status -> Text,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        token_version -> Int8,
        last_login_at -> Nullable<Timestamptz>,
        rewards_balance -> Int8,
        rewards_sequence -> Int8,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    id_verifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        document_type -> Text,
        object_key -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        status -> Text,
        reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        reviewer_id -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        public_x -> Text,
        private_pem -> Nullable<Text>,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        event_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        service -> Text,
        actor_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        action -> Text,
        subject_type -> Text,
        subject_id -> Nullable<Text>,
        details -> Jsonb,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(id_verifications -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    password_resets,
    id_verifications
);
