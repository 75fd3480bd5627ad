//! The cluster banner: says plainly when the cluster is the sandbox with simulated Flux.

use crate::error::AppError;
use leptos::prelude::*;

/// The banner text the server was configured with, if any (provided as context on the server).
#[derive(Debug, Clone, Default)]
pub struct BannerText(pub Option<String>);

/// The configured banner text.
#[server(prefix = "/api", endpoint = "cluster_banner")]
pub async fn cluster_banner() -> Result<Option<String>, AppError> {
    Ok(use_context::<BannerText>().and_then(|banner| banner.0))
}

/// A strip above the header when a banner is configured.
#[component]
pub fn Banner() -> impl IntoView {
    let text = Resource::new(|| (), |()| cluster_banner());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                text.get()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|text| view! { <div class="cluster-banner" role="status" data-testid="cluster-banner">{text}</div> })
            }}
        </Suspense>
    }
}
