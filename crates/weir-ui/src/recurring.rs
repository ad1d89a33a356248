//! `/recurring`: recurring runs: the list with enable, disable and delete; a form to create
//! one from a pipeline version; the same form to change one in place (its id and the runs it
//! started stay).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use weir_api_model as dto;
use weir_control::package::{self, Package};
use weir_control::{ControlError, ErrorCode, LoadedPipeline, RecurringRunDraft};
use weir_store::{ListQuery, RecurringRun, SortBy};
use weir_types::{PipelineId, PipelineVersionId, RecurringRunId};

use super::create_run::{experiment_options, param_fields, read_params, ParamField};
use super::html::{self, Params};
use super::Shared;
use super::{format, render, see_other, UiError, UiResult};

pub struct RecurringRow {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub trigger: String,
    pub experiment_id: String,
    pub created: String,
}

#[derive(askama::Template)]
#[template(path = "recurring.html")]
struct RecurringPage {
    rows: Vec<RecurringRow>,
    total: i64,
    next_href: String,
}

fn trigger_text(trigger: &Value) -> String {
    let Ok(trigger) = serde_json::from_value::<dto::Trigger>(trigger.clone()) else {
        return String::new();
    };
    match (trigger.cron_schedule, trigger.periodic_schedule) {
        (Some(cron), _) => format!("cron {}", cron.cron.unwrap_or_default()),
        (_, Some(periodic)) => format!(
            "every {}",
            format::seconds(periodic.interval_second.unwrap_or(0) as f64)
        ),
        _ => String::new(),
    }
}

pub async fn list(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let after = match params.get("after") {
        Some(token) => Some(
            serde_json::from_str(token)
                .map_err(|_| UiError::bad_request("this page link is not one Weir made"))?,
        ),
        None => None,
    };
    let query = ListQuery {
        sort: Some(SortBy::descending("created_at")),
        page_size: 50,
        after,
        ..Default::default()
    };
    let page = state.store.list_recurring_runs(&query).await?;
    let next_href = match &page.next {
        Some(cursor) => {
            let token = serde_json::to_string(cursor).map_err(UiError::internal)?;
            format!("/recurring{}", html::query(&[("after", &token)]))
        }
        None => String::new(),
    };
    render(&RecurringPage {
        rows: page
            .items
            .iter()
            .map(|r| RecurringRow {
                id: r.id.to_string(),
                name: r.display_name.clone(),
                enabled: r.enabled,
                trigger: trigger_text(&r.trigger),
                experiment_id: r.experiment_id.map(|e| e.to_string()).unwrap_or_default(),
                created: format::time(Some(r.created_at)),
            })
            .collect(),
        total: page.total_size,
        next_href,
    })
}

#[derive(askama::Template)]
#[template(path = "recurring_form.html")]
struct RecurringForm {
    /// Empty when creating.
    id: String,
    source: String,
    version: String,
    name: String,
    description: String,
    experiment: String,
    experiments: Vec<(String, String)>,
    cron: String,
    interval: String,
    max_concurrency: String,
    catchup: bool,
    enabled: bool,
    fields: Vec<ParamField>,
    error: String,
}

/// The spec a recurring run starts: a stored version's, else its own.
struct Spec {
    package: Package,
    label: String,
    pipeline_id: Option<PipelineId>,
    version_id: Option<PipelineVersionId>,
}

async fn version_spec(state: &Shared, id: &str) -> UiResult<Spec> {
    let id: PipelineVersionId = super::parse_id("pipeline version", id)?;
    let version = state.store.get_pipeline_version(id).await?;
    let pipeline = state.store.get_pipeline(version.pipeline_id).await?;
    Ok(Spec {
        package: package::from_value(version.pipeline_spec.clone())?,
        label: format!("{} / {}", pipeline.display_name, version.display_name),
        pipeline_id: Some(pipeline.id),
        version_id: Some(version.id),
    })
}

async fn recurring_spec(state: &Shared, recurring: &RecurringRun) -> UiResult<Spec> {
    if let Some(version) = recurring.pipeline_version_id {
        if let Ok(spec) = version_spec(state, &version.to_string()).await {
            return Ok(spec);
        }
    }
    let stored = recurring
        .pipeline_spec
        .clone()
        .ok_or_else(|| UiError::bad_request("this recurring run has no pipeline spec"))?;
    Ok(Spec {
        package: package::from_value(stored)?,
        label: recurring.display_name.clone(),
        pipeline_id: recurring.pipeline_id,
        version_id: recurring.pipeline_version_id,
    })
}

pub async fn new_form(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let version = params.get("version").ok_or_else(|| {
        UiError::bad_request("open a pipeline version and choose \"Create recurring run\"")
    })?;
    let spec = version_spec(&state, version).await?;
    render(&RecurringForm {
        id: String::new(),
        source: spec.label.clone(),
        version: version.to_owned(),
        name: format!("{} schedule", spec.label),
        description: String::new(),
        experiment: String::new(),
        experiments: experiment_options(&state).await?,
        cron: String::new(),
        interval: "3600".to_owned(),
        max_concurrency: "1".to_owned(),
        catchup: false,
        enabled: true,
        fields: param_fields(&spec.package.document, &Map::new()),
        error: String::new(),
    })
}

pub async fn edit_form(State(state): State<Shared>, Path(id): Path<String>) -> UiResult {
    let id: RecurringRunId = super::parse_id("recurring run", &id)?;
    let recurring = state.store.get_recurring_run(id).await?;
    let spec = recurring_spec(&state, &recurring).await?;
    let trigger: dto::Trigger =
        serde_json::from_value(recurring.trigger.clone()).unwrap_or_default();
    render(&RecurringForm {
        id: id.to_string(),
        source: spec.label.clone(),
        version: spec.version_id.map(|v| v.to_string()).unwrap_or_default(),
        name: recurring.display_name.clone(),
        description: recurring.description.clone(),
        experiment: recurring
            .experiment_id
            .map(|e| e.to_string())
            .unwrap_or_default(),
        experiments: experiment_options(&state).await?,
        cron: trigger
            .cron_schedule
            .and_then(|c| c.cron)
            .unwrap_or_default(),
        interval: trigger
            .periodic_schedule
            .and_then(|p| p.interval_second)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        max_concurrency: recurring.max_concurrency.to_string(),
        catchup: !recurring.no_catchup,
        enabled: recurring.enabled,
        fields: param_fields(&spec.package.document, &recurring.runtime_config.parameters),
        error: String::new(),
    })
}

pub async fn create(State(state): State<Shared>, body: Bytes) -> UiResult {
    save(
        &state,
        RecurringRunId::new(),
        Params::from_body(&body),
        false,
    )
    .await
}

pub async fn update(State(state): State<Shared>, Path(id): Path<String>, body: Bytes) -> UiResult {
    let id: RecurringRunId = super::parse_id("recurring run", &id)?;
    state.store.get_recurring_run(id).await?;
    save(&state, id, Params::from_body(&body), true).await
}

async fn save(state: &Shared, id: RecurringRunId, form: Params, existing: bool) -> UiResult {
    let spec = match (form.get("version"), existing) {
        (Some(version), _) => version_spec(state, version).await?,
        (None, true) => recurring_spec(state, &state.store.get_recurring_run(id).await?).await?,
        (None, false) => return Err(UiError::bad_request("choose a pipeline version first")),
    };
    let (parameters, fields, valid) = read_params(&spec.package.document, &form);
    let mut page = RecurringForm {
        id: if existing {
            id.to_string()
        } else {
            String::new()
        },
        source: spec.label.clone(),
        version: form.get("version").unwrap_or_default().to_owned(),
        name: form.get("name").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        experiment: form.get("experiment").unwrap_or_default().to_owned(),
        experiments: experiment_options(state).await?,
        cron: form.get("cron").unwrap_or_default().to_owned(),
        interval: form.get("interval").unwrap_or_default().to_owned(),
        max_concurrency: form.get("max_concurrency").unwrap_or("1").to_owned(),
        catchup: form.flag("catchup"),
        enabled: form.flag("enabled"),
        fields,
        error: String::new(),
    };
    let checked = if valid {
        draft_from_form(&form, &spec, parameters)
    } else {
        Err(UiError::bad_request("Some parameters need fixing."))
    };
    let stored = match checked {
        Ok(draft) if existing => state.update_recurring_run(id, draft).await,
        Ok(draft) => state.create_recurring_run(draft).await,
        Err(error) => {
            page.error = error.message().to_owned();
            return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
        }
    };
    match stored {
        Ok(_) => Ok(see_other(Some("/recurring"), "/recurring")),
        // A draft the control layer refuses goes back to the form; a missing record or a
        // fault gets its error page.
        Err(error) if is_refused_draft(&error) => {
            page.error = error.to_string();
            Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

fn is_refused_draft(error: &ControlError) -> bool {
    matches!(
        error.code(),
        ErrorCode::InvalidArgument | ErrorCode::FailedPrecondition
    )
}

/// The form as a draft for the control layer, which checks the rest (the trigger, the
/// parameters, the experiment, the concurrency).
fn draft_from_form(
    form: &Params,
    spec: &Spec,
    parameters: Map<String, Value>,
) -> UiResult<RecurringRunDraft> {
    let name = form
        .get("name")
        .ok_or_else(|| UiError::bad_request("a recurring run needs a name"))?;
    let trigger = match (form.get("cron"), form.get("interval")) {
        (Some(cron), _) => dto::Trigger {
            cron_schedule: Some(dto::CronSchedule {
                cron: Some(cron.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        },
        (None, Some(seconds)) => dto::Trigger {
            periodic_schedule: Some(dto::PeriodicSchedule {
                interval_second: Some(seconds.parse().map_err(|_| {
                    UiError::bad_request(format!("the interval `{seconds}` is not whole seconds"))
                })?),
                ..Default::default()
            }),
            ..Default::default()
        },
        (None, None) => {
            return Err(UiError::bad_request(
                "give a cron expression or an interval",
            ))
        }
    };
    let experiment_id = match form.get("experiment") {
        Some(experiment) => Some(super::parse_id("experiment", experiment)?),
        None => None,
    };
    let max_concurrency: i64 = form
        .get("max_concurrency")
        .unwrap_or("1")
        .parse()
        .map_err(|_| UiError::bad_request("max concurrency must be a whole number"))?;
    Ok(RecurringRunDraft {
        display_name: name.to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        namespace: String::new(),
        pipeline: LoadedPipeline {
            document: spec.package.document.clone(),
            pipeline_id: spec.pipeline_id,
            version_id: spec.version_id,
        }
        .into(),
        parameters,
        pipeline_root: None,
        service_account: String::new(),
        experiment_id,
        max_concurrency,
        trigger,
        enabled: form.flag("enabled"),
        no_catchup: !form.flag("catchup"),
    })
}

/// `enable`, `disable`, `delete`.
pub async fn action(
    State(state): State<Shared>,
    Path((id, action)): Path<(String, String)>,
) -> UiResult {
    let id: RecurringRunId = super::parse_id("recurring run", &id)?;
    match action.as_str() {
        "enable" => drop(state.set_recurring_run_enabled(id, true).await?),
        "disable" => drop(state.set_recurring_run_enabled(id, false).await?),
        "delete" => state.delete_recurring_run(id).await?,
        other => {
            return Err(UiError::not_found(format!(
                "recurring runs have no action `{other}`"
            )))
        }
    }
    Ok(see_other(Some("/recurring"), "/recurring"))
}
