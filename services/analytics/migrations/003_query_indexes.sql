-- Coverage asks which units a plan's concluded inspections reached; scorecards ask for an official's discipline.
CREATE INDEX inspections_plan ON inspections (tenant, plan_id);
CREATE INDEX recommendations_official ON recommendations (tenant, official_ref) WHERE official_ref IS NOT NULL;
