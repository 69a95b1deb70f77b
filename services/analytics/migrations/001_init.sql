-- Read models of the analytics service, fed only by events (see readmodel.py).
-- Two kinds of table: small state tables keyed by the id of what they describe (units, plans,
-- inspections, findings, remediations...), and counters pre-aggregated per tenant / unit / month
-- (inspection_counts, violation_counts, dossier_counts) that dashboards sum instead of scanning facts.
-- Counters are keyed by the unit named in the event (the original unit); merges are applied when
-- answering (domain.attribution), so a merge never rewrites history.

CREATE TABLE units (
    unit_id      uuid PRIMARY KEY,
    tenant       text NOT NULL,
    code         text,
    name         text NOT NULL,
    level        integer NOT NULL,
    kind         text NOT NULL,
    parent_id    uuid,
    valid_from   date NOT NULL,
    valid_to     date,
    successor_id uuid,
    contacts     jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX units_tenant ON units (tenant);
SELECT enable_tenant_rls('units');

CREATE TABLE teams (
    team_id      uuid PRIMARY KEY,
    tenant       text NOT NULL,
    name         text NOT NULL,
    lead_unit_id uuid NOT NULL,
    member_count integer NOT NULL
);
SELECT enable_tenant_rls('teams');

CREATE TABLE criteria (
    tenant  text NOT NULL,
    code    text NOT NULL,
    title   text NOT NULL,
    PRIMARY KEY (tenant, code)
);
SELECT enable_tenant_rls('criteria');

CREATE TABLE plans (
    plan_id             uuid PRIMARY KEY,
    tenant              text NOT NULL,
    version             integer NOT NULL,
    year                integer NOT NULL,
    type                text NOT NULL,
    title               text NOT NULL,
    decision_number     text NOT NULL,
    decision_date       date NOT NULL,
    signer              text NOT NULL,
    coverage_rules      jsonb NOT NULL,
    planned_inspections integer NOT NULL,
    closed_on           date
);
CREATE INDEX plans_year ON plans (tenant, year);
SELECT enable_tenant_rls('plans');

-- One row per inspection; fields arrive from two topics in any order (scheduled may follow concluded).
CREATE TABLE inspections (
    inspection_id uuid PRIMARY KEY,
    tenant        text NOT NULL,
    plan_id       uuid,
    unit_id       uuid,
    year          integer,
    window_start  date,
    form          text,
    scheduled     boolean NOT NULL DEFAULT false,
    cancelled     boolean NOT NULL DEFAULT false,
    surprise      boolean NOT NULL DEFAULT false,
    started_on    date,
    concluded_on  date,
    closed_on     date
);
SELECT enable_tenant_rls('inspections');

-- planned: scheduled and not cancelled, in the month its window starts; done: concluded, in that month.
CREATE TABLE inspection_counts (
    tenant  text NOT NULL,
    unit_id uuid NOT NULL,
    month   date NOT NULL,
    planned integer NOT NULL DEFAULT 0,
    done    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, month, unit_id)
);
SELECT enable_tenant_rls('inspection_counts');

CREATE TABLE findings (
    finding_id      uuid PRIMARY KEY,
    tenant          text NOT NULL,
    inspection_id   uuid NOT NULL,
    unit_id         uuid NOT NULL,
    criterion_code  text NOT NULL,
    severity        text NOT NULL,
    recorded_on     date NOT NULL,
    officials_count integer NOT NULL
);
CREATE INDEX findings_unit ON findings (tenant, unit_id, recorded_on);
SELECT enable_tenant_rls('findings');

CREATE TABLE violation_counts (
    tenant         text NOT NULL,
    unit_id        uuid NOT NULL,
    month          date NOT NULL,
    criterion_code text NOT NULL,
    severity       text NOT NULL,
    n              integer NOT NULL,
    PRIMARY KEY (tenant, month, unit_id, criterion_code, severity)
);
SELECT enable_tenant_rls('violation_counts');

CREATE TABLE dossier_checks (
    check_id      uuid PRIMARY KEY,
    tenant        text NOT NULL,
    inspection_id uuid NOT NULL,
    unit_id       uuid NOT NULL,
    dossier_code  text NOT NULL,
    field         text NOT NULL,
    received_on   date NOT NULL,
    days_late     integer NOT NULL,
    late          boolean NOT NULL
);
CREATE INDEX dossier_checks_unit ON dossier_checks (tenant, unit_id, received_on);
SELECT enable_tenant_rls('dossier_checks');

-- Month of receipt of the dossier.
CREATE TABLE dossier_counts (
    tenant        text NOT NULL,
    unit_id       uuid NOT NULL,
    month         date NOT NULL,
    field         text NOT NULL,
    checked       integer NOT NULL,
    late          integer NOT NULL,
    days_late_sum integer NOT NULL,
    PRIMARY KEY (tenant, month, unit_id, field)
);
SELECT enable_tenant_rls('dossier_counts');

CREATE TABLE recommendations (
    recommendation_id uuid PRIMARY KEY,
    tenant            text NOT NULL,
    inspection_id     uuid NOT NULL,
    unit_id           uuid NOT NULL,
    finding_id        uuid,
    kind              text NOT NULL,
    official_ref      text,
    discipline_level  text,
    concluded_on      date NOT NULL
);
CREATE INDEX recommendations_unit ON recommendations (tenant, unit_id, concluded_on);
SELECT enable_tenant_rls('recommendations');

CREATE TABLE head_assessments (
    assessment_id   uuid PRIMARY KEY,
    tenant          text NOT NULL,
    inspection_id   uuid NOT NULL,
    unit_id         uuid NOT NULL,
    official_ref    text NOT NULL,
    position        text NOT NULL,
    task_execution  text NOT NULL,
    processing_time text NOT NULL,
    quality         text NOT NULL,
    assessed_on     date NOT NULL
);
CREATE INDEX head_assessments_unit ON head_assessments (tenant, unit_id, assessed_on);
SELECT enable_tenant_rls('head_assessments');

-- One row per remediation; reported/verified may arrive before assigned (the columns fill in).
CREATE TABLE remediations (
    remediation_id    uuid PRIMARY KEY,
    tenant            text NOT NULL,
    inspection_id     uuid NOT NULL,
    unit_id           uuid NOT NULL,
    recommendation_id uuid,
    finding_id        uuid,
    kind              text,
    deadline          date,
    assigned_on       date,
    reported_done     boolean NOT NULL DEFAULT false,
    accepted_on       date,
    overdue_signalled boolean NOT NULL DEFAULT false
);
CREATE INDEX remediations_deadline ON remediations (tenant, deadline);
SELECT enable_tenant_rls('remediations');

-- System table (not tenant data): progress of read-model rebuilds.
CREATE TABLE rebuild_runs (
    id          bigserial PRIMARY KEY,
    source      text NOT NULL,
    status      text NOT NULL,
    total       bigint NOT NULL DEFAULT 0,
    applied     bigint NOT NULL DEFAULT 0,
    error       text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
