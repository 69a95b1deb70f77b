-- Every state of a unit from the day it took effect (renames, moves to a new parent when the district
-- level ended on 1 July 2025), so a question asked as of a date sees the tree of that date.
CREATE TABLE unit_versions (
    unit_id        uuid NOT NULL,
    effective_from date NOT NULL,
    tenant         text NOT NULL,
    name           text NOT NULL,
    level          integer NOT NULL,
    kind           text NOT NULL,
    parent_id      uuid,
    PRIMARY KEY (unit_id, effective_from)
);
SELECT enable_tenant_rls('unit_versions');
