//! Pilothouse's pages: the HTML shell, the layout and one module per route.

pub mod banner;
pub mod error;
mod layout;
pub mod live;
mod routes;
#[cfg(feature = "ssr")]
mod server;
pub mod session;
pub mod theme;

/// The API's OpenAPI document, which the server provides to the API reference page.
#[cfg(feature = "ssr")]
pub use routes::ApiDescription;

use layout::{Footer, Header};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The live event stream the pages follow.
pub const LIVE_STREAM_PATH: &str = "/o2dms/v1/events/stream";

/// The name of the wasm bundle and stylesheet under the site's `pkg/` directory.
pub const OUTPUT_NAME: &str = "pilothouse";

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme::Theme::current().attribute()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // With fingerprinted assets (hash.txt), the hashed name; otherwise the plain one.
                <HashedStylesheet options=options.clone() id="pilothouse" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: layout around the routed pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let (hydrated, set_hydrated) = signal(false);
    // Effects run only in the browser, so this marks the moment hydration finished.
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <Title formatter=|page: String| format!("{page} · Pilothouse") />
        <Router>
            <div class="shell" data-hydrated=move || hydrated.get().to_string()>
                <banner::Banner />
                <Header />
                <main class="main">
                    <Routes fallback=routes::NotFound>
                        <Route path=path!("/") view=routes::Home />
                        <Route path=path!("/deployments") view=routes::Deployments />
                        <Route path=path!("/deployments/new") view=routes::NewDeployment />
                        <Route path=path!("/deployments/:id") view=routes::DeploymentPage />
                        <Route path=path!("/graph") view=routes::GraphPage />
                        <Route path=path!("/operations") view=routes::Operations />
                        <Route path=path!("/operations/:id") view=routes::OperationPage />
                        <Route path=path!("/packages") view=routes::Packages />
                        <Route path=path!("/sources") view=routes::Sources />
                        <Route path=path!("/sources/new") view=routes::NewSourcePage />
                        <Route path=path!("/images/new") view=routes::NewImagePolicyPage />
                        <Route path=path!("/notifications/new") view=routes::NewAlertPage />
                        <Route path=path!("/sources/:namespace/:kind/:name") view=routes::ToolkitPage />
                        <Route path=path!("/images") view=routes::Images />
                        <Route path=path!("/images/:namespace/:kind/:name") view=routes::ToolkitPage />
                        <Route path=path!("/notifications") view=routes::Notifications />
                        <Route path=path!("/notifications/:namespace/:kind/:name") view=routes::ToolkitPage />
                        <Route path=path!("/audit") view=routes::Audit />
                        <Route path=path!("/admin") view=routes::Admin />
                        <Route path=path!("/admin/flux") view=routes::FluxCheckPage />
                        <Route path=path!("/tokens") view=routes::Tokens />
                        <Route path=path!("/api-docs") view=routes::ApiDocs />
                    </Routes>
                </main>
                <Footer />
            </div>
        </Router>
    }
}
