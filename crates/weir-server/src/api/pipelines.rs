//! `/apis/v2beta1/pipelines` and their versions, including uploads.

use axum::extract::{Multipart, Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use weir_api_model as dto;
use weir_control::package::{self, Package};
use weir_control::VersionDraft;
use weir_store::{NewPipeline, PipelineUpdate};
use weir_types::{PipelineId, PipelineVersionId};

use super::list::{total, ListParams, Listing};
use super::{convert, empty, parse_id, Shared};
use crate::error::{ApiError, ApiResult};

pub async fn list(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<dto::ListPipelinesResponse>> {
    let listing = params.listing()?;
    let page = state.store.list_pipelines(&listing.query).await?;
    Ok(Json(dto::ListPipelinesResponse {
        pipelines: page.items.iter().map(convert::pipeline).collect(),
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    }))
}

fn new_pipeline(body: &dto::Pipeline) -> ApiResult<NewPipeline> {
    let name = body
        .name
        .clone()
        .or_else(|| body.display_name.clone())
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("a pipeline needs a name or display_name"))?;
    Ok(NewPipeline {
        id: PipelineId::new(),
        display_name: body.display_name.clone().unwrap_or_else(|| name.clone()),
        name,
        description: body.description.clone().unwrap_or_default(),
        namespace: body.namespace.clone().unwrap_or_default(),
        tags: body.tags.clone(),
    })
}

pub async fn create(
    State(state): State<Shared>,
    Json(body): Json<dto::Pipeline>,
) -> ApiResult<Json<dto::Pipeline>> {
    let pipeline = state.store.create_pipeline(&new_pipeline(&body)?).await?;
    Ok(Json(convert::pipeline(&pipeline)))
}

/// The package of a version: its inline spec, or its URL fetched and read.
async fn version_package(body: &dto::PipelineVersion) -> ApiResult<Package> {
    match (
        &body.pipeline_spec,
        body.package_url
            .as_ref()
            .and_then(|u| u.pipeline_url.as_deref()),
    ) {
        (Some(spec), _) => Ok(package::from_value(Value::Object(spec.clone()))?),
        (None, Some(url)) => Ok(package::fetch(url).await?),
        (None, None) => Err(ApiError::invalid(
            "a pipeline version needs pipeline_spec or package_url.pipeline_url",
        )),
    }
}

/// A version body as a draft for the control layer.
fn version_draft(body: &dto::PipelineVersion) -> VersionDraft {
    VersionDraft {
        name: body.name.clone(),
        display_name: body.display_name.clone(),
        description: body.description.clone().unwrap_or_default(),
        package_url: body
            .package_url
            .as_ref()
            .and_then(|u| u.pipeline_url.clone()),
        code_source_url: body.code_source_url.clone(),
        tags: body.tags.clone(),
        fallback_name: None,
    }
}

pub async fn create_with_version(
    State(state): State<Shared>,
    Json(body): Json<dto::CreatePipelineAndVersionRequest>,
) -> ApiResult<Json<dto::Pipeline>> {
    let pipeline_body = body
        .pipeline
        .ok_or_else(|| ApiError::invalid("`pipeline` is required"))?;
    let version_body = body
        .pipeline_version
        .ok_or_else(|| ApiError::invalid("`pipeline_version` is required"))?;
    let package = version_package(&version_body).await?;
    let pipeline = new_pipeline(&pipeline_body)?;
    let (pipeline, _) = state
        .create_pipeline_with_version(pipeline, version_draft(&version_body), &package)
        .await?;
    Ok(Json(convert::pipeline(&pipeline)))
}

#[derive(Deserialize)]
pub struct UploadParams {
    name: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    namespace: Option<String>,
    /// `upload_version` names the pipeline with `pipelineid`.
    pipelineid: Option<String>,
    tags: Option<String>,
    code_source_url: Option<String>,
}

/// Reads the multipart field `uploadfile` (any file field is accepted).
async fn uploaded(mut multipart: Multipart) -> ApiResult<(String, Package)> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::invalid(format!("bad multipart body: {e}")))?
    {
        let file_name = field.file_name().unwrap_or("pipeline.yaml").to_owned();
        let is_file = field.name() == Some("uploadfile") || field.file_name().is_some();
        if !is_file {
            continue;
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::invalid(format!("cannot read the uploaded file: {e}")))?;
        let package = package::read(&bytes, &file_name)?;
        return Ok((file_name, package));
    }
    Err(ApiError::invalid(
        "the upload has no file: send it as the multipart field `uploadfile`",
    ))
}

fn tags(text: Option<&str>) -> ApiResult<std::collections::BTreeMap<String, String>> {
    match text.filter(|t| !t.is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::invalid(format!("`tags` must be a JSON object of strings: {e}"))
        }),
        None => Ok(Default::default()),
    }
}

pub async fn upload(
    State(state): State<Shared>,
    Query(params): Query<UploadParams>,
    multipart: Multipart,
) -> ApiResult<Json<dto::Pipeline>> {
    let (file_name, package) = uploaded(multipart).await?;
    let name = params
        .name
        .clone()
        .or_else(|| params.display_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| package::file_stem(&file_name));
    let body = dto::Pipeline {
        name: Some(name.clone()),
        display_name: Some(params.display_name.clone().unwrap_or(name)),
        description: params.description.clone(),
        namespace: params.namespace.clone(),
        tags: tags(params.tags.as_deref())?,
        ..Default::default()
    };
    let pipeline = new_pipeline(&body)?;
    let version = VersionDraft {
        code_source_url: params.code_source_url.clone(),
        description: params.description.clone().unwrap_or_default(),
        ..Default::default()
    };
    let (pipeline, _) = state
        .create_pipeline_with_version(pipeline, version, &package)
        .await?;
    Ok(Json(convert::pipeline(&pipeline)))
}

pub async fn upload_version(
    State(state): State<Shared>,
    Query(params): Query<UploadParams>,
    multipart: Multipart,
) -> ApiResult<Json<dto::PipelineVersion>> {
    let pipeline_id: PipelineId = match params.pipelineid.as_deref() {
        Some(id) => parse_id("pipeline", id)?,
        None => {
            return Err(ApiError::invalid(
                "upload_version needs the query parameter `pipelineid`",
            ))
        }
    };
    state.store.get_pipeline(pipeline_id).await?;
    let (file_name, package) = uploaded(multipart).await?;
    let version = VersionDraft {
        name: params.name.clone(),
        display_name: params.display_name.clone(),
        description: params.description.clone().unwrap_or_default(),
        code_source_url: params.code_source_url.clone(),
        tags: tags(params.tags.as_deref())?,
        fallback_name: Some(package::file_stem(&file_name)),
        ..Default::default()
    };
    Ok(Json(convert::version(
        &state
            .create_pipeline_version(pipeline_id, version, &package)
            .await?,
    )))
}

pub async fn get(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<dto::Pipeline>> {
    let id: PipelineId = parse_id("pipeline", &id)?;
    Ok(Json(convert::pipeline(
        &state.store.get_pipeline(id).await?,
    )))
}

#[derive(Deserialize)]
pub struct NamespaceParam {
    namespace: Option<String>,
}

pub async fn get_by_name(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(params): Query<NamespaceParam>,
) -> ApiResult<Json<dto::Pipeline>> {
    let pipeline = state
        .store
        .get_pipeline_by_name(params.namespace.as_deref().unwrap_or_default(), &name)
        .await?;
    Ok(Json(convert::pipeline(&pipeline)))
}

#[derive(Deserialize)]
pub struct DeleteParams {
    cascade: Option<bool>,
}

pub async fn delete(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> ApiResult<Json<Value>> {
    let id: PipelineId = parse_id("pipeline", &id)?;
    state
        .store
        .delete_pipeline(id, params.cascade.unwrap_or(false))
        .await?;
    Ok(empty())
}

pub async fn update(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<dto::Pipeline>,
) -> ApiResult<Json<dto::Pipeline>> {
    let id: PipelineId = parse_id("pipeline", &id)?;
    let update = PipelineUpdate {
        display_name: body.display_name,
        description: body.description,
        tags: (!body.tags.is_empty()).then_some(body.tags),
    };
    Ok(Json(convert::pipeline(
        &state.store.update_pipeline(id, &update).await?,
    )))
}

pub async fn list_versions(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<dto::ListQuery>,
) -> ApiResult<Json<dto::ListPipelineVersionsResponse>> {
    let id: PipelineId = parse_id("pipeline", &id)?;
    state.store.get_pipeline(id).await?;
    let listing = Listing::parse(&params)?;
    let page = state
        .store
        .list_pipeline_versions(id, &listing.query)
        .await?;
    Ok(Json(dto::ListPipelineVersionsResponse {
        pipeline_versions: page.items.iter().map(convert::version).collect(),
        total_size: total(page.total_size),
        next_page_token: listing.next_token(&page),
    }))
}

pub async fn create_version(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<dto::PipelineVersion>,
) -> ApiResult<Json<dto::PipelineVersion>> {
    let id: PipelineId = parse_id("pipeline", &id)?;
    state.store.get_pipeline(id).await?;
    let package = version_package(&body).await?;
    Ok(Json(convert::version(
        &state
            .create_pipeline_version(id, version_draft(&body), &package)
            .await?,
    )))
}

async fn owned_version(
    state: &Shared,
    pipeline: &str,
    version: &str,
) -> ApiResult<weir_store::PipelineVersion> {
    let pipeline_id: PipelineId = parse_id("pipeline", pipeline)?;
    let version_id: PipelineVersionId = parse_id("pipeline version", version)?;
    let found = state.store.get_pipeline_version(version_id).await?;
    if found.pipeline_id != pipeline_id {
        return Err(ApiError::not_found(format!(
            "pipeline {pipeline} has no version {version}"
        )));
    }
    Ok(found)
}

pub async fn get_version(
    State(state): State<Shared>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<dto::PipelineVersion>> {
    Ok(Json(convert::version(
        &owned_version(&state, &id, &version).await?,
    )))
}

pub async fn delete_version(
    State(state): State<Shared>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let found = owned_version(&state, &id, &version).await?;
    state.store.delete_pipeline_version(found.id).await?;
    Ok(empty())
}

pub async fn update_version(
    State(state): State<Shared>,
    Path((id, version)): Path<(String, String)>,
    Json(body): Json<dto::PipelineVersion>,
) -> ApiResult<Json<dto::PipelineVersion>> {
    let found = owned_version(&state, &id, &version).await?;
    let update = PipelineUpdate {
        display_name: body.display_name,
        description: body.description,
        tags: (!body.tags.is_empty()).then_some(body.tags),
    };
    Ok(Json(convert::version(
        &state
            .store
            .update_pipeline_version(found.id, &update)
            .await?,
    )))
}

/// Weir: a version's spec as the YAML `kfp` compiles (two documents when it has a platform
/// spec), so a pipeline can move between installations.
pub async fn download_version(
    State(state): State<Shared>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<impl axum::response::IntoResponse> {
    let found = owned_version(&state, &id, &version).await?;
    let (spec, platform) = match (
        found.pipeline_spec.get("pipeline_spec"),
        found.pipeline_spec.get("platform_spec"),
    ) {
        (Some(spec), platform) => (spec.clone(), platform.cloned()),
        (None, _) => (found.pipeline_spec.clone(), None),
    };
    let mut text = serde_norway::to_string(&spec).map_err(ApiError::internal)?;
    if let Some(platform) = platform.filter(|p| !p.is_null()) {
        text.push_str("---\n");
        text.push_str(&serde_norway::to_string(&platform).map_err(ApiError::internal)?);
    }
    let disposition = format!(
        "attachment; filename=\"{}.yaml\"",
        found.name.replace(['"', '/', '\\'], "_")
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/yaml".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    ))
}
