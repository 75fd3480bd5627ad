//! The deployments list: filters, a page of rows with status and progress, and paging links;
//! and the form that creates a HelmRelease or Kustomization.

use super::bulk::{BulkBar, SelectPage, SelectRow, Selection};
use crate::error::AppError;
use crate::routes::encode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use model::deployment::{Deployment, DeploymentFilter, DeploymentPage, DeploymentStatus};
use model::operation::Answered;

/// Rows per page.
const PAGE: usize = 25;

/// One page of the deployments the caller may see.
#[server(prefix = "/api", endpoint = "list_deployments", input = leptos::server_fn::codec::Json)]
pub async fn list_deployments(filter: DeploymentFilter) -> Result<DeploymentPage, AppError> {
    let (ctx, service) = crate::server::caller().await?;
    Ok(service.list_deployments(&ctx, &filter).await?)
}

/// The new-deployment form's fields, as typed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DeploymentForm {
    name: String,
    namespace: String,
    kind: String,
    chart: String,
    chart_version: String,
    source: String,
    source_kind: String,
    path: String,
    target_namespace: String,
    package_id: String,
    values: String,
}

/// Creates a HelmRelease or Kustomization from the form's fields, or installs an uploaded
/// package as a Helm release; an install still running after a moment answers with its
/// operation.
#[server(prefix = "/api", endpoint = "create_deployment")]
pub async fn create_deployment(form: DeploymentForm) -> Result<Answered<Deployment>, AppError> {
    let DeploymentForm {
        name,
        namespace,
        kind,
        chart,
        chart_version,
        source,
        source_kind,
        path,
        target_namespace,
        package_id,
        values,
    } = form;
    let (ctx, service) = crate::server::caller().await?;
    let values: serde_json::Map<String, serde_json::Value> = if values.trim().is_empty() {
        serde_json::Map::new()
    } else {
        serde_yaml::from_str(&values).map_err(|e| {
            control::Error::invalid(
                "values",
                format!("not a YAML mapping ({e}); fix it and submit again"),
            )
        })?
    };
    let mut extensions = std::collections::BTreeMap::new();
    for (key, value) in [
        ("flux.type", kind),
        ("flux.chart", chart),
        ("flux.chartVersion", chart_version),
        ("flux.sourceRef", source),
        ("flux.sourceKind", source_kind),
        ("flux.path", path),
        ("flux.targetNamespace", target_namespace),
    ] {
        if !value.trim().is_empty() {
            extensions.insert(
                key.to_owned(),
                serde_json::Value::String(value.trim().to_owned()),
            );
        }
    }
    let request = model::deployment::DeploymentRequest {
        name: name.trim().to_owned(),
        namespace: namespace.trim().to_owned(),
        values,
        labels: Default::default(),
        extensions: if package_id.trim().is_empty() {
            extensions
        } else {
            Default::default()
        },
        package_id: Some(package_id.trim().to_owned()).filter(|p| !p.is_empty()),
        adapter: None,
    };
    let namespace = crate::server::namespace(&request.namespace)?;
    let change = service.create_change(&namespace, &request)?;
    crate::server::change_for_page(&ctx, &service, change, |outcome| outcome.into_deployment())
        .await
}

/// The page sizes offered.
const SIZES: [usize; 4] = [25, 100, 500, 1000];

/// The deployments page.
#[component]
pub fn Deployments() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| DeploymentFilter {
            namespace: q.get("namespace").filter(|v| !v.is_empty()),
            status: q.get("status").and_then(|s| parse_status(&s)),
            kind: q.get("kind").filter(|v| !v.is_empty()),
            text: q.get("text").filter(|v| !v.is_empty()),
            limit: Some(
                q.get("limit")
                    .and_then(|l| l.parse().ok())
                    .filter(|l| SIZES.contains(l))
                    .unwrap_or(PAGE),
            ),
            offset: q.get("offset").and_then(|o| o.parse().ok()),
            ..DeploymentFilter::default()
        })
    };
    let live = crate::live::use_live(|_| true);
    // Fetched again when the filter changes; live changes update the rows in place instead.
    let page = Resource::new(filter, list_deployments);
    let field = move |key: &'static str| move || query.with(|q| q.get(key).unwrap_or_default());
    // Outside the transition, so a selection survives live refreshes and paging.
    let selected: Selection = RwSignal::new(Default::default());
    view! {
        <Title text="Deployments" />
        <div class="title-row">
            <h1>"Deployments"</h1>
            <crate::live::LiveMarker live />
            <A href="/deployments/new" attr:class="button">"New deployment"</A>
        </div>
        <form method="get" action="/deployments" class="filters" role="search">
            <input type="search" name="text" placeholder="Name, namespace, chart or source" prop:value=field("text") aria-label="Search" />
            <input type="text" name="namespace" placeholder="Namespace" prop:value=field("namespace") aria-label="Namespace" />
            <select name="status" prop:value=field("status") aria-label="Status">
                <option value="">"Any status"</option>
                <option value="deployed">"Deployed"</option>
                <option value="deploying">"Deploying"</option>
                <option value="failed">"Failed"</option>
                <option value="pending">"Pending"</option>
            </select>
            <select name="kind" prop:value=field("kind") aria-label="Kind">
                <option value="">"Any kind"</option>
                <option value="HelmRelease">"HelmRelease"</option>
                <option value="Kustomization">"Kustomization"</option>
                <option value="Release">"Helm release"</option>
            </select>
            <select name="limit" prop:value=move || filter().limit.unwrap_or(PAGE).to_string() aria-label="Rows per page">
                {SIZES.map(|n| view! { <option value=n.to_string()>{format!("{n} per page")}</option> }).to_vec()}
            </select>
            <button type="submit">"Filter"</button>
        </form>
        <BulkBar selected />
        <Transition fallback=|| view! { <p class="empty">"Loading deployments…"</p> }>
            {move || page.get().map(|result| match result {
                Ok(page) => view! { <DeploymentTable page filter=filter() selected changes=live.changes /> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.0.message}</p> }.into_any(),
            })}
        </Transition>
    }
}

fn parse_status(text: &str) -> Option<DeploymentStatus> {
    [
        DeploymentStatus::Pending,
        DeploymentStatus::Deploying,
        DeploymentStatus::Deployed,
        DeploymentStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
}

/// One page of rows. A live change fetches the page again and only rows that changed are
/// drawn again (rows are keyed by id and resource version), so a 1,000-row page stays put.
#[component]
fn DeploymentTable(
    page: DeploymentPage,
    filter: DeploymentFilter,
    selected: Selection,
    changes: ReadSignal<u64>,
) -> impl IntoView {
    let size = filter.limit.unwrap_or(PAGE);
    let current = RwSignal::new(page);
    let again = filter.clone();
    let seen = changes.get_untracked();
    let refreshed = Resource::new(
        move || changes.get(),
        move |n| {
            let filter = again.clone();
            async move {
                match n == seen {
                    true => None,
                    false => list_deployments(filter).await.ok(),
                }
            }
        },
    );
    // An effect, not a read in the view: the page's transition is not involved.
    Effect::new(move |_| {
        if let Some(Some(page)) = refreshed.get() {
            current.set(page);
        }
    });
    let offset = filter.offset.unwrap_or(0);
    let link = move |offset: usize| {
        let mut params = vec![format!("offset={offset}"), format!("limit={size}")];
        for (key, value) in [
            ("text", filter.text.clone()),
            ("namespace", filter.namespace.clone()),
            ("kind", filter.kind.clone()),
            ("status", filter.status.map(|s| s.as_str().to_owned())),
        ] {
            if let Some(value) = value {
                params.push(format!("{key}={}", encode(&value)));
            }
        }
        format!("/deployments?{}", params.join("&"))
    };
    let link = StoredValue::new(link);
    let ids = move || current.with(|p| p.items.iter().map(|d| d.id.clone()).collect::<Vec<_>>());
    // Each part reads only what it shows, so a live change redraws the changed rows alone.
    let empty = Memo::new(move |_| current.with(|p| p.items.is_empty()));
    let summary = move || {
        current.with(|p| format!("{}–{} of {}", offset + 1, offset + p.items.len(), p.total))
    };
    let stale = move || {
        current.with(|p| p.as_of.clone()).map(|at| view! {
            <p class="notice stale" role="status" data-testid="stale">
                "Data as of " {at.replace('T', " ")}
                ": the connection to the cluster is being re-established, so this list may be out of date."
            </p>
        })
    };
    let pager = move || {
        let (count, total) = current.with(|p| (p.items.len(), p.total));
        let previous = (offset > 0).then(|| link.with_value(|l| l(offset.saturating_sub(size))));
        let next = (offset + count < total).then(|| link.with_value(|l| l(offset + size)));
        view! {
            {previous.map(|href| view! { <a href=href>"Previous"</a> })}
            {next.map(|href| view! { <a href=href>"Next"</a> })}
        }
    };
    move || {
        if empty.get() {
            return view! { <p class="empty">"No deployments match. Clear the filters, or create one."</p> }.into_any();
        }
        view! {
            {stale}
            <p class="muted" data-testid="deployment-count">{summary}</p>
            <table class="table rows" data-testid="deployments-table">
                <thead>
                    <tr><th>{move || view! { <SelectPage ids=ids() selected /> }}</th><th>"Name"</th><th>"Namespace"</th><th>"Kind"</th><th>"Status"</th><th>"Revision"</th><th>"Source"</th></tr>
                </thead>
                <tbody>
                    <For
                        each=move || current.get().items
                        key=|d| (d.id.clone(), d.resource_version.clone())
                        children=move |d| view! { <Row d selected /> }
                    />
                </tbody>
            </table>
            <nav class="pager" aria-label="Pages">{pager}</nav>
        }
        .into_any()
    }
}

#[component]
fn Row(d: Deployment, selected: Selection) -> impl IntoView {
    view! {
        <tr data-id=d.id.clone()>
            <td><SelectRow id=d.id.clone() selected /></td>
            <td><A href=format!("/deployments/{}", d.id)>{d.name.clone()}</A></td>
            <td>{d.namespace.clone()}</td>
            <td>{d.kind.to_string()}</td>
            <td title=d.state.suspend_reason.clone().map(|r| format!("Suspended: {r}"))><StatusBadge status=d.state.status suspended=d.state.suspended progress=d.state.progress /></td>
            <td><code>{d.revision.clone().unwrap_or_default()}</code></td>
            <td>{d.source.clone().unwrap_or_default()}</td>
        </tr>
    }
}

/// A status with its progress, and whether reconciliation is suspended.
#[component]
pub fn StatusBadge(status: DeploymentStatus, suspended: bool, progress: u8) -> impl IntoView {
    let title = format!("{status}, {progress}%");
    view! {
        <span class=format!("badge status-{status}") title=title>{status.as_str()}</span>
        {suspended.then(|| view! { <span class="badge suspended">"suspended"</span> })}
    }
}

/// The form that creates a deployment; what was typed stays when the server refuses it.
#[component]
pub fn NewDeployment() -> impl IntoView {
    let create = ServerAction::<CreateDeployment>::new();
    let navigate = use_navigate();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(Answered::Done(created))) => {
            navigate(&format!("/deployments/{}", created.id), Default::default());
        }
        Some(Ok(Answered::Running(operation))) => {
            navigate(
                &super::operations::operation_href(&operation),
                Default::default(),
            );
        }
        _ => {}
    });
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.0.message)
    };
    view! {
        <Title text="New deployment" />
        <h1>"New deployment"</h1>
        <ActionForm action=create attr:class="form" attr:data-testid="new-deployment">
            <label>"Name" <input name="form[name]" required placeholder="nginx" /></label>
            <label>"Namespace" <input name="form[namespace]" required placeholder="team-a" /></label>
            <label>"Type"
                <select name="form[kind]">
                    <option value="helmrelease">"HelmRelease (a chart)"</option>
                    <option value="kustomization">"Kustomization (manifests from a source)"</option>
                </select>
            </label>
            <label>"Uploaded package (a Helm release; leave the Flux fields empty)" <input name="form[package_id]" placeholder="my-cnf-1.0.0" /></label>
            <label>"Source" <input name="form[source]" placeholder="Name of the HelmRepository or GitRepository" /></label>
            <label>"Source kind" <input name="form[source_kind]" placeholder="HelmRepository, GitRepository or OCIRepository" /></label>
            <label>"Chart (HelmRelease)" <input name="form[chart]" placeholder="nginx" /></label>
            <label>"Chart version (HelmRelease)" <input name="form[chart_version]" placeholder="13.2.0 or a range" /></label>
            <label>"Path (Kustomization)" <input name="form[path]" placeholder="./deploy/production" /></label>
            <label>"Target namespace" <input name="form[target_namespace]" placeholder="optional" /></label>
            <label>"Values (YAML, HelmRelease)" <textarea name="form[values]" rows="8" placeholder="replicaCount: 2"></textarea></label>
            <button type="submit" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create" }}
            </button>
        </ActionForm>
        {move || error().map(|message| view! { <p class="error" role="alert" data-testid="form-error">{message}</p> })}
    }
}
