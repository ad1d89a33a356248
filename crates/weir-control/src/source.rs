//! Where the pipeline of a run or a recurring run comes from, and loading it into a checked
//! document with the stored pipeline and version it belongs to.

use std::path::PathBuf;

use serde_json::Value;
use weir_spec::PipelineDocument;
use weir_types::{PipelineId, PipelineVersionId};

use crate::error::{ControlError, ControlResult};
use crate::{package, Control};

/// Where a pipeline comes from.
pub enum PipelineSource {
    /// Read and checked already (a CLI's file, a REST body's inline spec, a UI form's version).
    Loaded(Box<LoadedPipeline>),
    /// A spec as JSON (a REST body's `pipeline_spec`), checked here.
    Json(Value),
    /// A stored pipeline version.
    Version(PipelineVersionId),
    /// The newest version of a stored pipeline.
    LatestVersion(PipelineId),
    /// A package file on this machine: YAML, JSON, `.zip` or `.tar.gz`.
    File(PathBuf),
}

/// A checked pipeline, and the stored pipeline and version it was taken from, if any.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    pub document: PipelineDocument,
    pub pipeline_id: Option<PipelineId>,
    pub version_id: Option<PipelineVersionId>,
}

impl From<LoadedPipeline> for PipelineSource {
    fn from(pipeline: LoadedPipeline) -> PipelineSource {
        PipelineSource::Loaded(Box::new(pipeline))
    }
}

impl LoadedPipeline {
    /// A pipeline of no stored pipeline or version.
    pub fn unstored(document: PipelineDocument) -> LoadedPipeline {
        LoadedPipeline {
            document,
            pipeline_id: None,
            version_id: None,
        }
    }
}

impl From<PipelineDocument> for PipelineSource {
    fn from(document: PipelineDocument) -> PipelineSource {
        LoadedPipeline::unstored(document).into()
    }
}

impl Control {
    /// Reads and checks the pipeline `source` names; a spec with errors is
    /// [`ControlError::InvalidPipeline`], a missing version is NOT_FOUND.
    pub async fn load_pipeline(&self, source: PipelineSource) -> ControlResult<LoadedPipeline> {
        let version = match source {
            PipelineSource::Loaded(pipeline) => return Ok(*pipeline),
            PipelineSource::Json(spec) => {
                return Ok(LoadedPipeline::unstored(package::document_from_value(
                    spec,
                )?))
            }
            PipelineSource::File(path) => {
                let package = package::read_file(&path, &path.display().to_string()).await?;
                return Ok(LoadedPipeline::unstored(package.document));
            }
            PipelineSource::Version(id) => self.store.get_pipeline_version(id).await?,
            PipelineSource::LatestVersion(pipeline_id) => self
                .store
                .latest_pipeline_version(pipeline_id)
                .await?
                .ok_or(ControlError::PipelineHasNoVersions(pipeline_id))?,
        };
        Ok(LoadedPipeline {
            document: package::document_from_value(version.pipeline_spec)?,
            pipeline_id: Some(version.pipeline_id),
            version_id: Some(version.id),
        })
    }
}
