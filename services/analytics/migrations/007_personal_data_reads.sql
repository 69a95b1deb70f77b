-- Who read officials' scorecards (names, assessments, discipline): personal data, so each read is kept.
CREATE TABLE personal_data_reads (
    id            bigserial PRIMARY KEY,
    tenant        text NOT NULL,
    reader        text NOT NULL,
    unit_id       uuid NOT NULL,
    official_refs text[] NOT NULL,
    period        text NOT NULL,
    read_at       timestamptz NOT NULL
);
CREATE INDEX personal_data_reads_unit ON personal_data_reads (tenant, unit_id, read_at);
SELECT enable_tenant_rls('personal_data_reads');
