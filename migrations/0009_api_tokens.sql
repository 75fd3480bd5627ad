-- API tokens for automation (personal and service tokens). Only a SHA-256 hash of the secret
-- is kept; the secret is shown once, when the token is made.

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    -- The principal the token acts as: its maker, or a tenant's service principal.
    subject      text NOT NULL CONSTRAINT api_tokens_subject_length CHECK (char_length(subject) BETWEEN 1 AND 255),
    -- Set for service tokens: the tenant whose service principal it is.
    service_of   text REFERENCES tenants (slug) ON UPDATE CASCADE ON DELETE CASCADE,
    name         text NOT NULL CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    secret_hash  bytea NOT NULL UNIQUE,
    -- The narrowing: the only tenant the token reaches, and whether it may only read.
    tenant       text REFERENCES tenants (slug) ON UPDATE CASCADE ON DELETE CASCADE,
    read_only    boolean NOT NULL DEFAULT false,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_tokens_service_narrowed CHECK (service_of IS NULL OR tenant = service_of)
);

CREATE INDEX api_tokens_subject ON api_tokens (subject);
CREATE INDEX api_tokens_service_of ON api_tokens (service_of) WHERE service_of IS NOT NULL;
