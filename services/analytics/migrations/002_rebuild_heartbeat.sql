-- A run whose process died stays 'running'; its last heartbeat lets the next run take over.
ALTER TABLE rebuild_runs ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
