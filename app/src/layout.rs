//! The frame around every page: header with navigation, and the footer.

use crate::session::UserMenu;
use crate::theme::Theme;
use leptos::prelude::*;
use leptos_router::components::A;
use model::build::{PRODUCT, VERSION};

/// The sections in the main navigation, in order.
const SECTIONS: [(&str, &str); 8] = [
    ("/deployments", "Deployments"),
    ("/graph", "Graph"),
    ("/packages", "Packages"),
    ("/sources", "Sources"),
    ("/images", "Images"),
    ("/notifications", "Notifications"),
    ("/audit", "Audit"),
    ("/admin", "Admin"),
];

/// Product name, main navigation and the theme menu.
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

/// Chooses the colours: the operating system's, light or dark; the choice is remembered per
/// browser. It only responds once the page has hydrated.
#[component]
fn ThemeToggle() -> impl IntoView {
    let (theme, set_theme) = signal(Theme::current());
    view! {
        <select
            class="theme-toggle"
            data-testid="theme-toggle"
            aria-label="Colour theme"
            on:change=move |ev| {
                let chosen = Theme::parse(&event_target_value(&ev));
                chosen.apply_and_remember();
                set_theme.set(chosen);
            }
        >
            {Theme::ALL
                .into_iter()
                .map(|t| {
                    view! {
                        <option value=t.as_str() selected=move || theme.get() == t>
                            {t.label()}
                        </option>
                    }
                })
                .collect_view()}
        </select>
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
