//! How times, durations, states and values read on the pages.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// `2024-05-01 12:00:03` (UTC, as the server keeps it); empty for none.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `1h 2m`, `3m 4s`, `5.2s`; an unfinished span runs until now. Empty when it has not started.
pub fn duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    let Some(start) = start else {
        return String::new();
    };
    let end = end.unwrap_or_else(Utc::now);
    seconds((end - start).num_milliseconds().max(0) as f64 / 1000.0)
}

pub fn seconds(total: f64) -> String {
    if total < 60.0 {
        return format!("{total:.1}s");
    }
    let whole = total as u64;
    let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60);
    if hours > 0 {
        format!("{hours}h {minutes}m")
    } else {
        format!("{minutes}m {secs}s")
    }
}

/// The CSS class of a state name (`SUCCEEDED` -> `st-succeeded`).
pub fn state_class(state: &str) -> String {
    format!("st-{}", state.to_ascii_lowercase())
}

/// A parameter value as a person reads it: strings bare, everything else as compact JSON.
pub fn value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A number without noise: integers bare, others to at most 6 significant decimals.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// At most `limit` characters, with an ellipsis when cut.
pub fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(5.25), "5.2s");
        assert_eq!(seconds(125.0), "2m 5s");
        assert_eq!(seconds(7260.0), "2h 1m");
    }

    #[test]
    fn numbers_drop_trailing_noise() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.9777777777), "0.977778");
        assert_eq!(number(0.5), "0.5");
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hé", 2), "hé");
    }
}
