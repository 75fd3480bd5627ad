//! The section pages. Each says what it will hold; their content arrives with its issue.

use leptos::prelude::*;
use leptos_meta::Title;

/// A section page that has no content source connected yet.
#[component]
fn Section(title: &'static str, empty: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="empty">{empty}</p>
    }
}

/// Tenants, namespaces and memberships.
#[component]
pub fn Admin() -> impl IntoView {
    view! { <Section title="Admin" empty="No tenants are defined yet." /> }
}
