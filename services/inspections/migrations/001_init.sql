-- Tables of the inspections service. Every tenant table has a tenant column and row-level security.

-- Replicas of the plans service's reference data (never queried from the plans service itself).
CREATE TABLE units (
    id            uuid PRIMARY KEY,
    tenant        text NOT NULL,
    code          text,
    name          text NOT NULL,
    level         integer NOT NULL,
    kind          text NOT NULL,
    parent_id     uuid,
    valid_from    date NOT NULL,
    valid_to      date,
    successor_id  uuid,
    last_change   text NOT NULL,
    contacts      jsonb NOT NULL DEFAULT '[]',
    updated_at    timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('units');

CREATE TABLE teams (
    id            uuid PRIMARY KEY,
    tenant        text NOT NULL,
    name          text NOT NULL,
    lead_unit_id  uuid NOT NULL,
    leader        jsonb NOT NULL,
    members       jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
SELECT enable_tenant_rls('teams');

CREATE TABLE checklists (
    id            uuid NOT NULL,
    version       integer NOT NULL,
    tenant        text NOT NULL,
    title         text NOT NULL,
    criteria      jsonb NOT NULL,
    PRIMARY KEY (id, version)
);
SELECT enable_tenant_rls('checklists');

CREATE TABLE calendars (
    tenant        text NOT NULL,
    year          integer NOT NULL,
    days_off      jsonb NOT NULL,
    working_days  jsonb NOT NULL,
    PRIMARY KEY (tenant, year)
);
SELECT enable_tenant_rls('calendars');

-- Client-generated ids: the fingerprint of the first request decides whether a resend is the same.
CREATE TABLE client_ids (
    kind          text NOT NULL,
    id            uuid NOT NULL,
    tenant        text NOT NULL,
    fingerprint   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
SELECT enable_tenant_rls('client_ids');

CREATE TABLE inspections (
    id                 uuid PRIMARY KEY,
    tenant             text NOT NULL,
    unit_id            uuid NOT NULL,
    plan_id            uuid,
    plan_version       integer,
    year               integer NOT NULL,
    form               text NOT NULL,
    surprise           boolean NOT NULL DEFAULT false,
    reason             text,
    citizen_report_ref text,
    citizen_contact    text,
    team_id            uuid,
    checklist_id       uuid,
    checklist_version  integer,
    window_start       date,
    window_end         date,
    status             text NOT NULL,
    cancel_reason      text,
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL,
    started_at         timestamptz,
    concluded_at       timestamptz,
    closed_at          timestamptz
);
SELECT enable_tenant_rls('inspections');
CREATE INDEX inspections_unit ON inspections (tenant, unit_id);

CREATE TABLE citizen_replies (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL REFERENCES inspections(id),
    replied_on     date NOT NULL,
    channel        text NOT NULL,
    outcome        text NOT NULL,
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL
);
SELECT enable_tenant_rls('citizen_replies');

CREATE TABLE checklist_results (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL REFERENCES inspections(id),
    criterion_code text NOT NULL,
    result         text NOT NULL CHECK (result IN ('met', 'not_met', 'not_applicable')),
    note           text NOT NULL DEFAULT '',
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL,
    UNIQUE (inspection_id, criterion_code)
);
SELECT enable_tenant_rls('checklist_results');

CREATE TABLE findings (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL REFERENCES inspections(id),
    unit_id        uuid NOT NULL,
    criterion_code text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('minor', 'moderate', 'serious')),
    description    text NOT NULL,
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL
);
SELECT enable_tenant_rls('findings');
CREATE INDEX findings_inspection ON findings (inspection_id);

-- Officials named in a finding are personal data: kept apart, and every read is logged.
CREATE TABLE finding_officials (
    finding_id     uuid NOT NULL REFERENCES findings(id),
    position_no    integer NOT NULL,
    tenant         text NOT NULL,
    name           text NOT NULL,
    position       text NOT NULL,
    PRIMARY KEY (finding_id, position_no)
);
SELECT enable_tenant_rls('finding_officials');

CREATE TABLE officials_access_log (
    id             bigserial PRIMARY KEY,
    tenant         text NOT NULL,
    finding_id     uuid NOT NULL,
    subject        text NOT NULL,
    roles          text NOT NULL,
    route          text NOT NULL,
    read_at        timestamptz NOT NULL
);
SELECT enable_tenant_rls('officials_access_log');

-- Evidence content is stored once per tenant and SHA-256; attachments point at it.
CREATE TABLE evidence_blobs (
    tenant         text NOT NULL,
    sha256         text NOT NULL,
    content_type   text NOT NULL,
    size           integer NOT NULL,
    content        bytea NOT NULL,
    PRIMARY KEY (tenant, sha256)
);
SELECT enable_tenant_rls('evidence_blobs');

CREATE TABLE evidence (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    owner_kind     text NOT NULL CHECK (owner_kind IN ('finding', 'remediation_report')),
    owner_id       uuid NOT NULL,
    sha256         text NOT NULL,
    filename       text NOT NULL,
    content_type   text NOT NULL,
    size           integer NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL
);
SELECT enable_tenant_rls('evidence');
CREATE INDEX evidence_owner ON evidence (owner_kind, owner_id);

CREATE TABLE dossiers (
    tenant         text NOT NULL,
    unit_id        uuid NOT NULL,
    code           text NOT NULL,
    field          text NOT NULL,
    received_on    date NOT NULL,
    due_on         date NOT NULL,
    resolved_on    date,
    imported_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, unit_id, code)
);
SELECT enable_tenant_rls('dossiers');

-- The population is kept with the sample, so anyone can re-draw it later from the same seed.
CREATE TABLE dossier_samples (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL UNIQUE REFERENCES inspections(id),
    seed           text NOT NULL,
    size           integer NOT NULL,
    field          text,
    population     jsonb NOT NULL,
    drawn          jsonb NOT NULL,
    drawn_by       text NOT NULL,
    drawn_at       timestamptz NOT NULL
);
SELECT enable_tenant_rls('dossier_samples');

CREATE TABLE dossier_checks (
    id             uuid PRIMARY KEY,
    tenant         text NOT NULL,
    inspection_id  uuid NOT NULL REFERENCES inspections(id),
    unit_id        uuid NOT NULL,
    dossier_code   text NOT NULL,
    field          text NOT NULL,
    received_on    date NOT NULL,
    due_on         date NOT NULL,
    resolved_on    date,
    days_late      integer NOT NULL,
    late           boolean NOT NULL,
    note           text NOT NULL DEFAULT '',
    checked_by     text NOT NULL,
    checked_at     timestamptz NOT NULL,
    UNIQUE (inspection_id, dossier_code)
);
SELECT enable_tenant_rls('dossier_checks');

CREATE TABLE assessments (
    id              uuid PRIMARY KEY,
    tenant          text NOT NULL,
    inspection_id   uuid NOT NULL REFERENCES inspections(id),
    unit_id         uuid NOT NULL,
    official_ref    text NOT NULL,
    position        text NOT NULL CHECK (position IN ('head', 'deputy')),
    task_execution  text NOT NULL,
    processing_time text NOT NULL,
    quality         text NOT NULL,
    notes           text NOT NULL DEFAULT '',
    assessed_by     text NOT NULL,
    assessed_at     timestamptz NOT NULL
);
SELECT enable_tenant_rls('assessments');

CREATE TABLE minutes (
    id              uuid PRIMARY KEY,
    tenant          text NOT NULL,
    inspection_id   uuid NOT NULL UNIQUE REFERENCES inspections(id),
    held_on         date NOT NULL,
    place           text NOT NULL,
    team_summary    text NOT NULL,
    unit_response   text NOT NULL,
    disagreements   jsonb NOT NULL,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL
);
SELECT enable_tenant_rls('minutes');

CREATE TABLE conclusions (
    id              uuid PRIMARY KEY,
    tenant          text NOT NULL,
    inspection_id   uuid NOT NULL UNIQUE REFERENCES inspections(id),
    kind            text NOT NULL CHECK (kind IN ('notice', 'report')),
    number          text NOT NULL,
    doc_date        date NOT NULL,
    place           text NOT NULL,
    issuing_authority text NOT NULL,
    issuing_body    text NOT NULL,
    signer_title    text NOT NULL,
    signer_name     text NOT NULL,
    summary         text NOT NULL,
    recipients      jsonb NOT NULL,
    concluded_by    text NOT NULL,
    concluded_at    timestamptz NOT NULL
);
SELECT enable_tenant_rls('conclusions');

CREATE TABLE recommendations (
    id               uuid PRIMARY KEY,
    tenant           text NOT NULL,
    inspection_id    uuid NOT NULL REFERENCES inspections(id),
    finding_id       uuid REFERENCES findings(id),
    position_no      integer NOT NULL,
    kind             text NOT NULL,
    text             text NOT NULL,
    needs_action     boolean NOT NULL,
    discipline_level text,
    official_ref     text
);
SELECT enable_tenant_rls('recommendations');

CREATE TABLE remediations (
    id                uuid PRIMARY KEY,
    tenant            text NOT NULL,
    inspection_id     uuid NOT NULL REFERENCES inspections(id),
    recommendation_id uuid NOT NULL UNIQUE REFERENCES recommendations(id),
    finding_id        uuid,
    unit_id           uuid NOT NULL,
    kind              text NOT NULL,
    text              text NOT NULL,
    deadline          date NOT NULL,
    status            text NOT NULL,
    created_at        timestamptz NOT NULL,
    verified_at       timestamptz
);
SELECT enable_tenant_rls('remediations');
CREATE INDEX remediations_open ON remediations (deadline) WHERE status <> 'verified';

CREATE TABLE remediation_reports (
    id               uuid PRIMARY KEY,
    tenant           text NOT NULL,
    remediation_id   uuid NOT NULL REFERENCES remediations(id),
    progress         text NOT NULL CHECK (progress IN ('in_progress', 'done')),
    note             text NOT NULL,
    reported_by      text NOT NULL,
    reported_at      timestamptz NOT NULL
);
SELECT enable_tenant_rls('remediation_reports');

-- Every change of a remediation, in order: assigned, reported, verified, returned, extended, overdue.
CREATE TABLE remediation_history (
    seq              bigserial PRIMARY KEY,
    tenant           text NOT NULL,
    remediation_id   uuid NOT NULL REFERENCES remediations(id),
    action           text NOT NULL,
    actor            text NOT NULL,
    at               timestamptz NOT NULL,
    detail           jsonb NOT NULL
);
SELECT enable_tenant_rls('remediation_history');

-- One row per (remediation, deadline) that went overdue: the unique key makes the event exactly-once.
CREATE TABLE remediation_overdue (
    remediation_id   uuid NOT NULL REFERENCES remediations(id),
    deadline         date NOT NULL,
    tenant           text NOT NULL,
    detected_at      timestamptz NOT NULL,
    PRIMARY KEY (remediation_id, deadline)
);
SELECT enable_tenant_rls('remediation_overdue');
