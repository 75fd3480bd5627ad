//! Actions the caller may not take stay visible: disabled, with the policy's reason one
//! click away.

use leptos::prelude::*;
use model::action::Action;

/// What the caller may do to one object, by action name (`deployment.scale`, …).
pub type Permissions = std::collections::BTreeMap<String, model::tenancy::Explanation>;

/// Whether the caller may run `action` (an action the server said nothing about is left to
/// the server to decide when it is submitted).
pub fn may(permissions: &Permissions, action: Action) -> bool {
    permissions.get(action.as_str()).is_none_or(|e| e.allowed)
}

/// Beside a disabled button: why it is disabled, in the policy's words.
#[component]
pub fn Why(permissions: Permissions, action: Action) -> impl IntoView {
    permissions
        .get(action.as_str())
        .filter(|e| !e.allowed)
        .map(|e| {
            view! {
                <details class="why" data-testid="why">
                    <summary>"why?"</summary>
                    <span>{e.reason.clone()}</span>
                </details>
            }
        })
}
