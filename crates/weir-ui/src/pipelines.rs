//! `/pipelines`: the list with versions, uploads (a file or a URL, as a new pipeline or a new
//! version), and one pipeline's page: its versions, the selected version's graph and YAML, and
//! the way to start a run from it.

use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use weir_control::package::{self, Package};
use weir_control::VersionDraft;
use weir_store::{ListQuery, NewPipeline, SortBy};
use weir_types::{PipelineId, PipelineVersionId};

use super::graph::{self, Graph, GraphItem};
use super::html::{self, Params};
use super::Shared;
use super::{format, render, see_other, UiError, UiResult};

const YAML_LIMIT: usize = 256 * 1024;

pub struct PipelineRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: String,
    pub versions: i64,
    pub latest_id: String,
    pub latest: String,
}

#[derive(askama::Template)]
#[template(path = "pipelines.html")]
struct PipelinesPage {
    rows: Vec<PipelineRow>,
    total: i64,
    next_href: String,
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
        page_size: 20,
        after,
        ..Default::default()
    };
    let page = state.store.list_pipelines(&query).await?;
    let mut rows = Vec::with_capacity(page.items.len());
    let newest = ListQuery::default()
        .sorted_by(SortBy::descending("created_at"))
        .with_page_size(1);
    for pipeline in &page.items {
        let versions = state
            .store
            .list_pipeline_versions(pipeline.id, &newest)
            .await?;
        let latest = versions.items.first();
        rows.push(PipelineRow {
            id: pipeline.id.to_string(),
            name: pipeline.display_name.clone(),
            description: pipeline.description.clone(),
            created: format::time(Some(pipeline.created_at)),
            versions: versions.total_size,
            latest_id: latest.map(|v| v.id.to_string()).unwrap_or_default(),
            latest: latest.map(|v| v.display_name.clone()).unwrap_or_default(),
        });
    }
    let next_href = match &page.next {
        Some(cursor) => {
            let token = serde_json::to_string(cursor).map_err(UiError::internal)?;
            format!("/pipelines{}", html::query(&[("after", &token)]))
        }
        None => String::new(),
    };
    render(&PipelinesPage {
        rows,
        total: page.total_size,
        next_href,
    })
}

#[derive(askama::Template)]
#[template(path = "upload.html")]
struct UploadPage {
    pipeline_id: String,
    pipeline_name: String,
    name: String,
    description: String,
    url: String,
    error: String,
}

pub async fn upload_form(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let (pipeline_id, pipeline_name) = match params.get("pipeline") {
        Some(id) => {
            let pipeline = state
                .store
                .get_pipeline(super::parse_id("pipeline", id)?)
                .await?;
            (pipeline.id.to_string(), pipeline.display_name)
        }
        None => (String::new(), String::new()),
    };
    render(&UploadPage {
        pipeline_id,
        pipeline_name,
        name: String::new(),
        description: String::new(),
        url: String::new(),
        error: String::new(),
    })
}

/// What the upload form sent.
#[derive(Default)]
struct UploadForm {
    file_name: String,
    file: Vec<u8>,
    url: String,
    name: String,
    description: String,
    pipeline: String,
}

async fn read_form(mut multipart: Multipart) -> UiResult<UploadForm> {
    let mut form = UploadForm::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| UiError::bad_request(format!("bad upload: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "uploadfile" {
            form.file_name = field.file_name().unwrap_or("pipeline.yaml").to_owned();
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| UiError::bad_request(format!("cannot read the upload: {e}")))?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "uploadfile" => form.file = bytes.to_vec(),
            "url" => form.url = text(),
            "name" => form.name = text(),
            "description" => form.description = text(),
            "pipeline" => form.pipeline = text(),
            _ => {}
        }
    }
    Ok(form)
}

pub async fn upload(State(state): State<Shared>, multipart: Multipart) -> UiResult {
    let form = read_form(multipart).await?;
    match store_upload(&state, &form).await {
        Ok((pipeline_id, version_id)) => Ok(see_other(
            Some(&format!("/pipelines/{pipeline_id}?version={version_id}")),
            "/pipelines",
        )),
        Err(error) => {
            let page = UploadPage {
                pipeline_name: String::new(),
                pipeline_id: form.pipeline.clone(),
                name: form.name.clone(),
                description: form.description.clone(),
                url: form.url.clone(),
                error: error.message().to_owned(),
            };
            Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
    }
}

async fn store_upload(
    state: &Shared,
    form: &UploadForm,
) -> UiResult<(PipelineId, PipelineVersionId)> {
    let (package, source_name): (Package, String) = if !form.file.is_empty() {
        (
            package::read(&form.file, &form.file_name)?,
            package::file_stem(&form.file_name),
        )
    } else if !form.url.is_empty() {
        let name = package::file_stem(form.url.rsplit('/').next().unwrap_or("pipeline"));
        (package::fetch(&form.url).await?, name)
    } else {
        return Err(UiError::bad_request("choose a file or give a URL"));
    };
    let version = VersionDraft {
        name: (!form.name.is_empty()).then(|| form.name.clone()),
        description: form.description.clone(),
        package_url: (!form.url.is_empty()).then(|| form.url.clone()),
        ..Default::default()
    };
    if !form.pipeline.is_empty() {
        let pipeline_id: PipelineId = super::parse_id("pipeline", &form.pipeline)?;
        let stored = state
            .create_pipeline_version(pipeline_id, version, &package)
            .await?;
        return Ok((pipeline_id, stored.id));
    }
    let name = if form.name.is_empty() {
        source_name
    } else {
        form.name.clone()
    };
    let pipeline = NewPipeline {
        id: PipelineId::new(),
        display_name: name.clone(),
        name,
        description: form.description.clone(),
        ..Default::default()
    };
    let (pipeline, stored) = state
        .create_pipeline_with_version(pipeline, version, &package)
        .await?;
    Ok((pipeline.id, stored.id))
}

#[derive(askama::Template)]
#[template(path = "pipeline.html")]
struct PipelinePage {
    id: String,
    name: String,
    description: String,
    versions: Vec<(String, String, String)>,
    version_id: String,
    version_name: String,
    graph: Graph,
    run_id: String,
    selected: String,
    yaml: String,
}

pub async fn detail(
    State(state): State<Shared>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    let id: PipelineId = super::parse_id("pipeline", &id)?;
    let params = Params::from_query(query);
    let pipeline = state.store.get_pipeline(id).await?;
    let listed = state
        .store
        .list_pipeline_versions(
            id,
            &ListQuery::default()
                .sorted_by(SortBy::descending("created_at"))
                .with_page_size(50),
        )
        .await?
        .items;
    let chosen = match params.get("version") {
        Some(version) => {
            let version = state
                .store
                .get_pipeline_version(super::parse_id("pipeline version", version)?)
                .await?;
            (version.pipeline_id == id).then_some(version)
        }
        None => listed.first().cloned(),
    };
    let spec_value = chosen.as_ref().map(|v| {
        v.pipeline_spec
            .get("pipeline_spec")
            .unwrap_or(&v.pipeline_spec)
            .clone()
    });
    let spec = spec_value
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let mut yaml = match &chosen {
        Some(version) => serde_norway::to_string(&version.pipeline_spec).unwrap_or_default(),
        None => String::new(),
    };
    if yaml.len() > YAML_LIMIT {
        yaml = format!(
            "{}\n# … cut; download the whole file",
            format::clip(&yaml, YAML_LIMIT)
        );
    }
    render(&PipelinePage {
        id: id.to_string(),
        name: pipeline.display_name,
        description: pipeline.description,
        versions: listed
            .iter()
            .map(|v| {
                (
                    v.id.to_string(),
                    v.display_name.clone(),
                    format::time(Some(v.created_at)),
                )
            })
            .collect(),
        version_id: chosen
            .as_ref()
            .map(|v| v.id.to_string())
            .unwrap_or_default(),
        version_name: chosen
            .as_ref()
            .map(|v| v.display_name.clone())
            .unwrap_or_default(),
        graph: graph::build(spec.as_ref(), &[], None),
        run_id: String::new(),
        selected: String::new(),
        yaml,
    })
}

/// Deletes a pipeline with all its versions (the runs made from them stay).
pub async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> UiResult {
    let id: PipelineId = super::parse_id("pipeline", &id)?;
    state.store.delete_pipeline(id, true).await?;
    Ok(see_other(Some("/pipelines"), "/pipelines"))
}
