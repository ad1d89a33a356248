//! The list flags of `kfp`: `--page-token`, `-m/--max-size`, `--sort-by`, `--filter`.

use weir_client::ListParams;

/// As `kfp` defaults them: 100 per page, newest first.
const DEFAULT_MAX_SIZE: u32 = 100;
const DEFAULT_SORT_BY: &str = "created_at desc";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PageArgs {
    /// The next_page_token a previous page printed.
    #[arg(long)]
    pub page_token: Option<String>,
    /// At most this many [default: 100 from a server, 50 from the data dir].
    #[arg(long, short = 'm', visible_alias = "limit")]
    pub max_size: Option<u32>,
    /// A field and direction, e.g. `name asc` [default: created_at desc].
    #[arg(long)]
    pub sort_by: Option<String>,
    /// JSON of a KFP filter: `{"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": "x"}]}`.
    #[arg(long)]
    pub filter: Option<String>,
}

impl PageArgs {
    /// The parameters sent to a server.
    pub fn params(&self) -> ListParams {
        ListParams {
            page_token: self.page_token.clone(),
            page_size: Some(self.max_size.unwrap_or(DEFAULT_MAX_SIZE)),
            sort_by: Some(
                self.sort_by
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SORT_BY.to_owned()),
            ),
            filter: self.filter.clone(),
        }
    }

    /// The first flag given that only a server understands, for an error from a local listing.
    pub fn server_only_flag(&self) -> Option<&'static str> {
        if self.page_token.is_some() {
            return Some("--page-token");
        }
        if self.sort_by.is_some() {
            return Some("--sort-by");
        }
        if self.filter.is_some() {
            return Some("--filter");
        }
        None
    }
}

/// `filter` (KFP filter JSON, or none) with one more predicate: `key` EQUALS `value`.
pub fn with_predicate(filter: Option<&str>, key: &str, value: &str) -> anyhow::Result<String> {
    let mut filter: serde_json::Value = match filter {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| anyhow::anyhow!("--filter is not JSON: {e}"))?
        }
        None => serde_json::json!({}),
    };
    let Some(object) = filter.as_object_mut() else {
        anyhow::bail!("--filter must be a JSON object with `predicates`");
    };
    let predicate = serde_json::json!({"key": key, "operation": "EQUALS", "string_value": value});
    match object
        .entry("predicates")
        .or_insert_with(|| serde_json::json!([]))
    {
        serde_json::Value::Array(predicates) => predicates.push(predicate),
        _ => anyhow::bail!("--filter's `predicates` must be a list"),
    }
    Ok(filter.to_string())
}
