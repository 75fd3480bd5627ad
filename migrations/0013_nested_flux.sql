-- A tenant whose own content may write Flux objects (nested Kustomizations and HelmReleases).
-- Off by default: the tenant identity then cannot plant a Flux object that the controllers
-- would apply with their own rights. Only a platform-admin turns it on, audited.
ALTER TABLE tenants ADD COLUMN nested_flux boolean NOT NULL DEFAULT false;

-- The tenancy snapshot carries the setting, so changing it moves the tenancy version.
CREATE TRIGGER tenants_nested_flux_version
    AFTER UPDATE OF nested_flux ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tenancy_version();
