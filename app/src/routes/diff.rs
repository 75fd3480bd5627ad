//! A unified diff, coloured by line: what is added, removed and kept.

use leptos::prelude::*;

/// Shows `diff -u` text; `testid` names it for the end-to-end walks.
#[component]
pub fn Diff(
    /// The unified diff.
    text: String,
    /// The element's `data-testid`.
    testid: &'static str,
) -> impl IntoView {
    let lines: Vec<(&'static str, String)> = text
        .lines()
        .map(|line| {
            let class = if line.starts_with("+++") || line.starts_with("---") {
                "file"
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else if line.starts_with("@@") {
                "hunk"
            } else {
                "same"
            };
            (class, format!("{line}\n"))
        })
        .collect();
    view! {
        <pre class="diff" data-testid=testid>
            {lines.into_iter().map(|(class, line)| view! { <span class=class>{line}</span> }).collect_view()}
        </pre>
    }
}
