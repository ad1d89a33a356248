//! `/runs`: the runs table (active or archived), its filters, sorting, keyset paging, metric
//! columns, and the bulk actions on the checked rows.
//!
//! Every filter goes to the store as a predicate: name, state, experiment, tag, recurring run,
//! and conditions on parameters and metrics (`accuracy>=0.9`, `param.lr=0.1`), which the store
//! answers from its `run_values` index.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use weir_store::{FilterValue, ListQuery, PageCursor, Predicate, PredicateOp, Run, SortBy};
use weir_types::{ExperimentId, RecurringRunId, RunId, RunState};

use super::html::{self, Params};
use super::visualize;
use super::Shared;
use super::{format, render, run_detail, see_other, UiError, UiResult};

const SORTABLE: [&str; 4] = ["created_at", "display_name", "finished_at", "state"];

pub struct RunRow {
    pub id: String,
    pub name: String,
    pub state: String,
    pub state_class: String,
    pub duration: String,
    pub experiment_id: String,
    pub experiment: String,
    pub pipeline_id: String,
    pub version_id: String,
    pub version: String,
    pub created: String,
    pub metrics: Vec<String>,
    /// (tag, link to the runs with it).
    pub tags: Vec<(String, String)>,
}

pub struct SortLink {
    pub href: String,
    pub marker: &'static str,
}

#[derive(askama::Template)]
#[template(path = "runs.html")]
struct RunsPage {
    archived: bool,
    name: String,
    state: String,
    experiment: String,
    tag: String,
    recurring: String,
    conditions: String,
    metric_columns: Vec<String>,
    metrics_text: String,
    states: Vec<String>,
    experiments: Vec<(String, String)>,
    rows: Vec<RunRow>,
    sort_name: SortLink,
    sort_state: SortLink,
    sort_created: SortLink,
    total: i64,
    next_href: String,
    prev_href: String,
    first_href: String,
    view_active_href: String,
    view_archived_href: String,
    here: String,
}

/// The filter, sort and page of a runs table, read from the query string.
struct RunFilter {
    archived: bool,
    name: String,
    state: Option<RunState>,
    experiment: Option<ExperimentId>,
    tag: String,
    recurring: Option<RecurringRunId>,
    conditions: Vec<Predicate>,
    conditions_text: String,
    sort: &'static str,
    descending: bool,
    after: Option<PageCursor>,
    back: Vec<String>,
    page_size: u32,
    metric_columns: Vec<String>,
}

impl RunFilter {
    fn from_params(params: &Params) -> UiResult<RunFilter> {
        let conditions_text = params.get("where").unwrap_or_default().to_owned();
        let conditions = visualize::parse_conditions(&conditions_text)
            .map_err(|e| UiError::bad_request(format!("filter `{conditions_text}`: {e}")))?;
        let state = match params.get("state") {
            Some(text) => Some(text.parse().map_err(UiError::bad_request)?),
            None => None,
        };
        let experiment = match params.get("experiment") {
            Some(text) => Some(super::parse_id("experiment", text)?),
            None => None,
        };
        let recurring = match params.get("recurring") {
            Some(text) => Some(super::parse_id("recurring run", text)?),
            None => None,
        };
        let after = match params.get("after") {
            Some(token) => Some(
                serde_json::from_str(token)
                    .map_err(|_| UiError::bad_request("this page link is not one Weir made"))?,
            ),
            None => None,
        };
        let sort = SORTABLE
            .into_iter()
            .find(|f| Some(*f) == params.get("sort"))
            .unwrap_or("created_at");
        Ok(RunFilter {
            archived: params.get("view") == Some("archived"),
            name: params.get("name").unwrap_or_default().to_owned(),
            state,
            experiment,
            tag: params.get("tag").unwrap_or_default().trim().to_owned(),
            recurring,
            conditions,
            conditions_text,
            sort,
            descending: params.get("order") != Some("asc"),
            after,
            back: params.all("back").map(str::to_owned).collect(),
            page_size: params
                .get("size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(20)
                .clamp(1, 100),
            metric_columns: params
                .get("metrics")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .take(8)
                .map(str::to_owned)
                .collect(),
        })
    }

    fn query(&self) -> ListQuery {
        let text = |field: &str, op, value: &str| {
            Predicate::new(field, op, FilterValue::String(value.to_owned()))
        };
        let storage = if self.archived {
            "ARCHIVED"
        } else {
            "AVAILABLE"
        };
        let mut predicates = vec![text("storage_state", PredicateOp::Equals, storage)];
        if !self.name.is_empty() {
            predicates.push(text("display_name", PredicateOp::IsSubstring, &self.name));
        }
        if let Some(state) = self.state {
            predicates.push(text("state", PredicateOp::Equals, state.as_str()));
        }
        if let Some(experiment) = self.experiment {
            let id = experiment.to_string();
            predicates.push(text("experiment_id", PredicateOp::Equals, &id));
        }
        if !self.tag.is_empty() {
            predicates.push(text("tag", PredicateOp::Equals, &self.tag));
        }
        if let Some(recurring) = self.recurring {
            let id = recurring.to_string();
            predicates.push(text("recurring_run_id", PredicateOp::Equals, &id));
        }
        predicates.extend(self.conditions.iter().cloned());
        ListQuery {
            predicates,
            sort: Some(SortBy {
                field: self.sort.to_owned(),
                descending: self.descending,
            }),
            page_size: self.page_size,
            after: self.after.clone(),
        }
    }

    /// The link to this list with some parameters changed (`""` removes one).
    fn href(&self, changes: &[(&str, &str)]) -> String {
        let experiment = self.experiment.map(|e| e.to_string()).unwrap_or_default();
        let recurring = self.recurring.map(|r| r.to_string()).unwrap_or_default();
        let metrics = self.metric_columns.join(",");
        let size = self.page_size.to_string();
        let state = self.state.map(|s| s.as_str()).unwrap_or_default();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("view", if self.archived { "archived" } else { "" }),
            ("name", &self.name),
            ("state", state),
            ("experiment", &experiment),
            ("tag", &self.tag),
            ("recurring", &recurring),
            ("where", &self.conditions_text),
            (
                "sort",
                if self.sort == "created_at" {
                    ""
                } else {
                    self.sort
                },
            ),
            ("order", if self.descending { "" } else { "asc" }),
            ("metrics", &metrics),
            ("size", if self.page_size == 20 { "" } else { &size }),
        ];
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            pairs.push((key, value));
        }
        format!("/runs{}", html::query(&pairs))
    }
}

pub async fn page(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let filter = RunFilter::from_params(&params)?;
    let listing = state.store.list_runs_page(&filter.query()).await?;
    let rows = rows(&state, &listing.items, &filter.metric_columns).await?;
    let experiments = state
        .store
        .list_experiments(
            &ListQuery::default()
                .sorted_by(SortBy::ascending("display_name"))
                .with_page_size(200),
        )
        .await?
        .items
        .into_iter()
        .map(|e| (e.id.to_string(), e.name))
        .collect();
    let here = filter.href(&[]);
    let current = params.get("after").unwrap_or("-");
    let next_href = match &listing.next {
        Some(cursor) => {
            let token = serde_json::to_string(cursor).map_err(UiError::internal)?;
            let mut back = filter.back.clone();
            back.push(current.to_owned());
            page_href(&filter, &token, &back)
        }
        None => String::new(),
    };
    let prev_href = match filter.back.split_last() {
        Some((previous, rest)) => page_href(&filter, previous, rest),
        None => String::new(),
    };
    render(&RunsPage {
        archived: filter.archived,
        name: filter.name.clone(),
        state: filter.state.map(|s| s.to_string()).unwrap_or_default(),
        experiment: filter.experiment.map(|e| e.to_string()).unwrap_or_default(),
        tag: filter.tag.clone(),
        recurring: filter.recurring.map(|r| r.to_string()).unwrap_or_default(),
        conditions: filter.conditions_text.clone(),
        metrics_text: filter.metric_columns.join(", "),
        metric_columns: filter.metric_columns.clone(),
        states: RunState::ALL.iter().map(|s| s.to_string()).collect(),
        experiments,
        rows,
        sort_name: sort_link(&filter, "display_name"),
        sort_state: sort_link(&filter, "state"),
        sort_created: sort_link(&filter, "created_at"),
        total: listing.total_size,
        next_href,
        prev_href,
        first_href: if filter.after.is_some() {
            filter.href(&[])
        } else {
            String::new()
        },
        view_active_href: "/runs".to_owned(),
        view_archived_href: "/runs?view=archived".to_owned(),
        here,
    })
}

/// A column header's link: sorts by the column, descending first, flipping when already so.
fn sort_link(filter: &RunFilter, field: &str) -> SortLink {
    let active = filter.sort == field;
    let descending = !(active && filter.descending);
    SortLink {
        href: filter.href(&[
            ("sort", field),
            ("order", if descending { "" } else { "asc" }),
        ]),
        marker: match (active, filter.descending) {
            (false, _) => "",
            (true, true) => " ↓",
            (true, false) => " ↑",
        },
    }
}

fn page_href(filter: &RunFilter, token: &str, back: &[String]) -> String {
    let mut href = filter.href(&[("after", if token == "-" { "" } else { token })]);
    for entry in back.iter().rev().take(30).rev() {
        href.push(if href.contains('?') { '&' } else { '?' });
        href.push_str("back=");
        href.push_str(&html::encode(entry));
    }
    href
}

/// Table rows, with experiment and pipeline version names looked up once each.
pub async fn rows(
    state: &Shared,
    runs: &[Run],
    metric_columns: &[String],
) -> UiResult<Vec<RunRow>> {
    let mut experiments: BTreeMap<ExperimentId, String> = BTreeMap::new();
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    let mut rows = Vec::with_capacity(runs.len());
    for run in runs {
        let experiment = match run.experiment_id {
            Some(id) => match experiments.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = state
                        .store
                        .get_experiment(&id.to_string())
                        .await
                        .map(|e| e.name)
                        .unwrap_or_default();
                    experiments.insert(id, name.clone());
                    name
                }
            },
            None => String::new(),
        };
        let version_id = run.pipeline_version_id.clone().unwrap_or_default();
        let version = match versions.get(&version_id) {
            Some(name) => name.clone(),
            None => {
                let name = version_name(state, &version_id).await;
                versions.insert(version_id.clone(), name.clone());
                name
            }
        };
        let metrics = if metric_columns.is_empty() {
            Vec::new()
        } else {
            let values = visualize::run_metrics(state, run.id).await?;
            metric_columns
                .iter()
                .map(|m| {
                    values
                        .get(m)
                        .map(|v| format::number(*v))
                        .unwrap_or_default()
                })
                .collect()
        };
        rows.push(RunRow {
            id: run.id.to_string(),
            name: run.display_name.clone(),
            state: run.state.to_string(),
            state_class: format::state_class(run.state.as_str()),
            duration: format::duration(run.started_at.or(Some(run.created_at)), run.finished_at),
            experiment_id: run.experiment_id.map(|e| e.to_string()).unwrap_or_default(),
            experiment,
            pipeline_id: run.pipeline_id.map(|p| p.to_string()).unwrap_or_default(),
            version_id,
            version,
            created: format::time(Some(run.created_at)),
            metrics,
            tags: tag_links(&run.tags),
        });
    }
    Ok(rows)
}

/// Each tag with the link to the runs carrying it.
pub fn tag_links(tags: &[String]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.clone(), format!("/runs{}", html::query(&[("tag", t)]))))
        .collect()
}

async fn version_name(state: &Shared, version_id: &str) -> String {
    let Ok(id) = version_id.parse() else {
        return String::new();
    };
    state
        .store
        .get_pipeline_version(id)
        .await
        .map(|v| v.display_name)
        .unwrap_or_default()
}

/// `POST /runs/bulk`: `action` on every checked `run`, then back to the list.
pub async fn bulk(State(state): State<Shared>, body: Bytes) -> UiResult {
    let params = Params::from_body(&body);
    let ids: Vec<RunId> = params
        .all("run")
        .map(|id| super::parse_id("run", id))
        .collect::<UiResult<_>>()?;
    let action = params.get("action").unwrap_or_default();
    if ids.is_empty() {
        return Err(UiError::bad_request("check at least one run first"));
    }
    if action == "compare" {
        let pairs: Vec<(&str, String)> = ids.iter().map(|id| ("run", id.to_string())).collect();
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return Ok(see_other(
            Some(&format!("/compare{}", html::query(&borrowed))),
            "/runs",
        ));
    }
    let mut failures = Vec::new();
    for id in ids {
        if let Err(error) = run_detail::apply(&state, id, action).await {
            failures.push(format!("run {id}: {}", error.message()));
        }
    }
    if !failures.is_empty() {
        return Err(UiError::bad_request(failures.join("\n")));
    }
    Ok(see_other(params.get("return"), "/runs"))
}
