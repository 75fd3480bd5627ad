//! The frame around every page: header with navigation, and the footer.

use crate::session::UserMenu;
use leptos::prelude::*;
use leptos_router::components::A;
use model::build::{PRODUCT, VERSION};

/// The sections in the main navigation, in order.
const SECTIONS: [(&str, &str); 6] = [
    ("/deployments", "Deployments"),
    ("/graph", "Graph"),
    ("/packages", "Packages"),
    ("/sources", "Sources"),
    ("/audit", "Audit"),
    ("/admin", "Admin"),
];

/// Product name, main navigation and the theme switch.
#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="header">
            <A href="/" attr:class="brand">
                {PRODUCT}
            </A>
            <nav class="nav" aria-label="Main">
                {SECTIONS
                    .iter()
                    .map(|(href, label)| view! { <A href=*href>{*label}</A> })
                    .collect_view()}
            </nav>
            <crate::routes::OperationsIndicator />
            <ThemeToggle />
            <UserMenu />
        </header>
    }
}

/// Switches between light and dark colours; it only responds once the page has hydrated.
#[component]
fn ThemeToggle() -> impl IntoView {
    let (dark, set_dark) = signal(false);
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let theme = if dark.get() { "dark" } else { "light" };
            let _ = root.set_attribute("data-theme", theme);
        }
    });
    view! {
        <button
            class="theme-toggle"
            type="button"
            data-testid="theme-toggle"
            aria-pressed=move || dark.get().to_string()
            on:click=move |_| set_dark.update(|d| *d = !*d)
        >
            {move || if dark.get() { "Light theme" } else { "Dark theme" }}
        </button>
    }
}

/// Version line at the bottom of every page.
#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="footer">
            <span data-testid="version">{format!("{PRODUCT} {VERSION}")}</span>
        </footer>
    }
}
