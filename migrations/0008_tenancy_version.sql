-- One number that changes whenever namespace ownership changes, so every replica can tell in
-- one tiny query whether its shared tenancy snapshot is still current.
CREATE TABLE tenancy_version (
    id       boolean PRIMARY KEY DEFAULT true CONSTRAINT tenancy_version_one_row CHECK (id),
    version  bigint NOT NULL
);
INSERT INTO tenancy_version (id, version) VALUES (true, 0);

CREATE FUNCTION bump_tenancy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenancy_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenant_namespaces_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_namespaces
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tenancy_version();
