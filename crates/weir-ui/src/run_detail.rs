//! `/runs/{id}`: a run's header, toolbar and live graph with the failed-first list, and the
//! panel of the task in `?task=`. `/runs/{id}/live` is the part that changes while the run
//! executes, which `app.js` swaps in on each server-sent event.

use axum::extract::{Path, RawQuery, State};
use weir_spec::model::PipelineSpec;
use weir_store::{Run, Task};
use weir_types::{RunId, RunState, TaskId};

use super::artifacts::Preview;
use super::graph::{self, Graph, GraphItem};
use super::html::Params;
use super::task_panel::{self, PanelView};
use super::Shared;
use super::{format, render, see_other, UiError, UiResult};

pub struct RunHeader {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: String,
    pub experiment_id: String,
    pub experiment: String,
    pub pipeline_id: String,
    pub version_id: String,
    pub version: String,
    pub recurring_run_id: String,
    pub parameters: Vec<(String, String)>,
    pub archived: bool,
    pub no_cache: bool,
    /// (tag, link to the runs with it).
    pub tags: Vec<(String, String)>,
    pub tags_text: String,
}

/// What changes while a run executes.
pub struct LiveView {
    pub run_id: String,
    pub state: String,
    pub state_class: String,
    pub terminal: bool,
    pub can_retry: bool,
    pub archived: bool,
    pub duration: String,
    pub started: String,
    pub finished: String,
    pub error: String,
    pub counts: String,
    pub graph: Graph,
    pub selected: String,
}

#[derive(askama::Template)]
#[template(path = "run.html")]
struct RunPage {
    run: RunHeader,
    live: LiveView,
    panel: Option<PanelView>,
}

#[derive(askama::Template)]
#[template(path = "run_live_fragment.html")]
struct LiveFragment {
    live: LiveView,
    /// The panel is not part of the live fragment; the page keeps the one it has.
    panel: Option<PanelView>,
}

/// The spec a run ran: stored bare or as `{pipeline_spec, platform_spec}`.
pub fn spec_of(run: &Run) -> Option<PipelineSpec> {
    let mut stored = run.pipeline_spec.to_value().ok()?;
    let bare = match stored.get_mut("pipeline_spec") {
        Some(inner) => inner.take(),
        None => stored,
    };
    serde_json::from_value(bare).ok()
}

pub async fn page(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let (run, tasks, params) = load(&state, &id, query).await?;
    let selected = selected_task(&params, &tasks);
    let panel = match selected {
        Some(task) => Some(task_panel::build(&state, &run, task).await?),
        None => None,
    };
    render(&RunPage {
        run: header(&state, &run).await,
        live: live_view(&state, &run, &tasks, selected),
        panel,
    })
}

pub async fn live_fragment(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let (run, tasks, params) = load(&state, &id, query).await?;
    let selected = selected_task(&params, &tasks);
    render(&LiveFragment {
        live: live_view(&state, &run, &tasks, selected),
        panel: None,
    })
}

/// The run in the path with its tasks, and the query's parameters.
async fn load(
    state: &Shared,
    id: &str,
    query: Option<String>,
) -> UiResult<(Run, Vec<Task>, Params)> {
    let id: RunId = super::parse_id("run", id)?;
    let run = state.store.get_run(id).await?;
    let tasks = state.store.list_tasks(id).await?;
    Ok((run, tasks, Params::from_query(query)))
}

fn selected_task<'a>(params: &Params, tasks: &'a [Task]) -> Option<&'a Task> {
    let id: TaskId = params.get("task")?.parse().ok()?;
    tasks.iter().find(|t| t.id == id)
}

async fn header(state: &Shared, run: &Run) -> RunHeader {
    let experiment = match run.experiment_id {
        Some(id) => state
            .store
            .get_experiment(&id.to_string())
            .await
            .map(|e| e.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let version = match run.pipeline_version_id.as_deref().map(str::parse) {
        Some(Ok(id)) => state
            .store
            .get_pipeline_version(id)
            .await
            .map(|v| v.display_name)
            .unwrap_or_default(),
        _ => String::new(),
    };
    RunHeader {
        id: run.id.to_string(),
        name: run.display_name.clone(),
        description: run.description.clone(),
        created: format::time(Some(run.created_at)),
        experiment_id: run.experiment_id.map(|e| e.to_string()).unwrap_or_default(),
        experiment,
        pipeline_id: run.pipeline_id.map(|p| p.to_string()).unwrap_or_default(),
        version_id: run.pipeline_version_id.clone().unwrap_or_default(),
        version,
        recurring_run_id: run.recurring_run_id.clone().unwrap_or_default(),
        parameters: run
            .runtime_config
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), format::clip(&format::value(v), 500)))
            .collect(),
        archived: run.archived,
        no_cache: run.options.no_cache,
        tags: super::runs_list::tag_links(&run.tags),
        tags_text: run.tags.join(", "),
    }
}

pub fn live_view(state: &Shared, run: &Run, tasks: &[Task], selected: Option<&Task>) -> LiveView {
    let spec = spec_of(run);
    let graph = graph::build(spec.as_ref(), tasks, selected.map(|t| t.path.as_str()));
    let steps = tasks.iter().filter(|t| !t.kind.is_dag_like());
    let (mut done, mut failed, mut total) = (0, 0, 0);
    for step in steps {
        total += 1;
        done += usize::from(step.state.is_success());
        failed += usize::from(step.state == weir_types::TaskState::Failed);
    }
    let terminal = run.state.is_terminal();
    LiveView {
        run_id: run.id.to_string(),
        state: run.state.to_string(),
        state_class: format::state_class(run.state.as_str()),
        terminal,
        can_retry: matches!(run.state, RunState::Failed | RunState::Canceled)
            && !state.is_run_active(run.id),
        archived: run.archived,
        duration: format::duration(run.started_at.or(Some(run.created_at)), run.finished_at),
        started: format::time(run.started_at),
        finished: format::time(run.finished_at),
        error: run.error.clone().unwrap_or_default(),
        counts: format!("{done} of {total} steps done, {failed} failed"),
        graph,
        selected: selected.map(|t| t.id.to_string()).unwrap_or_default(),
    }
}

/// `POST /runs/{id}/do/{action}`.
pub async fn action(
    State(state): State<Shared>,
    Path((id, action)): Path<(String, String)>,
) -> UiResult {
    let id: RunId = super::parse_id("run", &id)?;
    apply(&state, id, &action).await?;
    let back = if action == "delete" {
        "/runs".to_owned()
    } else {
        format!("/runs/{id}")
    };
    Ok(see_other(Some(&back), "/runs"))
}

/// `POST /runs/{id}/tags`: replaces the run's tags with those in the `tags` field.
pub async fn set_tags(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> UiResult {
    let id: RunId = super::parse_id("run", &id)?;
    let params = Params::from_body(&body);
    let tags = split_tags(params.get("tags").unwrap_or_default());
    state.store.set_run_tags(id, &tags).await?;
    let back = format!("/runs/{id}");
    Ok(see_other(Some(&back), "/runs"))
}

/// Tags typed into a form field, separated by commas or white space.
pub fn split_tags(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One of the toolbar's or the runs table's actions on a run.
pub async fn apply(state: &Shared, id: RunId, action: &str) -> UiResult<()> {
    match action {
        "archive" => state.set_run_archived(id, true).await?,
        "unarchive" => state.set_run_archived(id, false).await?,
        "terminate" => state.terminate_run(id).await?,
        "retry" => state.retry_run(id).await?,
        "delete" => state.delete_run(id).await?,
        other => return Err(UiError::not_found(format!("runs have no action `{other}`"))),
    }
    Ok(())
}
