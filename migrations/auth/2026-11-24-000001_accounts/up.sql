-- Accounts, sessions, password resets, ID verifications, signing keys and the audit log.
-- Unqualified names: the migration runs with search_path = auth.

CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    email          text        NOT NULL,
    password_hash  text        NOT NULL,
    full_name      text        NOT NULL,
    phone          text        NOT NULL,
    date_of_birth  date        NOT NULL,
    role           text        NOT NULL DEFAULT 'customer'
                               CHECK (role IN ('customer', 'driver', 'agent', 'admin')),
    id_status      text        NOT NULL DEFAULT 'not_submitted'
                               CHECK (id_status IN ('not_submitted', 'pending', 'approved', 'rejected')),
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- Bumped on every change, carried in user events so read models ignore stale ones.
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Emails are stored lower-cased by the Email type; the index enforces uniqueness.
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_role ON users (role);
CREATE INDEX users_search ON users USING btree (lower(full_name) text_pattern_ops);

-- One row per refresh token ever issued. A family is one login; rotating adds a row and
-- marks the old one rotated. Presenting a rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    family_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

CREATE TABLE password_resets (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE id_verifications (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document_type  text        NOT NULL CHECK (document_type IN ('drivers_license', 'state_id', 'passport')),
    object_key     text        NOT NULL,
    content_type   text        NOT NULL,
    size_bytes     bigint      NOT NULL,
    status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reason         text,
    -- 'manual_review' or the provider's name.
    decided_by     text,
    reviewer_id    uuid,
    decided_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX id_verifications_status ON id_verifications (status, created_at);
CREATE INDEX id_verifications_user ON id_verifications (user_id, created_at DESC);

-- Public halves of every signing key, so tokens signed before a rotation still verify.
-- The private key is kept here only when it was generated locally; in production it comes
-- from configuration and `private_pem` is NULL.
CREATE TABLE signing_keys (
    kid          text        PRIMARY KEY,
    public_x     text        NOT NULL,
    private_pem  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);

-- The compliance audit log: auth's own entries and every `audit.recorded` event.
CREATE TABLE audit_log (
    id            bigserial   PRIMARY KEY,
    event_id      uuid        UNIQUE,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    service       text        NOT NULL,
    actor_id      uuid,
    actor_role    text,
    action        text        NOT NULL,
    subject_type  text        NOT NULL,
    subject_id    text,
    details       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ip            text,
    user_agent    text
);
CREATE INDEX audit_log_occurred ON audit_log (occurred_at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, occurred_at DESC);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, occurred_at DESC);
CREATE INDEX audit_log_action ON audit_log (action, occurred_at DESC);

-- Append-only: a regulator must be able to trust that nothing was changed or removed.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
