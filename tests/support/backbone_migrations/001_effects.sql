-- A stand-in service table for backbone tests: one row per applied effect, no uniqueness on purpose,
-- so an effect applied twice shows up as two rows.
CREATE TABLE plans_closed (
    tenant    text NOT NULL,
    event_id  uuid NOT NULL,
    plan_id   uuid NOT NULL,
    title     text
);
SELECT enable_tenant_rls('plans_closed');
CREATE TABLE closures (
    tenant    text NOT NULL,
    plan_id   uuid PRIMARY KEY
);
SELECT enable_tenant_rls('closures');
