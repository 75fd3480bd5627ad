-- Every namespace-keyed row names its cluster (DESIGN.md, "References, not strings"). Rows
-- written before there were several clusters belong to the one cluster, `default`.

ALTER TABLE tenant_namespaces
    ADD COLUMN cluster text NOT NULL DEFAULT 'default'
        CONSTRAINT tenant_namespaces_cluster_format CHECK (cluster ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$');
ALTER TABLE tenant_namespaces DROP CONSTRAINT tenant_namespaces_pkey;
ALTER TABLE tenant_namespaces ADD CONSTRAINT tenant_namespaces_pkey PRIMARY KEY (cluster, namespace);

ALTER TABLE applied_specs ADD COLUMN cluster text NOT NULL DEFAULT 'default';
DROP INDEX applied_specs_lookup;
CREATE INDEX applied_specs_lookup ON applied_specs (cluster, namespace, name, config_digest, applied_at DESC);

ALTER TABLE packages ADD COLUMN cluster text NOT NULL DEFAULT 'default';
ALTER TABLE packages DROP CONSTRAINT packages_pkey;
ALTER TABLE packages ADD CONSTRAINT packages_pkey PRIMARY KEY (cluster, namespace, id);

ALTER TABLE helm_chart_sources ADD COLUMN cluster text NOT NULL DEFAULT 'default';
ALTER TABLE helm_chart_sources DROP CONSTRAINT helm_chart_sources_pkey;
ALTER TABLE helm_chart_sources ADD CONSTRAINT helm_chart_sources_pkey PRIMARY KEY (cluster, namespace, release);

-- Adding a column with a default rewrites no row, so the append-only trigger never fires and
-- every existing row keeps its hash; the hash covers `cluster` only when it is not `default`
-- (control/src/audit/canonical.rs), so those rows still verify.
ALTER TABLE audit_log
    ADD COLUMN cluster text NOT NULL DEFAULT 'default';
