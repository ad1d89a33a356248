//! Small text helpers: HTML escaping for the markup built in Rust (SVG), and URL query strings
//! (parsed and built here, since forms repeat keys such as `run=a&run=b`).

use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes a query string component (everything but unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(value) => {
                        out.push(value);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `application/x-www-form-urlencoded` pairs, in order, keys repeated as sent.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(text: &str) -> Params {
        Params(
            text.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((key, value)) => (decode(key), decode(value)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    pub fn from_query(query: Option<String>) -> Params {
        Params::parse(query.as_deref().unwrap_or_default())
    }

    pub fn from_body(body: &[u8]) -> Params {
        Params::parse(&String::from_utf8_lossy(body))
    }

    /// The first non-empty value of `key`, trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Every non-empty value of `key`, trimmed.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key` exactly as sent (untrimmed, possibly empty).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true" | "on" | "yes"))
    }
}

/// Builds `?a=1&b=2` from the pairs whose value is not empty (`""` when none is left).
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// A path on this server (`/runs?x`), not another host (`//evil`, `https://`, `/\evil`).
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && !target.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn params_keep_repeated_keys_and_decode() {
        let params = Params::parse("run=a&run=b&q=hello+w%C3%B6rld&empty=&bad=%zz&last=%4");
        assert_eq!(params.all("run").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(params.get("q"), Some("hello wörld"));
        assert_eq!(params.get("empty"), None);
        assert_eq!(params.raw("empty"), Some(""));
        assert_eq!(params.get("bad"), Some("%zz"));
        assert_eq!(params.get("last"), Some("%4"));
    }

    #[test]
    fn query_round_trips_through_params() {
        let built = query(&[("q", "a&b=c d/é"), ("skip", ""), ("n", "1")]);
        assert_eq!(built, "?q=a%26b%3Dc%20d%2F%C3%A9&n=1");
        let parsed = Params::parse(&built[1..]);
        assert_eq!(parsed.get("q"), Some("a&b=c d/é"));
        assert_eq!(parsed.get("n"), Some("1"));
    }

    #[test]
    fn only_local_paths_are_local() {
        assert!(is_local_path("/runs?view=archived"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "runs",
            "/a\nb",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
