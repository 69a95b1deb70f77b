-- Planning: checklists (versioned criteria trees), inspection teams, annual plans and their schedule.

CREATE TABLE checklists (
    id          uuid PRIMARY KEY,
    tenant      text NOT NULL,
    title       text NOT NULL,
    -- 'default' for the catalogue shipped with the service; installing it twice finds this row.
    key         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, key)
);
SELECT enable_tenant_rls('checklists');

CREATE TABLE checklist_versions (
    tenant        text NOT NULL,
    checklist_id  uuid NOT NULL REFERENCES checklists (id),
    version       integer NOT NULL,
    title         text NOT NULL,
    criteria      jsonb NOT NULL,
    published_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (checklist_id, version)
);
SELECT enable_tenant_rls('checklist_versions');

CREATE TABLE teams (
    id            uuid PRIMARY KEY,
    tenant        text NOT NULL,
    name          text NOT NULL,
    lead_unit_id  uuid NOT NULL,
    leader        jsonb NOT NULL,
    members       jsonb NOT NULL,
    revision      integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_tenant ON teams (tenant, name);
SELECT enable_tenant_rls('teams');

CREATE TABLE plans (
    id          uuid PRIMARY KEY,
    tenant      text NOT NULL,
    year        integer NOT NULL,
    type        text NOT NULL,
    status      text NOT NULL DEFAULT 'draft',
    -- version: 0 while a draft, 1 once approved, +1 per amendment; revision: the ETag, +1 per change.
    version     integer NOT NULL DEFAULT 0,
    revision    integer NOT NULL DEFAULT 1,
    body        jsonb NOT NULL,
    decision    jsonb,
    closed_on   date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plans_tenant_year ON plans (tenant, year);
SELECT enable_tenant_rls('plans');

-- The current schedule; each row's id is the inspection_id other services know.
CREATE TABLE planned_inspections (
    id            uuid PRIMARY KEY,
    tenant        text NOT NULL,
    plan_id       uuid NOT NULL REFERENCES plans (id),
    unit_id       uuid NOT NULL,
    window_start  date NOT NULL,
    window_end    date NOT NULL,
    form          text NOT NULL,
    team_id       uuid REFERENCES teams (id),
    note          text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX planned_inspections_plan ON planned_inspections (plan_id, window_start);
SELECT enable_tenant_rls('planned_inspections');

-- Every approved or amended version, frozen: what the decision actually approved.
CREATE TABLE plan_versions (
    tenant      text NOT NULL,
    plan_id     uuid NOT NULL REFERENCES plans (id),
    version     integer NOT NULL,
    status      text NOT NULL,
    decision    jsonb NOT NULL,
    reason      text,
    snapshot    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version)
);
SELECT enable_tenant_rls('plan_versions');
