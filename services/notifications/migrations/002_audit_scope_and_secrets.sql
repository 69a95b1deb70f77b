-- The audit trail (shared 002_audit) covers what people change here: settings, routing rules,
-- templates and webhook subscriptions. Local copies of other services' data, delivery state, timers,
-- inbox items and the webhook log are derived from events and opt out (they would only add noise).
SELECT disable_audit('units');
SELECT disable_audit('teams');
SELECT disable_audit('inspections');
SELECT disable_audit('remediations');
SELECT disable_audit('deliveries');
SELECT disable_audit('webhook_attempts');
SELECT disable_audit('inbox_items');
SELECT disable_audit('timers');

-- Signing secrets live apart from the audited subscription rows, so they never reach the audit log.
CREATE TABLE webhook_secrets (
    webhook_id uuid PRIMARY KEY REFERENCES webhooks (id),
    tenant     text NOT NULL,
    secret     text NOT NULL
);
SELECT enable_tenant_rls('webhook_secrets');
SELECT disable_audit('webhook_secrets');
INSERT INTO webhook_secrets (webhook_id, tenant, secret) SELECT id, tenant, secret FROM webhooks;
ALTER TABLE webhooks DROP COLUMN secret;
