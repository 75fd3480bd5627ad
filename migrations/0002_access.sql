-- Who may do what (DESIGN.md, "Access model"). A grantee is a user (the OIDC subject of the
-- configured issuer) or an OIDC group name.

CREATE TABLE memberships (
    tenant       text NOT NULL REFERENCES tenants (slug) ON UPDATE CASCADE ON DELETE CASCADE,
    grantee_kind text NOT NULL CONSTRAINT memberships_grantee_kind CHECK (grantee_kind IN ('user', 'group')),
    grantee      text NOT NULL CONSTRAINT memberships_grantee_length CHECK (char_length(grantee) BETWEEN 1 AND 255),
    role         text NOT NULL CONSTRAINT memberships_role CHECK (role IN ('viewer', 'operator', 'admin')),
    granted_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_pkey PRIMARY KEY (tenant, grantee_kind, grantee)
);

CREATE INDEX memberships_grantee ON memberships (grantee_kind, grantee);

CREATE TABLE global_roles (
    grantee_kind text NOT NULL CONSTRAINT global_roles_grantee_kind CHECK (grantee_kind IN ('user', 'group')),
    grantee      text NOT NULL CONSTRAINT global_roles_grantee_length CHECK (char_length(grantee) BETWEEN 1 AND 255),
    role         text NOT NULL CONSTRAINT global_roles_role CHECK (role IN ('platform-admin', 'auditor')),
    granted_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT global_roles_pkey PRIMARY KEY (grantee_kind, grantee, role)
);
