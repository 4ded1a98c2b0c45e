-- The transactional outbox and the consumer inbox, created in the schema of the service that
-- runs this migration (its search_path), so every service has its own pair.

CREATE TABLE outbox (
    id             uuid        PRIMARY KEY,
    routing_key    text        NOT NULL,
    message_type   text        NOT NULL,
    payload        bytea       NOT NULL,
    correlation_id text,
    traceparent    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);

-- The relay only ever scans unsent rows, oldest first.
CREATE INDEX outbox_unsent ON outbox (created_at, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wakes the relay. A statement trigger, and PostgreSQL folds identical notifications of one
-- transaction into one, so a transaction notifies once however many events it writes.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- One row per event a consumer has handled, written in the handler's transaction, so a
-- redelivered event changes nothing.
CREATE TABLE processed_events (
    event_id     uuid        NOT NULL,
    consumer     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);
