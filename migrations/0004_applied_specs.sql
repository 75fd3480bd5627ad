-- Pilothouse's own record of the HelmRelease values it applied. status.history keeps only a
-- digest of each revision's values; rollback looks the values up here by that digest.
-- Unlike the audit log these are the real values (they must be restorable), so the table is
-- readable only by the service's own role.

CREATE TABLE applied_specs (
    id            bigserial PRIMARY KEY,
    namespace     text NOT NULL,
    name          text NOT NULL,
    config_digest text NOT NULL,
    chart_version text,
    values        jsonb NOT NULL,
    applied_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX applied_specs_lookup ON applied_specs (namespace, name, config_digest, applied_at DESC);
