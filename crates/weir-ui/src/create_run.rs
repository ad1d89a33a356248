//! `/runs/new`: start a run from a pipeline version (`?version=`) or as a clone of a run
//! (`?clone=`), with a form built from the pipeline's typed inputs: defaults filled in, JSON
//! for lists and structs, and a "use cache" switch. Without either, it offers the versions.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use weir_control::{package, ExperimentRef, LoadedPipeline, NewRun};
use weir_spec::model::{ParameterSpec, ParameterType};
use weir_spec::PipelineDocument;
use weir_store::{ListQuery, RunOptions, SortBy};
use weir_types::{ExperimentId, PipelineId, PipelineVersionId, RunId};

use super::html::Params;
use super::Shared;
use super::{format, render, see_other, UiError, UiResult};

/// One pipeline input on a form.
pub struct ParamField {
    pub name: String,
    pub type_name: String,
    /// `text`, `integer`, `double`, `boolean` or `json`.
    pub input: &'static str,
    pub value: String,
    pub optional: bool,
    pub description: String,
    pub error: String,
}

/// The fields of a pipeline's inputs, filled with `values` where given, else the defaults.
pub fn param_fields(document: &PipelineDocument, values: &Map<String, Value>) -> Vec<ParamField> {
    let Some(inputs) = &document.spec.root.input_definitions else {
        return Vec::new();
    };
    inputs
        .parameters
        .iter()
        .map(|(name, spec)| {
            let declared = spec.parameter_type.clone().unwrap_or(ParameterType::String);
            let input = match declared {
                ParameterType::NumberInteger => "integer",
                ParameterType::NumberDouble => "double",
                ParameterType::Boolean => "boolean",
                ParameterType::List | ParameterType::Struct => "json",
                _ => "text",
            };
            let value = values.get(name).or(spec.default_value.as_ref());
            let value = match (input, value) {
                (_, None) => String::new(),
                ("json", Some(v)) => serde_json::to_string_pretty(v).unwrap_or_default(),
                // Protobuf keeps every number as a double: an integer default reads `2.0`.
                (_, Some(Value::Number(n))) => n.as_f64().map(format::number).unwrap_or_default(),
                (_, Some(v)) => format::value(v),
            };
            ParamField {
                name: name.clone(),
                type_name: declared.name().to_owned(),
                input,
                value,
                optional: spec.is_optional() || spec.default_value.is_some(),
                description: spec.description.clone().unwrap_or_default(),
                error: String::new(),
            }
        })
        .collect()
}

/// Reads `p.<name>` fields back into typed values; the fields keep what was typed and get an
/// error each where it does not parse. Empty optional fields are left to their defaults.
pub fn read_params(
    document: &PipelineDocument,
    form: &Params,
) -> (Map<String, Value>, Vec<ParamField>, bool) {
    let mut fields = param_fields(document, &Map::new());
    let mut values = Map::new();
    let mut ok = true;
    let specs = document.spec.root.input_definitions.as_ref();
    for field in &mut fields {
        let text = form.raw(&format!("p.{}", field.name)).unwrap_or_default();
        field.value = text.to_owned();
        let spec: Option<&ParameterSpec> = specs.and_then(|s| s.parameters.get(&field.name));
        if text.trim().is_empty() && field.input != "text" {
            if !field.optional {
                field.error = "required".to_owned();
                ok = false;
            }
            continue;
        }
        if text.is_empty() && field.optional {
            continue;
        }
        let declared = spec.and_then(|s| s.parameter_type.as_ref());
        match weir_engine::parse_cli_value(text.trim_end_matches(['\r', '\n']), declared) {
            Ok(value) => {
                values.insert(field.name.clone(), value);
            }
            Err(message) => {
                field.error = message;
                ok = false;
            }
        }
    }
    (values, fields, ok)
}

/// Experiments for a select, by name.
pub async fn experiment_options(state: &Shared) -> UiResult<Vec<(String, String)>> {
    let query = ListQuery::default()
        .sorted_by(SortBy::ascending("display_name"))
        .with_page_size(200);
    let page = state.store.list_experiments(&query).await?;
    Ok(page
        .items
        .into_iter()
        .filter(|e| !e.archived)
        .map(|e| (e.id.to_string(), e.name))
        .collect())
}

/// Pipeline versions to start from, newest pipelines first (at most 50, 10 versions each).
pub async fn version_options(state: &Shared) -> UiResult<Vec<(String, String)>> {
    let newest_first = |size| {
        ListQuery::default()
            .sorted_by(SortBy::descending("created_at"))
            .with_page_size(size)
    };
    let mut options = Vec::new();
    for pipeline in state.store.list_pipelines(&newest_first(50)).await?.items {
        let versions = state
            .store
            .list_pipeline_versions(pipeline.id, &newest_first(10))
            .await?;
        for version in versions.items {
            let label = format!("{} / {}", pipeline.display_name, version.display_name);
            options.push((version.id.to_string(), label));
        }
    }
    Ok(options)
}

#[derive(askama::Template)]
#[template(path = "create_run.html")]
struct CreateRunPage {
    source: String,
    version: String,
    clone: String,
    name: String,
    description: String,
    experiment: String,
    experiments: Vec<(String, String)>,
    tags: String,
    use_cache: bool,
    fields: Vec<ParamField>,
    versions: Vec<(String, String)>,
    error: String,
}

/// Where the new run's spec comes from.
struct Source {
    document: PipelineDocument,
    label: String,
    pipeline_id: Option<PipelineId>,
    version_id: Option<PipelineVersionId>,
    defaults: Map<String, Value>,
    name: String,
    experiment: String,
    tags: String,
}

async fn source(state: &Shared, params: &Params) -> UiResult<Option<Source>> {
    if let Some(id) = params.get("version") {
        let id: PipelineVersionId = super::parse_id("pipeline version", id)?;
        let version = state.store.get_pipeline_version(id).await?;
        let pipeline = state.store.get_pipeline(version.pipeline_id).await?;
        let package = package::from_value(version.pipeline_spec.clone())?;
        return Ok(Some(Source {
            document: package.document,
            label: format!("{} / {}", pipeline.display_name, version.display_name),
            pipeline_id: Some(pipeline.id),
            version_id: Some(version.id),
            defaults: Map::new(),
            name: format!(
                "{} {}",
                pipeline.display_name,
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
            ),
            experiment: String::new(),
            tags: String::new(),
        }));
    }
    let Some(id) = params.get("clone") else {
        return Ok(None);
    };
    let id: RunId = super::parse_id("run", id)?;
    let run = state.store.get_run(id).await?;
    let stored = run
        .pipeline_spec
        .to_value()
        .map_err(|e| UiError::internal(format!("the stored spec of run {id}: {e}")))?;
    let package = package::from_value(stored)?;
    Ok(Some(Source {
        document: package.document,
        label: format!("a clone of run {}", run.display_name),
        pipeline_id: run.pipeline_id,
        version_id: run
            .pipeline_version_id
            .as_deref()
            .and_then(|v| v.parse().ok()),
        defaults: run.runtime_config.parameters.clone(),
        name: format!("Clone of {}", run.display_name),
        experiment: run.experiment_id.map(|e| e.to_string()).unwrap_or_default(),
        tags: run.tags.join(", "),
    }))
}

pub async fn form(State(state): State<Shared>, RawQuery(query): RawQuery) -> UiResult {
    let params = Params::from_query(query);
    let source = source(&state, &params).await?;
    let experiments = experiment_options(&state).await?;
    let Some(source) = source else {
        return render(&CreateRunPage {
            source: String::new(),
            version: String::new(),
            clone: String::new(),
            name: String::new(),
            description: String::new(),
            experiment: String::new(),
            experiments,
            tags: String::new(),
            use_cache: true,
            fields: Vec::new(),
            versions: version_options(&state).await?,
            error: String::new(),
        });
    };
    render(&CreateRunPage {
        fields: param_fields(&source.document, &source.defaults),
        source: source.label,
        version: params.get("version").unwrap_or_default().to_owned(),
        clone: params.get("clone").unwrap_or_default().to_owned(),
        name: source.name,
        description: String::new(),
        experiment: params
            .get("experiment")
            .map(str::to_owned)
            .unwrap_or(source.experiment),
        experiments,
        tags: source.tags,
        use_cache: true,
        versions: Vec::new(),
        error: String::new(),
    })
}

pub async fn submit(State(state): State<Shared>, body: Bytes) -> UiResult {
    let form = Params::from_body(&body);
    let source = source(&state, &form)
        .await?
        .ok_or_else(|| UiError::bad_request("choose a pipeline version first"))?;
    let (parameters, fields, valid) = read_params(&source.document, &form);
    let experiment_id: Option<ExperimentId> = match form.get("experiment") {
        Some(id) => Some(super::parse_id("experiment", id)?),
        None => None,
    };
    let use_cache = form.flag("use_cache");
    let mut page = CreateRunPage {
        source: source.label.clone(),
        version: form.get("version").unwrap_or_default().to_owned(),
        clone: form.get("clone").unwrap_or_default().to_owned(),
        name: form.get("name").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        experiment: form.get("experiment").unwrap_or_default().to_owned(),
        experiments: experiment_options(&state).await?,
        tags: form.get("tags").unwrap_or_default().to_owned(),
        use_cache,
        fields,
        versions: Vec::new(),
        error: String::new(),
    };
    if !valid {
        page.error = "Some parameters need fixing.".to_owned();
        return refused(&page);
    }
    let new_run = NewRun {
        display_name: form.get("name").map(str::to_owned),
        description: form.get("description").map(str::to_owned),
        experiment: experiment_id.map(ExperimentRef::Id),
        parameters,
        options: RunOptions {
            no_cache: !use_cache,
            max_parallel: None,
        },
        tags: super::run_detail::split_tags(form.get("tags").unwrap_or_default()),
        ..NewRun::new(
            LoadedPipeline {
                document: source.document,
                pipeline_id: source.pipeline_id,
                version_id: source.version_id,
            }
            .into(),
        )
    };
    match state.create_run(new_run).await {
        Ok(run) => Ok(see_other(Some(&format!("/runs/{}", run.id)), "/runs")),
        Err(error) => {
            page.error = UiError::from(error).message().to_owned();
            refused(&page)
        }
    }
}

fn refused(page: &CreateRunPage) -> UiResult {
    let response = render(page)?;
    Ok((StatusCode::BAD_REQUEST, response).into_response())
}
