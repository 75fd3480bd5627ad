-- Every change to who may do what is announced on the channel `pilothouse_access` when its
-- transaction commits, so that each replica drops the grants and token principals it keeps
-- in memory at once. A token's use (last_used_at) is not such a change.
CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pilothouse_access', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER global_roles_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON global_roles
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER tenant_namespaces_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_namespaces
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER tenants_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER api_tokens_notify
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF revoked_at, expires_at, tenant, read_only, subject ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
