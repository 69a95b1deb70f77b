-- Violations per unit for the headline figures (kept by the findings handler, violation_sums.py), so
-- the central view reads about one row per unit and month instead of summing the counters per unit,
-- criterion and severity; exact for any range of months of a year.
-- Findings and serious findings per unit and month.
CREATE TABLE violation_unit_counts (
    tenant  text NOT NULL,
    unit_id uuid NOT NULL,
    month   date NOT NULL,
    n       integer NOT NULL DEFAULT 0,
    serious integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, month, unit_id)
);
SELECT enable_tenant_rls('violation_unit_counts');
SELECT disable_audit('violation_unit_counts');

-- Per unit, criterion and year: months with a finding (bit m - 1) and months with more than one.
CREATE TABLE violation_pairs (
    tenant         text NOT NULL,
    year           integer NOT NULL,
    unit_id        uuid NOT NULL,
    criterion_code text NOT NULL,
    months         integer NOT NULL DEFAULT 0,
    multi          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, year, unit_id, criterion_code)
);
SELECT enable_tenant_rls('violation_pairs');
SELECT disable_audit('violation_pairs');

-- Per unit and year: bit (a - 1) * 12 + b - 1 set when the unit broke some criterion more than once
-- in months a..b.
CREATE TABLE violation_repeats (
    tenant  text NOT NULL,
    year    integer NOT NULL,
    unit_id uuid NOT NULL,
    ranges  bit(144) NOT NULL,
    PRIMARY KEY (tenant, year, unit_id)
);
SELECT enable_tenant_rls('violation_repeats');
SELECT disable_audit('violation_repeats');

-- Constant, not tenant data (never emptied by a rebuild): for each of the 4,096 sets of months (bit
-- m - 1), the ranges a..b (bit (a - 1) * 12 + b - 1) holding one of them and those holding two. A
-- criterion repeats in a..b when a month of it there had more than one finding (``holding_one`` of
-- its ``multi``) or two months had one (``holding_two`` of its ``months``): the handler looks them up
-- instead of testing each of the 78 (the test per range made the rebuild a third slower).
CREATE TABLE month_ranges (
    months integer PRIMARY KEY,
    holding_one bit(144) NOT NULL,
    holding_two bit(144) NOT NULL
);
INSERT INTO month_ranges (months, holding_one, holding_two)
SELECT s.months,
       coalesce(bit_or(B'1'::bit(144) >> g.bit) FILTER (WHERE s.months & g.mask <> 0), B'0'::bit(144)),
       coalesce(bit_or(B'1'::bit(144) >> g.bit) FILTER (WHERE (s.months & g.mask) & ((s.months & g.mask) - 1) <> 0),
                B'0'::bit(144))
FROM generate_series(0, 4095) s(months),
     (SELECT (a - 1) * 12 + b - 1 AS bit, (1 << b) - (1 << (a - 1)) AS mask
      FROM generate_series(1, 12) a, generate_series(1, 12) b WHERE a <= b) g
GROUP BY s.months;

-- The findings counted before this migration, as the handler counts them (violation_sums.RECOUNT;
-- row-level security is forced, so look at every tenant).
SELECT set_config('app.tenant', '*', true);
INSERT INTO violation_unit_counts (tenant, unit_id, month, n, serious)
SELECT tenant, unit_id, month, sum(n), coalesce(sum(n) FILTER (WHERE severity = 'serious'), 0)
FROM violation_counts GROUP BY 1, 2, 3;
INSERT INTO violation_pairs (tenant, year, unit_id, criterion_code, months, multi)
SELECT tenant, year, unit_id, criterion_code, bit_or(bit), coalesce(bit_or(bit) FILTER (WHERE k > 1), 0)
FROM (SELECT tenant, extract(year FROM month)::int AS year, unit_id, criterion_code,
             1 << (extract(month FROM month)::int - 1) AS bit, sum(n) AS k
      FROM violation_counts GROUP BY 1, 2, 3, 4, 5) m
GROUP BY 1, 2, 3, 4;
INSERT INTO violation_repeats (tenant, year, unit_id, ranges)
SELECT p.tenant, p.year, p.unit_id, bit_or(x.holding_one | m.holding_two)
FROM violation_pairs p JOIN month_ranges x ON x.months = p.multi JOIN month_ranges m ON m.months = p.months
GROUP BY 1, 2, 3;
