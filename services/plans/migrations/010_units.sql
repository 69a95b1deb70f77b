-- Organisation units as a temporal tree: one identity row per unit, its attributes as effective-dated versions.

CREATE TABLE units (
    id          uuid PRIMARY KEY,
    tenant      text NOT NULL,
    -- How the unit's life ended ('merged' or 'dissolved'); its last version carries the date and successor.
    ended       text CHECK (ended IN ('merged', 'dissolved')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_tenant ON units (tenant);
SELECT enable_tenant_rls('units');

-- A version holds the unit's attributes over [valid_from, valid_to] (both inclusive; valid_to NULL = open).
-- Versions of one unit are contiguous and never overlap: the domain appends, the primary key backs it.
CREATE TABLE unit_versions (
    unit_id       uuid NOT NULL REFERENCES units (id),
    tenant        text NOT NULL,
    valid_from    date NOT NULL,
    valid_to      date,
    code          text,
    name          text NOT NULL,
    level         integer NOT NULL CHECK (level BETWEEN 1 AND 10),
    kind          text NOT NULL,
    parent_id     uuid REFERENCES units (id),
    successor_id  uuid REFERENCES units (id),
    contacts      jsonb NOT NULL DEFAULT '[]',
    change        text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX unit_versions_as_of ON unit_versions (tenant, valid_from, valid_to);
CREATE INDEX unit_versions_parent ON unit_versions (tenant, parent_id);
CREATE INDEX unit_versions_code ON unit_versions (tenant, code);
SELECT enable_tenant_rls('unit_versions');
