//! Previews of artifact files: Markdown rendered and sanitized, and the first rows of
//! delimited text.

use std::fmt;

use pulldown_cmark::{html, Options, Parser};

/// HTML that went through ammonia's allow-list sanitizer: no scripts, no event handlers, no
/// `javascript:` links, no styles.
pub struct Sanitized(String);

impl fmt::Display for Sanitized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn markdown(text: &str) -> Sanitized {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut rendered = String::new();
    html::push_html(&mut rendered, Parser::new_ext(text, options));
    // Relative links and images would point into this server, where they mean nothing.
    let cleaned = ammonia::Builder::default()
        .url_relative(ammonia::UrlRelative::Deny)
        .clean(&rendered)
        .to_string();
    Sanitized(cleaned)
}

/// The delimiter of a CSV or TSV file, by its name, its `format` metadata, or its first lines
/// (the same number of fields, at least two, on each of the first two).
pub fn delimiter(uri: &str, format_hint: &str, text: &str) -> Option<char> {
    let lower = uri.to_ascii_lowercase();
    let hint = format_hint.to_ascii_lowercase();
    if lower.ends_with(".tsv") || hint == "tsv" {
        return Some('\t');
    }
    if lower.ends_with(".csv") || hint == "csv" {
        return Some(',');
    }
    let mut lines = text.lines();
    let (first, second) = (lines.next()?, lines.next()?);
    ['\t', ','].into_iter().find(|&d| {
        let count = fields(first, d).len();
        count > 1 && count == fields(second, d).len()
    })
}

/// The header, up to `max_rows` rows and up to `max_columns` columns of delimited text, and how
/// many columns were left out. Quoted fields may hold delimiters and doubled quotes; a quoted
/// field across lines is cut at the line.
pub fn table(
    text: &str,
    delimiter: char,
    max_rows: usize,
    max_columns: usize,
) -> (Vec<String>, Vec<Vec<String>>, usize) {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut header = lines
        .next()
        .map(|l| fields(l, delimiter))
        .unwrap_or_default();
    let more_columns = header.len().saturating_sub(max_columns);
    header.truncate(max_columns);
    let rows = lines
        .take(max_rows)
        .map(|l| {
            let mut row = fields(l, delimiter);
            row.truncate(max_columns);
            row
        })
        .collect();
    (header, rows, more_columns)
}

fn fields(line: &str, delimiter: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if current.is_empty() => quoted = true,
            c if c == delimiter && !quoted => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_scripts_are_removed() {
        let out = markdown(
            "# Title\n\n*x* <script>alert(1)</script> <img src=x onerror=alert(2)> [a](javascript:alert(3))\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        )
        .to_string();
        assert!(out.contains("<h1>Title</h1>"));
        assert!(out.contains("<em>x</em>"));
        assert!(out.contains("<table>"));
        assert!(!out.contains("<script"));
        assert!(!out.contains("onerror"));
        assert!(!out.contains("javascript:"));
    }

    #[test]
    fn delimited_text_is_cut_to_rows_and_columns() {
        let text = "a,b,c\n1,\"x, y\",3\n4,\"say \"\"hi\"\"\",6\n7,8,9\n";
        assert_eq!(delimiter("/tmp/data", "", text), Some(','));
        assert_eq!(delimiter("/tmp/data.tsv", "", text), Some('\t'));
        assert_eq!(delimiter("/tmp/notes", "", "hello\nworld"), None);
        let (header, rows, more) = table(text, ',', 2, 2);
        assert_eq!(header, ["a", "b"]);
        assert_eq!(rows, [vec!["1", "x, y"], vec!["4", "say \"hi\""]]);
        assert_eq!(more, 1);
    }
}
