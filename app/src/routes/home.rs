//! The landing page: what each section is for.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The landing page.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="lead">
            "Pilothouse runs your Flux CD and Helm deployments: see their state, change them, "
            "and keep a tamper-evident record of who did what."
        </p>
        <ul class="cards">
            <li>
                <A href="/deployments">"Deployments"</A>
                " — HelmReleases, Kustomizations and Helm releases in your namespaces."
            </li>
            <li>
                <A href="/packages">"Packages"</A>
                " — uploaded charts and charts from your repositories."
            </li>
            <li>
                <A href="/sources">"Sources"</A>
                " — Git, Helm and OCI repositories that Flux fetches from."
            </li>
            <li>
                <A href="/audit">"Audit"</A>
                " — every operation, who did it and what came of it."
            </li>
            <li>
                <A href="/admin">"Admin"</A>
                " — tenants, their namespaces and who may do what."
            </li>
        </ul>
    }
}
