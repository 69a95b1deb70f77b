-- How often each province's read models changed: the central view keeps every province's figures and
-- computes again only those whose count moved since (queries.provinces, kept_answers.py; the dashboards too).
--
-- Every change to a read model is an event applied by the consumer (or a rebuild), so it inserts an
-- inbox row in the same transaction; the triggers below count, per statement, the provinces it
-- touched. One row per province and database session: concurrent consumers never wait on each other's
-- row, and the sum over a province's rows grows with every commit that changed it, whatever order the
-- commits come in (a sequence or a timestamp could be overtaken by a transaction that started earlier
-- and committed later). The DELETE trigger covers a rebuild's reset, which empties the inbox.
CREATE TABLE read_model_versions (
    tenant  text NOT NULL,
    writer  integer NOT NULL,   -- pg_backend_pid() of the session that counted
    changes bigint NOT NULL,
    PRIMARY KEY (tenant, writer)
);
-- No row-level security, like the inbox it counts: the consumer claims a batch of many provinces
-- before it sets any province, and the counts say nothing about a province's data.
SELECT disable_audit('read_model_versions');

CREATE FUNCTION count_read_model_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each session writes only its own rows (writer), so no other session ever waits on them; the ORDER BY
    -- is not needed for that, only the fold (store.fold_read_model_versions) takes rows of others, in order.
    INSERT INTO read_model_versions AS v (tenant, writer, changes)
    SELECT DISTINCT tenant, pg_backend_pid(), 1 FROM changed ORDER BY 1
    ON CONFLICT (tenant, writer) DO UPDATE SET changes = v.changes + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER read_model_applied AFTER INSERT ON processed_events
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_read_model_changes();
CREATE TRIGGER read_model_reset AFTER DELETE ON processed_events
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_read_model_changes();
