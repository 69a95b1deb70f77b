-- Tables of the notifications service. Every tenant table has a tenant column and row-level security.

-- Local copies of reference data (from unit.changed, team.changed, inspection and remediation events):
-- the service never calls another service to find out who to tell.
-- Ids are global primary keys, so an event of one tenant can never overwrite another tenant's row
-- (the conflicting row is invisible under RLS and the upsert fails).
CREATE TABLE units (
    unit_id      uuid PRIMARY KEY,
    tenant       text NOT NULL,
    name         text NOT NULL,
    level        integer NOT NULL,
    kind         text NOT NULL,
    parent_id    uuid,
    valid_to     date,
    successor_id uuid,
    contacts     jsonb NOT NULL DEFAULT '[]',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_roots ON units (tenant, level) WHERE parent_id IS NULL;
SELECT enable_tenant_rls('units');

CREATE TABLE teams (
    team_id    uuid PRIMARY KEY,
    tenant     text NOT NULL,
    name       text NOT NULL,
    leader     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('teams');

-- Which team inspects which unit: remediation events name the inspection, not the team.
CREATE TABLE inspections (
    inspection_id uuid PRIMARY KEY,
    tenant        text NOT NULL,
    unit_id       uuid NOT NULL,
    team_id       uuid,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('inspections');

CREATE TABLE remediations (
    remediation_id uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL,
    unit_id        uuid NOT NULL,
    kind           text,
    text           text,
    deadline       date NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'verified')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('remediations');

-- Per-tenant settings: the Sở Nội vụ contact, reminder days, the escalation chain (NULL = defaults).
CREATE TABLE tenant_settings (
    tenant       text PRIMARY KEY,
    home_affairs jsonb,
    reminder_days integer[],
    escalation   jsonb,
    version      integer NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text
);
SELECT enable_tenant_rls('tenant_settings');

CREATE TABLE routing_rules (
    tenant     text PRIMARY KEY,
    rules      jsonb NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);
SELECT enable_tenant_rls('routing_rules');

-- Tenant overrides of the shipped templates (templates/<event>.<channel>.j2).
CREATE TABLE templates (
    tenant     text NOT NULL,
    event_type text NOT NULL,
    channel    text NOT NULL,
    source     text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    PRIMARY KEY (tenant, event_type, channel)
);
SELECT enable_tenant_rls('templates');

CREATE TABLE webhooks (
    id                   uuid PRIMARY KEY,
    tenant               text NOT NULL,
    url                  text NOT NULL,
    event_types          text[] NOT NULL,
    secret               text NOT NULL,
    description          text,
    owner_sub            text NOT NULL,
    owner_email          text,
    active               boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at          timestamptz,
    disabled_reason      text,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant ON webhooks (tenant) WHERE active AND deleted_at IS NULL;
SELECT enable_tenant_rls('webhooks');

-- One row per message to send. The idempotency key (source, channel, recipient) makes a second
-- consumption of the same event, or a second reminder scan, insert nothing.
-- States: pending → sending (claimed, with a lease) → sent | pending (retry) | failed | cancelled.
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    tenant           text NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    source_id        uuid NOT NULL,
    source_type      text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook', 'inapp')),
    recipient        text NOT NULL,
    recipient_name   text,
    role             text,
    subscription_id  uuid,
    subject          text,
    body_text        text,
    body_html        text,
    payload          jsonb,
    message_id       text,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    enqueued_at      timestamptz,
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_sending ON deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, created_at) WHERE subscription_id IS NOT NULL;
SELECT enable_tenant_rls('deliveries');

-- Every webhook attempt, for the owner's delivery log.
CREATE TABLE webhook_attempts (
    id              bigserial PRIMARY KEY,
    tenant          text NOT NULL,
    subscription_id uuid NOT NULL,
    delivery_id     uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL,
    status_code     integer,
    ok              boolean NOT NULL,
    error           text,
    duration_ms     integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, id DESC);
SELECT enable_tenant_rls('webhook_attempts');

CREATE TABLE inbox_items (
    id          uuid PRIMARY KEY,
    tenant      text NOT NULL,
    user_sub    text NOT NULL,
    event_type  text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    source_id   uuid NOT NULL,
    delivery_id uuid NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
CREATE INDEX inbox_items_user ON inbox_items (tenant, user_sub, created_at DESC, id);
CREATE INDEX inbox_items_unread ON inbox_items (tenant, user_sub) WHERE read_at IS NULL;
SELECT enable_tenant_rls('inbox_items');

-- Reminders before a deadline and escalation steps after it, fired by the beat task when due.
-- Keyed by remediation, deadline, kind and offset/step, so each fires at most once per deadline.
CREATE TABLE timers (
    tenant         text NOT NULL,
    remediation_id uuid NOT NULL,
    deadline       date NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('reminder', 'escalation')),
    seq            integer NOT NULL,
    due_on         date NOT NULL,
    roles          text[] NOT NULL DEFAULT '{}',
    state          text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'fired', 'cancelled')),
    payload        jsonb NOT NULL,
    fired_at       timestamptz,
    PRIMARY KEY (remediation_id, deadline, kind, seq)
);
CREATE INDEX timers_due ON timers (due_on) WHERE state = 'scheduled';
SELECT enable_tenant_rls('timers');

-- A committed pending delivery wakes the dispatcher, which enqueues its Celery task. NOTIFY is
-- delivered at commit only, so a task is never enqueued for a row that does not exist (yet).
CREATE FUNCTION deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notification_deliveries', json_build_object('tenant', NEW.tenant, 'id', NEW.id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION deliveries_notify();
