-- Tenants and the namespaces they own (DESIGN.md, "Access model").
-- Names follow Kubernetes' DNS-1123 label rules so a slug can name Kubernetes objects.

CREATE TABLE tenants (
    slug         text PRIMARY KEY
                 CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'),
    display_name text NOT NULL
                 CONSTRAINT tenants_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A namespace belongs to at most one tenant: the primary key enforces it.
CREATE TABLE tenant_namespaces (
    namespace   text PRIMARY KEY
                CONSTRAINT tenant_namespaces_format CHECK (namespace ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'),
    tenant      text NOT NULL REFERENCES tenants (slug) ON UPDATE CASCADE ON DELETE CASCADE,
    assigned_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenant_namespaces_tenant ON tenant_namespaces (tenant);
