//! The colour scheme: the operating system's by default (`prefers-color-scheme`), or a light or
//! dark choice remembered per browser in a cookie. The server reads the cookie too, so a page
//! arrives in the chosen colours instead of flashing the other ones before hydration.

use leptos::prelude::*;

/// The cookie that remembers a browser's choice.
const COOKIE: &str = "pilothouse_theme";

/// A browser's choice of colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Whatever the operating system prefers.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// Every choice, in the order the menu offers them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The value kept in the cookie and the menu.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// What the menu says.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System theme",
            Theme::Light => "Light theme",
            Theme::Dark => "Dark theme",
        }
    }

    /// Reads a stored value; anything else is the default.
    pub fn parse(value: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .unwrap_or_default()
    }

    /// The `data-theme` attribute on `<html>`: none follows the operating system.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    /// The choice a `Cookie` header carries.
    pub fn from_cookie_header(header: &str) -> Theme {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| Theme::parse(value))
            .unwrap_or_default()
    }

    /// This browser's choice: from the request while rendering on the server, from
    /// `document.cookie` in the browser, so both render the same.
    pub fn current() -> Theme {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| {
                    parts
                        .headers
                        .get(http::header::COOKIE)
                        .and_then(|v| v.to_str().ok())
                        .map(Theme::from_cookie_header)
                })
                .unwrap_or_default()
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            use wasm_bindgen::JsCast;
            document()
                .dyn_into::<web_sys::HtmlDocument>()
                .ok()
                .and_then(|d| d.cookie().ok())
                .map(|c| Theme::from_cookie_header(&c))
                .unwrap_or_default()
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            Theme::System
        }
    }

    /// Applies the choice to the page and remembers it for a year (browser only).
    pub fn apply_and_remember(self) {
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            use wasm_bindgen::JsCast;
            let document = document();
            if let Some(root) = document.document_element() {
                let _ = match self.attribute() {
                    Some(value) => root.set_attribute("data-theme", value),
                    None => root.remove_attribute("data-theme"),
                };
            }
            if let Ok(html) = document.dyn_into::<web_sys::HtmlDocument>() {
                let _ = html.set_cookie(&format!(
                    "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    self.as_str()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_header_is_read_and_anything_else_is_the_system_theme() {
        assert_eq!(
            Theme::from_cookie_header("a=b; pilothouse_theme=dark; c=d"),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookie_header("pilothouse_theme=light"),
            Theme::Light
        );
        assert_eq!(
            Theme::from_cookie_header("pilothouse_theme=<script>"),
            Theme::System
        );
        assert_eq!(Theme::from_cookie_header(""), Theme::System);
        assert_eq!(Theme::System.attribute(), None);
    }
}
