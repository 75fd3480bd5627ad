//! `pilothouse admin …`: tenancy administration for scripts and bootstrap. Every command runs
//! the same `Service` method as the UI and REST, authorized for the acting subject (`--as`,
//! default `access.bootstrapAdmin`) and audited with channel `cli`. Namespace identities in
//! the cluster follow within minutes: the server's repair pass makes and removes them.

use crate::config::Config;
use anyhow::Context;
use control::access::{GlobalRole, Grantee, Principal, TenantRole};
use control::audit::Channel;
use control::{RequestContext, Service};
use model::tokens::NewToken;
use std::io::Write;

/// `pilothouse admin [--as SUBJECT] <command>`.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// The OIDC subject to act as (default: access.bootstrapAdmin); the policy applies to it
    /// as to a signed-in user.
    #[arg(long = "as", value_name = "SUBJECT")]
    pub actor: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The administration commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCommand {
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Namespace ownership.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Roles on a tenant.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Global roles (platform-admin, auditor).
    #[command(subcommand)]
    Role(RoleCommand),
    /// API tokens, for scripts that cannot sign in with a browser.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `pilothouse admin token …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token for the acting subject (or, with --service, for one of a tenant's
    /// service principals) and print it with its secret, as JSON. The secret is not shown
    /// again.
    Create {
        /// What it is for.
        name: String,
        /// Narrow it to one tenant (needed with --service).
        #[arg(long)]
        tenant: Option<String>,
        /// Make it for this service principal of --tenant.
        #[arg(long)]
        service: Option<String>,
        /// Narrow it to reads.
        #[arg(long)]
        read_only: bool,
        /// Days until it expires (default: the longest allowed).
        #[arg(long)]
        days: Option<u32>,
    },
}

/// `pilothouse admin tenant …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (its slug is a DNS label).
    Create {
        /// The slug.
        slug: String,
        /// The display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// List tenants with their namespaces, as JSON.
    List,
    /// Change a tenant's display name.
    Rename {
        /// The slug.
        slug: String,
        /// The new display name.
        name: String,
    },
    /// Delete a tenant that owns no namespaces.
    Delete {
        /// The slug.
        slug: String,
    },
    /// Allow (`on`) or forbid (`off`) what the tenant applies to create Flux objects itself.
    NestedFlux {
        /// The slug.
        slug: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        setting: String,
    },
}

/// `pilothouse admin namespace …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum NamespaceCommand {
    /// Give a namespace to a tenant.
    Assign {
        /// The namespace.
        namespace: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Take it from the tenant that owns it now.
        #[arg(long = "move")]
        take_over: bool,
    },
    /// Take a namespace from its tenant.
    Unassign {
        /// The namespace.
        namespace: String,
        /// Only if this tenant owns it.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// A user or a group, exactly one.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// A user, by OIDC subject.
    #[arg(long)]
    pub user: Option<String>,
    /// An OIDC group.
    #[arg(long)]
    pub group: Option<String>,
}

impl Who {
    fn grantee(&self) -> Grantee {
        match (&self.user, &self.group) {
            (Some(user), _) => Grantee::User(user.clone()),
            (None, group) => Grantee::Group(group.clone().unwrap_or_default()),
        }
    }
}

/// `pilothouse admin member …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MemberCommand {
    /// Give a user or group a role on a tenant (replacing the role they had there).
    Add {
        /// The tenant.
        tenant: String,
        /// The user or group.
        #[command(flatten)]
        who: Who,
        /// viewer, operator or admin.
        #[arg(long)]
        role: TenantRole,
    },
    /// Take a membership away.
    Remove {
        /// The tenant.
        tenant: String,
        /// The user or group.
        #[command(flatten)]
        who: Who,
    },
    /// List a tenant's memberships, as JSON.
    List {
        /// The tenant.
        tenant: String,
    },
}

/// `pilothouse admin role …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RoleCommand {
    /// Grant platform-admin or auditor.
    Grant {
        /// platform-admin or auditor.
        role: GlobalRole,
        /// The user or group.
        #[command(flatten)]
        who: Who,
    },
    /// Revoke a global role (never the last platform-admin).
    Revoke {
        /// platform-admin or auditor.
        role: GlobalRole,
        /// The user or group.
        #[command(flatten)]
        who: Who,
    },
    /// List global role grants, as JSON.
    List,
}

/// Runs one command against the configured database.
pub async fn run(config: &Config, args: &AdminArgs) -> anyhow::Result<()> {
    let pool = crate::connect(config).await?;
    let service = Service::new(pool)
        .with_token_lifetime(config.tokens.max_lifetime_days)
        .with_token_cap(config.tokens.max_live_per_user)
        .with_reserved_namespaces(config.reserved_namespaces());
    crate::bootstrap(&service, config).await?;
    let actor = args
        .actor
        .clone()
        .or_else(|| config.access.bootstrap_admin.clone())
        .context("say who acts: --as SUBJECT, or set access.bootstrapAdmin")?;
    let ctx = cli_context(config, &actor);
    if let Some(listed) = execute(&service, &ctx, &args.command).await? {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &listed)?;
        writeln!(stdout)?;
    }
    Ok(())
}

/// The request context of a command run by `subject`.
pub fn cli_context(config: &Config, subject: &str) -> RequestContext {
    RequestContext {
        principal: Principal {
            issuer: config.oidc.issuer.clone().unwrap_or_default(),
            subject: subject.to_owned(),
            email: None,
            name: None,
            groups: Vec::new(),
            narrowing: None,
        },
        channel: Channel::Cli,
        request_id: None,
        client_addr: None,
        credential: None,
    }
}

/// Runs `command` as `ctx`; returns what a list or a create shows, nothing for other changes.
pub async fn execute(
    service: &Service,
    ctx: &RequestContext,
    command: &AdminCommand,
) -> control::Result<Option<serde_json::Value>> {
    match command {
        AdminCommand::Tenant(TenantCommand::Create { slug, name }) => {
            let name = name.as_deref().unwrap_or(slug);
            return Ok(Some(json(service.create_tenant(ctx, slug, name).await?)));
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            return Ok(Some(json(service.list_tenants(ctx).await?)));
        }
        AdminCommand::Member(MemberCommand::List { tenant }) => {
            return Ok(Some(json(service.list_memberships(ctx, tenant).await?)));
        }
        AdminCommand::Role(RoleCommand::List) => {
            return Ok(Some(json(service.list_global_roles(ctx).await?)));
        }
        AdminCommand::Token(TokenCommand::Create {
            name,
            tenant,
            service: principal,
            read_only,
            days,
        }) => {
            let request = NewToken {
                name: name.clone(),
                expires_in_days: *days,
                tenant: tenant.clone(),
                read_only: *read_only,
                service: principal.clone(),
            };
            return Ok(Some(json(service.create_token(ctx, &request).await?)));
        }
        AdminCommand::Tenant(TenantCommand::Rename { slug, name }) => {
            service.rename_tenant(ctx, slug, name).await?;
        }
        AdminCommand::Tenant(TenantCommand::Delete { slug }) => {
            service.delete_tenant(ctx, slug).await?;
        }
        AdminCommand::Tenant(TenantCommand::NestedFlux { slug, setting }) => {
            let tenant = service.set_nested_flux(ctx, slug, setting == "on").await?;
            return Ok(Some(json(tenant)));
        }
        AdminCommand::Namespace(NamespaceCommand::Assign {
            namespace,
            tenant,
            take_over: true,
        }) => service.move_namespace(ctx, namespace, tenant).await?,
        AdminCommand::Namespace(NamespaceCommand::Assign {
            namespace, tenant, ..
        }) => service.assign_namespace(ctx, namespace, tenant).await?,
        AdminCommand::Namespace(NamespaceCommand::Unassign { namespace, tenant }) => {
            service
                .unassign_namespace(ctx, namespace, tenant.as_deref())
                .await?;
        }
        AdminCommand::Member(MemberCommand::Add { tenant, who, role }) => {
            service
                .add_membership(ctx, tenant, &who.grantee(), *role)
                .await?;
        }
        AdminCommand::Member(MemberCommand::Remove { tenant, who }) => {
            service
                .remove_membership(ctx, tenant, &who.grantee())
                .await?;
        }
        AdminCommand::Role(RoleCommand::Grant { role, who }) => {
            service
                .grant_global_role(ctx, &who.grantee(), *role)
                .await?;
        }
        AdminCommand::Role(RoleCommand::Revoke { role, who }) => {
            service
                .revoke_global_role(ctx, &who.grantee(), *role)
                .await?;
        }
    }
    Ok(None)
}

fn json(value: impl serde::Serialize) -> serde_json::Value {
    // Our own types always serialize.
    serde_json::to_value(value).unwrap_or_default()
}
