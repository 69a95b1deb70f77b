-- The audit trail covers changes people make. Replicas rebuilt from the plans service's events and the
-- resend bookkeeping are not such changes; evidence bytes are audited through their `evidence` row
-- (who attached which SHA-256), not copied into the log a second time.
SELECT disable_audit('units');
SELECT disable_audit('teams');
SELECT disable_audit('checklists');
SELECT disable_audit('calendars');
SELECT disable_audit('client_ids');
SELECT disable_audit('evidence_blobs');
