//! `weir-api-model`: the JSON of Kubeflow Pipelines' v2beta1 REST API, and its list query
//! parameters.
//!
//! The types mirror `shared/kfp-api/v2beta1.swagger.json` as KFP's grpc-gateway writes it:
//! snake_case field names (`recurringRuns` is the one camelCase list), zero and empty fields
//! left out, int64 as JSON strings, enums as names, timestamps as RFC 3339. Reading is as
//! lenient as KFP's (protobuf JSON): camelCase field names, integers as numbers or strings,
//! enums as names or numbers, `null` as absent. Like KFP, every type refuses unknown fields,
//! so a create request with a misspelt field fails to deserialize (a 400 for the server).
//! `pipeline_spec`, `runtime_config.parameters` and `plugins_input` hold any JSON.
//!
//! [`ListQuery::parse`] checks `filter`, `sort_by`, `page_size` and `page_token` together;
//! [`parse_filter`], [`parse_sort_by`], [`page_size`] and [`decode_page_token`] one at a time.
//!
//! No I/O, no HTTP framework, no other Weir crate.
//!
//! ```
//! use weir_api_model::{ListQuery, Operation, PredicateValue};
//!
//! // What `kfp.Client().get_experiment(experiment_name="Default")` sends.
//! let query = ListQuery {
//!     filter: Some(r#"{"predicates": [{"operation": 1, "key": "display_name", "stringValue": "Default"}]}"#.into()),
//!     ..ListQuery::default()
//! };
//! let options = query.parse()?;
//! assert_eq!(options.page_size, 20);
//! let predicate = &options.filter.predicates[0];
//! assert_eq!((predicate.key.as_str(), predicate.op), ("display_name", Operation::Equals));
//! assert_eq!(predicate.value, PredicateValue::String("Default".into()));
//!
//! // The next page: the token remembers the sort order and the filter.
//! let token = options.next_page_token(serde_json::json!({"after": "exp-1"}));
//! let next = ListQuery { page_token: Some(token), ..query }.parse()?;
//! assert_eq!(next.cursor, Some(serde_json::json!({"after": "exp-1"})));
//! # Ok::<(), weir_api_model::QueryError>(())
//! ```

mod common;
mod enums;
mod experiment;
mod filter;
mod page_token;
mod pipeline;
mod query;
mod recurring_run;
mod run;
mod wire;

pub use common::{GetHealthzResponse, GoogleRpcStatus, ProtobufAny, Visualization};
pub use enums::{
    AuthorizeRequestResources, AuthorizeRequestVerb, DeletePropagationPolicy,
    MetadataValueRenderType, PluginState, PredicateOperation, RecurringRunMode, RecurringRunStatus,
    RuntimeState, StorageState, UnknownEnumName, VisualizationType,
};
pub use experiment::{Experiment, ListExperimentsResponse};
pub use filter::{Filter, IntValues, LongValues, Predicate, StringValues};
pub use page_token::{decode_page_token, encode_page_token, filter_fingerprint, PageToken};
pub use pipeline::{
    CreatePipelineAndVersionRequest, ListPipelineVersionsResponse, ListPipelinesResponse, Pipeline,
    PipelineVersion, Url,
};
pub use query::{
    page_size, parse_filter, parse_page_size, parse_sort_by, ListOptions, ListQuery, Operation,
    ParsedFilter, ParsedPredicate, PredicateValue, QueryError, SortSpec, DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
};
pub use recurring_run::{
    CronSchedule, ListRecurringRunsResponse, PeriodicSchedule, RecurringRun, Trigger,
};
pub use run::{
    ArtifactList, ChildTask, ExecutorDetail, ListRunsResponse, MetadataValue, PipelineTaskDetail,
    PipelineVersionReference, PluginOutput, Run, RunDetails, RuntimeConfig, RuntimeStatus,
};
pub use wire::format_timestamp;
