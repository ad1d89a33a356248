//! `weir-client`: a typed async client for the KFP v2beta1 REST API, as `weir server` and
//! Kubeflow Pipelines serve it, over the JSON types of [`weir_api_model`].
//!
//! One method per API call: experiments, pipelines and their versions (uploads included), runs,
//! recurring runs, health. Errors are [`ClientError`]s; an HTTP error carries the server's
//! `google.rpc.Status` message.
//!
//! ```no_run
//! # async fn example() -> Result<(), weir_client::ClientError> {
//! use weir_client::{Client, ListParams};
//!
//! let client = Client::new("http://localhost:8888", None)?;
//! let experiment = client.ensure_experiment("nightly").await?;
//! let page = client
//!     .list_runs(experiment.experiment_id.as_deref(), &ListParams::default())
//!     .await?;
//! println!("{} runs", page.runs.len());
//! # Ok(())
//! # }
//! ```

mod error;
mod experiments;
mod pipelines;
mod recurring;
mod runs;

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;
pub use weir_api_model as model;

pub use error::ClientError;
pub use pipelines::{PipelinePackage, MAX_PACKAGE_BYTES};
pub use runs::{run_is_finished, Caching};

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take, uploads included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A connection to one server. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The endpoint as given, normalised (scheme added, trailing `/` removed): for messages.
    endpoint: String,
    /// `<endpoint>/apis/v2beta1`.
    api_root: Url,
    auth_token: Option<String>,
}

/// The paging, sorting and filtering parameters every list call takes. `None` leaves a
/// parameter to the server (20 items, oldest first, no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
    pub page_size: Option<u32>,
    /// `"created_at desc"`, `"name"`, ...
    pub sort_by: Option<String>,
    /// JSON of a `v2beta1Filter`: `{"predicates": [{"key": ..., "operation": ..., ...}]}`.
    pub filter: Option<String>,
}

impl ListParams {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(token) = self.page_token.as_ref().filter(|t| !t.is_empty()) {
            query.push(("page_token", token.clone()));
        }
        if let Some(size) = self.page_size {
            query.push(("page_size", size.to_string()));
        }
        if let Some(sort_by) = self.sort_by.as_ref().filter(|s| !s.is_empty()) {
            query.push(("sort_by", sort_by.clone()));
        }
        if let Some(filter) = self.filter.as_ref().filter(|f| !f.is_empty()) {
            query.push(("filter", filter.clone()));
        }
        query
    }
}

/// One API call being built: the request and what messages call it.
struct Call {
    request: RequestBuilder,
    method: Method,
    /// The URL path, e.g. `/apis/v2beta1/runs/123`.
    path: String,
}

impl Call {
    fn query(mut self, query: &[(&str, String)]) -> Call {
        if !query.is_empty() {
            self.request = self.request.query(query);
        }
        self
    }

    fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Call {
        self.request = self.request.json(body);
        self
    }

    fn multipart(mut self, form: reqwest::multipart::Form) -> Call {
        self.request = self.request.multipart(form);
        self
    }
}

impl Client {
    /// A client for `endpoint` (`http://host:port`, `https://...`, or `host:port` meaning
    /// `http://`), sending `Authorization: Bearer <auth_token>` when a token is given. Nothing
    /// is sent until the first call.
    pub fn new(endpoint: &str, auth_token: Option<String>) -> Result<Client, ClientError> {
        let (endpoint, api_root) = api_root(endpoint)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("weir-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ClientError::InvalidEndpoint {
                endpoint: endpoint.clone(),
                reason: format!("failed to set up the HTTP client: {error}"),
            })?;
        Ok(Client {
            http,
            endpoint,
            api_root,
            auth_token: auth_token.filter(|t| !t.is_empty()),
        })
    }

    /// The server's address, as used in messages (`http://127.0.0.1:8888`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `GET /healthz`: whether the server answers (and accepts the token).
    pub async fn healthz(&self) -> Result<model::GetHealthzResponse, ClientError> {
        self.send(self.call(Method::GET, &["healthz"])).await
    }

    /// A call to `<api root>/<segments joined by />`; each segment is percent-encoded.
    fn call(&self, method: Method, segments: &[&str]) -> Call {
        let mut url = self.api_root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let path = url.path().to_owned();
        let mut request = self.http.request(method.clone(), url);
        if let Some(token) = &self.auth_token {
            request = request.bearer_auth(token);
        }
        Call {
            request,
            method,
            path,
        }
    }

    /// Sends a call and reads its JSON answer; an error status becomes [`ClientError::Api`].
    async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T, ClientError> {
        let Call {
            request,
            method,
            path,
        } = call;
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: error::transport_reason(&error),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| ClientError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: format!(
                    "the connection broke while reading the answer: {}",
                    error::transport_reason(&error)
                ),
            })?;
        if !status.is_success() {
            let (code, message) = error_message(status, &body);
            return Err(ClientError::Api {
                endpoint: self.endpoint.clone(),
                method: method.to_string(),
                path,
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&body).map_err(|error| ClientError::InvalidResponse {
            endpoint: self.endpoint.clone(),
            method: method.to_string(),
            path,
            reason: error.to_string(),
        })
    }

    /// Sends a call whose answer (`{}`) carries nothing.
    async fn send_empty(&self, call: Call) -> Result<(), ClientError> {
        self.send::<serde::de::IgnoredAny>(call).await.map(|_| ())
    }
}

/// The normalised endpoint and the API root under it.
fn api_root(endpoint: &str) -> Result<(String, Url), ClientError> {
    let invalid = |reason: &str| ClientError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let text = endpoint.trim();
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    let normalised = url.as_str().trim_end_matches('/').to_owned();
    let api_root = Url::parse(&format!("{normalised}/apis/v2beta1"))
        .map_err(|error| invalid(&error.to_string()))?;
    Ok((normalised, api_root))
}

/// The gRPC code and message of an error body: `google.rpc.Status` JSON, or else its text.
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> (Option<i32>, String) {
    if let Ok(rpc) = serde_json::from_slice::<model::GoogleRpcStatus>(body) {
        if let Some(message) = rpc.message.filter(|m| !m.is_empty()) {
            return (rpc.code, message);
        }
    }
    // grpc-gateway and proxies sometimes add fields; read the message leniently.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(message) = value["message"].as_str().filter(|m| !m.is_empty()) {
            let code = value["code"].as_i64().and_then(|c| i32::try_from(c).ok());
            return (code, message.to_owned());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        let reason = status.canonical_reason().unwrap_or("no reason given");
        return (None, reason.to_lowercase());
    }
    const MAX_MESSAGE_CHARS: usize = 500;
    (None, text.chars().take(MAX_MESSAGE_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_normalised() {
        let (endpoint, root) = api_root("localhost:8888/").expect("valid");
        assert_eq!(endpoint, "http://localhost:8888");
        assert_eq!(root.as_str(), "http://localhost:8888/apis/v2beta1");
        let (_, root) = api_root("https://kfp.example.com/pipeline").expect("valid");
        assert_eq!(
            root.as_str(),
            "https://kfp.example.com/pipeline/apis/v2beta1"
        );
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_reason() {
        for (endpoint, reason) in [
            ("", "empty"),
            ("ftp://host", "scheme"),
            ("http://", "host"),
            ("http://host?x=1", "query"),
        ] {
            let error = api_root(endpoint).expect_err(endpoint).to_string();
            assert!(error.contains(reason), "{endpoint}: {error}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        let client = Client::new("http://h:1", None).expect("valid");
        let call = client.call(Method::GET, &["runs", "a b/c:archive"]);
        assert_eq!(call.path, "/apis/v2beta1/runs/a%20b%2Fc:archive");
    }

    #[test]
    fn error_bodies_give_their_message() {
        let status = reqwest::StatusCode::NOT_FOUND;
        let rpc = br#"{"code": 5, "message": "run `x` not found", "details": []}"#;
        assert_eq!(
            error_message(status, rpc),
            (Some(5), "run `x` not found".to_owned())
        );
        let extra = br#"{"code": 5, "message": "gone", "error": "gone"}"#;
        assert_eq!(error_message(status, extra), (Some(5), "gone".to_owned()));
        assert_eq!(
            error_message(status, b"plain text\n"),
            (None, "plain text".to_owned())
        );
        assert_eq!(error_message(status, b""), (None, "not found".to_owned()));
    }

    #[test]
    fn list_params_leave_out_what_is_unset() {
        assert!(ListParams::default().query().is_empty());
        let params = ListParams {
            page_token: Some("t".into()),
            page_size: Some(5),
            sort_by: Some(String::new()),
            filter: None,
        };
        assert_eq!(
            params.query(),
            [
                ("page_token", "t".to_owned()),
                ("page_size", "5".to_owned())
            ]
        );
    }
}
