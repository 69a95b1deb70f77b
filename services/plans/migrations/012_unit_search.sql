-- Names folded for search (lower case, no diacritics, đ → d), filled by the app: users type "cang long".
ALTER TABLE unit_versions ADD COLUMN search_name text;
CREATE INDEX unit_versions_search ON unit_versions (tenant, search_name text_pattern_ops);
