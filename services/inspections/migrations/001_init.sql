-- Tables of the inspections service. Every tenant table has a tenant column and row-level security:
--   SELECT enable_tenant_rls('table_name');
SELECT 1;
