//! Durations as Flux and Helm settings write them.

use std::time::Duration;

/// Parses a Go-style duration as Flux writes them: `90s`, `5m`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let wrong = || format!("{text:?} is not a duration such as 30s, 5m or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(wrong());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(wrong)?;
        if digits == 0 || digits > 9 {
            return Err(wrong());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| wrong())?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else if rest.starts_with('s') {
            (Duration::from_secs(1), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(60), 1)
        } else if rest.starts_with('h') {
            (Duration::from_secs(3600), 1)
        } else {
            return Err(wrong());
        };
        total += unit * u32::try_from(number).map_err(|_| wrong())?;
        rest = &rest[len..];
    }
    Ok(total)
}
