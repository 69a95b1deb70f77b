-- The event backbone every service carries in its own database.

-- Transactional outbox: written in the same transaction as the state change it describes.
CREATE TABLE outbox (
    seq           bigserial PRIMARY KEY,
    id            uuid NOT NULL UNIQUE,
    tenant        text NOT NULL,
    type          text NOT NULL,
    topic         text NOT NULL,
    key           text NOT NULL,
    headers       jsonb NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer NOT NULL DEFAULT 0
);
-- The relay only ever scans what is not yet published.
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_created ON outbox (created_at);

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
-- Once per statement: NOTIFY is delivered at commit, so the relay wakes only for committed rows.
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF published_at ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Inbox: which events each consumer has applied; written in the same transaction as the effect.
CREATE TABLE processed_events (
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    tenant        text NOT NULL,
    type          text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Dead letters kept where they can be counted and replayed, also after the broker lost its topics.
CREATE TABLE dead_letters (
    id              bigserial PRIMARY KEY,
    consumer        text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    key             bytea,
    value           bytea,
    headers         jsonb NOT NULL,
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    replayed_at     timestamptz,
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);

-- Row-level security for tenant tables: a forgotten WHERE tenant = ... still leaks nothing.
-- The app role owns the tables, so FORCE makes the policy apply to it too.
CREATE FUNCTION enable_tenant_rls(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (current_setting(''app.tenant'', true) IN (tenant, ''*''))'
        ' WITH CHECK (current_setting(''app.tenant'', true) IN (tenant, ''*''))', tbl);
END $$;
