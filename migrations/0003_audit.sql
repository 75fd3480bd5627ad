-- The append-only, hash-chained audit log (DESIGN.md, "Audit log").
-- hash = SHA-256(prev_hash || canonical JSON of the row's other fields); the first row's
-- prev_hash is 32 zero bytes. Sequence numbers are assigned by the writer under an advisory
-- lock so that concurrent writers still form one chain.

CREATE TABLE audit_log (
    seq          bigint PRIMARY KEY CONSTRAINT audit_log_seq_positive CHECK (seq > 0),
    occurred_at  timestamptz NOT NULL,
    operation_id uuid NOT NULL,
    phase        text NOT NULL CONSTRAINT audit_log_phase CHECK (phase IN ('intent', 'outcome', 'denied', 'checkpoint')),
    actor_issuer  text NOT NULL,
    actor_subject text NOT NULL,
    actor_email   text,
    channel      text NOT NULL CONSTRAINT audit_log_channel CHECK (channel IN ('ui', 'api', 'cli', 'system')),
    request_id   text,
    client_addr  text,
    action       text NOT NULL,
    tenant       text,
    namespace    text,
    target_kind  text,
    target_name  text,
    parameters   jsonb NOT NULL DEFAULT '{}',
    outcome      text CONSTRAINT audit_log_outcome CHECK (outcome IN ('pending', 'success', 'failure', 'denied')),
    error        text,
    prev_hash    bytea NOT NULL CONSTRAINT audit_log_prev_hash_length CHECK (octet_length(prev_hash) = 32),
    hash         bytea NOT NULL CONSTRAINT audit_log_hash_length CHECK (octet_length(hash) = 32)
);

CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at);
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant, seq);
CREATE INDEX audit_log_operation ON audit_log (operation_id);

-- UPDATE and TRUNCATE are always refused. DELETE is refused too, except for the archival step,
-- which sets pilothouse.audit_archive_through to the last sequence covered by a checkpoint row
-- in its own transaction and may then remove only rows up to that sequence.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    through bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        through := nullif(current_setting('pilothouse.audit_archive_through', true), '')::bigint;
        IF through IS NOT NULL AND OLD.seq <= through THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
