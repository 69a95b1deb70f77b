-- Remediations per responsible unit and month of deadline (kept by remediation_counts.py), so that
-- dashboards sum about units x months instead of loading every remediation of a province:
-- total (deadline known), accepted by the deadline, accepted after it; open = total - on_time - late.
-- Overdue on a given day is open with a deadline before it: every open one of an earlier month, plus
-- an exact count in the month of that day (index below).
CREATE TABLE remediation_counts (
    tenant  text NOT NULL,
    unit_id uuid NOT NULL,
    month   date NOT NULL,
    total   integer NOT NULL DEFAULT 0,
    on_time integer NOT NULL DEFAULT 0,
    late    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, month, unit_id)
);
SELECT enable_tenant_rls('remediation_counts');
SELECT disable_audit('remediation_counts');

-- Open remediations by deadline: overdue this month, their age, the remediation dashboard's list.
CREATE INDEX remediations_open ON remediations (tenant, deadline) INCLUDE (unit_id, assigned_on, remediation_id)
    WHERE accepted_on IS NULL;

-- The remediations kept before this migration, counted as the handlers count them
-- (remediation_counts.RECOUNT; row-level security is forced, so look at every tenant).
SELECT set_config('app.tenant', '*', true);
INSERT INTO remediation_counts (tenant, unit_id, month, total, on_time, late)
SELECT tenant, unit_id, date_trunc('month', deadline)::date, count(*),
       count(*) FILTER (WHERE accepted_on <= deadline), count(*) FILTER (WHERE accepted_on > deadline)
FROM remediations WHERE deadline IS NOT NULL GROUP BY 1, 2, 3;
