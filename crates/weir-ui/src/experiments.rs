//! `/experiments`: the list (active or archived), creating one, archiving and restoring, and
//! deleting one with its runs.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use weir_store::{FilterValue, ListQuery, NewExperiment, Predicate, PredicateOp, SortBy};
use weir_types::ExperimentId;

use super::html::{self, Params};
use super::Shared;
use super::{format, render, see_other, UiError, UiResult};

pub struct ExperimentRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: String,
    pub last_run: String,
}

#[derive(askama::Template)]
#[template(path = "experiments.html")]
struct ExperimentsPage {
    archived: bool,
    rows: Vec<ExperimentRow>,
    total: i64,
    next_href: String,
    error: String,
    name: String,
    description: String,
}

async fn page_of(state: &Shared, params: &Params, error: String) -> UiResult {
    let archived = params.get("view") == Some("archived");
    let after = match params.get("after") {
        Some(token) => Some(
            serde_json::from_str(token)
                .map_err(|_| UiError::bad_request("this page link is not one Weir made"))?,
        ),
        None => None,
    };
    let storage = if archived { "ARCHIVED" } else { "AVAILABLE" };
    let query = ListQuery {
        predicates: vec![Predicate::new(
            "storage_state",
            PredicateOp::Equals,
            FilterValue::String(storage.to_owned()),
        )],
        sort: Some(SortBy::descending("created_at")),
        page_size: 50,
        after,
    };
    let page = state.store.list_experiments(&query).await?;
    let next_href = match &page.next {
        Some(cursor) => {
            let token = serde_json::to_string(cursor).map_err(UiError::internal)?;
            let view = if archived { "archived" } else { "" };
            format!(
                "/experiments{}",
                html::query(&[("view", view), ("after", &token)])
            )
        }
        None => String::new(),
    };
    let rows = page
        .items
        .into_iter()
        .map(|e| ExperimentRow {
            id: e.id.to_string(),
            name: e.name,
            description: e.description,
            created: format::time(Some(e.created_at)),
            last_run: format::time(e.last_run_created_at),
        })
        .collect();
    render(&ExperimentsPage {
        archived,
        rows,
        total: page.total_size,
        next_href,
        error,
        name: params.get("name").unwrap_or_default().to_owned(),
        description: params.get("description").unwrap_or_default().to_owned(),
    })
}

pub async fn list(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    page_of(&state, &Params::from_query(query), String::new()).await
}

pub async fn create(State(state): State<Shared>, body: Bytes) -> UiResult {
    let form = Params::from_body(&body);
    let Some(name) = form.get("name") else {
        let page = page_of(&state, &form, "An experiment needs a name.".to_owned()).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let experiment = NewExperiment {
        id: ExperimentId::new(),
        name: name.to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        namespace: String::new(),
    };
    match state.store.create_experiment(&experiment).await {
        Ok(created) => Ok(see_other(
            Some(&format!("/runs?experiment={}", created.id)),
            "/experiments",
        )),
        Err(error) => {
            let message = UiError::from(error).message().to_owned();
            let page = page_of(&state, &form, message).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}

/// `archive` (its runs too, as KFP does), `unarchive`, `delete` (with its runs).
pub async fn action(
    State(state): State<Shared>,
    Path((id, action)): Path<(String, String)>,
) -> UiResult {
    let id: ExperimentId = super::parse_id("experiment", &id)?;
    match action.as_str() {
        "archive" => state.store.set_experiment_archived(id, true).await?,
        "unarchive" => state.store.set_experiment_archived(id, false).await?,
        "delete" => delete_with_runs(&state, id).await?,
        other => {
            return Err(UiError::not_found(format!(
                "experiments have no action `{other}`"
            )))
        }
    }
    let back = if action == "unarchive" {
        "/experiments?view=archived"
    } else {
        "/experiments"
    };
    Ok(see_other(Some(back), "/experiments"))
}

/// Deletes the experiment's runs first, through the engine so their files go too, then the
/// experiment (which removes what is left, and its recurring runs).
async fn delete_with_runs(state: &Shared, id: ExperimentId) -> UiResult<()> {
    state.store.get_experiment(&id.to_string()).await?;
    let query = ListQuery::default()
        .with_predicate(Predicate::new(
            "experiment_id",
            PredicateOp::Equals,
            FilterValue::String(id.to_string()),
        ))
        .with_page_size(200);
    loop {
        let page = state.store.list_runs_page(&query).await?;
        if page.items.is_empty() {
            break;
        }
        for run in page.items {
            super::run_detail::apply(state, run.id, "delete").await?;
        }
    }
    state.store.delete_experiment(id).await?;
    Ok(())
}
