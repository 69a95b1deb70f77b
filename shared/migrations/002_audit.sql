-- Tamper-evident audit trail: every change of every tenant table (who, when, what, before, after).
-- Triggers append entries; a sealer (run by the relay leader) chains them with SHA-256 in a single
-- order, so an edited or deleted entry breaks the chain and audit_verify() finds it.

CREATE TABLE audit_log (
    seq        bigserial PRIMARY KEY,
    tenant     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor      text NOT NULL,
    action     text NOT NULL,
    table_name text NOT NULL,
    row_key    text,
    before     jsonb,
    after      jsonb,
    chain_pos  bigint UNIQUE,
    prev_hash  text,
    hash       text
);
CREATE INDEX audit_log_unsealed ON audit_log (seq) WHERE hash IS NULL;
CREATE INDEX audit_log_row ON audit_log (tenant, table_name, row_key);

CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b jsonb;
    a jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND a = b THEN RETURN NULL; END IF;
    INSERT INTO audit_log (tenant, actor, action, table_name, row_key, before, after)
    VALUES (coalesce(a->>'tenant', b->>'tenant'), coalesce(nullif(current_setting('app.actor', true), ''), 'system'),
            TG_OP, TG_TABLE_NAME, coalesce(a->>'id', b->>'id'), b, a);
    RETURN NULL;
END $$;

-- Entries never change once written; only the sealer may fill in the chain columns, once.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND (OLD.seq, OLD.tenant, OLD.at, OLD.actor, OLD.action, OLD.table_name, OLD.row_key, OLD.before, OLD.after)
           IS NOT DISTINCT FROM
           (NEW.seq, NEW.tenant, NEW.at, NEW.actor, NEW.action, NEW.table_name, NEW.row_key, NEW.before, NEW.after) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE FUNCTION audit_content(r audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('seq', r.seq, 'tenant', r.tenant, 'at', (extract(epoch FROM r.at) * 1000000)::bigint,
                              'actor', r.actor, 'action', r.action, 'table', r.table_name, 'key', r.row_key,
                              'before', r.before, 'after', r.after)::text
$$;

CREATE FUNCTION audit_seal(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r audit_log;
    last_hash text;
    last_pos bigint;
    prev text;
    n integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(727003);
    SELECT hash, chain_pos INTO last_hash, last_pos FROM audit_log WHERE chain_pos IS NOT NULL ORDER BY chain_pos DESC LIMIT 1;
    last_hash := coalesce(last_hash, '');
    last_pos := coalesce(last_pos, 0);
    FOR r IN SELECT * FROM audit_log WHERE hash IS NULL ORDER BY seq LIMIT batch LOOP
        prev := last_hash;
        last_pos := last_pos + 1;
        last_hash := encode(sha256(convert_to(prev || audit_content(r), 'UTF8')), 'hex');
        UPDATE audit_log SET chain_pos = last_pos, prev_hash = prev, hash = last_hash WHERE seq = r.seq;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Walks the chain: positions must be 1..n without gaps, each hash must match its content and predecessor.
CREATE FUNCTION audit_verify() RETURNS TABLE (ok boolean, checked bigint, first_bad_seq bigint, reason text)
LANGUAGE plpgsql AS $$
DECLARE
    r audit_log;
    expected_pos bigint := 0;
    prev text := '';
BEGIN
    checked := 0;
    FOR r IN SELECT * FROM audit_log WHERE chain_pos IS NOT NULL ORDER BY chain_pos LOOP
        expected_pos := expected_pos + 1;
        IF r.chain_pos <> expected_pos THEN
            RETURN QUERY SELECT false, checked, r.seq, format('entry at chain position %s is missing', expected_pos);
            RETURN;
        END IF;
        IF r.prev_hash IS DISTINCT FROM prev
           OR r.hash <> encode(sha256(convert_to(prev || audit_content(r), 'UTF8')), 'hex') THEN
            RETURN QUERY SELECT false, checked, r.seq, format('entry %s was altered (hash mismatch)', r.seq);
            RETURN;
        END IF;
        prev := r.hash;
        checked := checked + 1;
    END LOOP;
    RETURN QUERY SELECT true, checked, NULL::bigint, 'chain intact'::text;
END $$;

CREATE FUNCTION enable_audit(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION audit_row()', tbl);
END $$;

-- Derived tables (read models rebuilt from events) are not changes by anyone: they opt out.
CREATE FUNCTION disable_audit(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS audit_row ON %s', tbl);
END $$;

-- From now on every tenant table gets row-level security and the audit trigger together.
CREATE OR REPLACE FUNCTION enable_tenant_rls(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (current_setting(''app.tenant'', true) IN (tenant, ''*''))'
        ' WITH CHECK (current_setting(''app.tenant'', true) IN (tenant, ''*''))', tbl);
    IF tbl <> 'audit_log'::regclass THEN
        PERFORM enable_audit(tbl);
    END IF;
END $$;

SELECT enable_tenant_rls('audit_log');
