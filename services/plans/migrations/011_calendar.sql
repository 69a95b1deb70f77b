-- Per-tenant declarations on top of the national holidays: extra days off and compensating working days.
CREATE TABLE calendar_years (
    tenant        text NOT NULL,
    year          integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    days_off      jsonb NOT NULL DEFAULT '[]',   -- [{"date": "2026-02-23", "name": "..."}]
    working_days  jsonb NOT NULL DEFAULT '[]',   -- ["2026-02-28"]
    version       integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, year)
);
SELECT enable_tenant_rls('calendar_years');
