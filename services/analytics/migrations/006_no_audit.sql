-- Every analytics table is a read model derived from events (and rebuilt from them): nobody changes
-- it by hand, so the audit trail (shared 002_audit) would only record noise and slow the consumer.
SELECT disable_audit('units');
SELECT disable_audit('unit_versions');
SELECT disable_audit('teams');
SELECT disable_audit('criteria');
SELECT disable_audit('plans');
SELECT disable_audit('inspections');
SELECT disable_audit('inspection_counts');
SELECT disable_audit('findings');
SELECT disable_audit('violation_counts');
SELECT disable_audit('dossier_checks');
SELECT disable_audit('dossier_counts');
SELECT disable_audit('recommendations');
SELECT disable_audit('head_assessments');
SELECT disable_audit('remediations');
