//! The use cases on pipelines that the REST API and the UI share: storing an uploaded package
//! as a new pipeline with its first version, or as a new version of a stored pipeline.

use weir_store::{NewPipeline, NewPipelineVersion, Pipeline, PipelineVersion, Tags};
use weir_types::{PipelineId, PipelineVersionId};

use crate::error::ControlResult;
use crate::package::Package;
use crate::Control;

/// A pipeline version to store, as the caller named it.
#[derive(Debug, Clone, Default)]
pub struct VersionDraft {
    /// Absent or empty: `display_name`, else the fallback.
    pub name: Option<String>,
    /// Absent: the name.
    pub display_name: Option<String>,
    pub description: String,
    /// Where the package was fetched from.
    pub package_url: Option<String>,
    pub code_source_url: Option<String>,
    pub tags: Tags,
    /// The name when the draft has none. Absent: the pipeline's name for a first version,
    /// `<pipeline name>-<YYYYmmddHHMMSS>` for a later one.
    pub fallback_name: Option<String>,
}

impl VersionDraft {
    fn into_new_version(
        self,
        pipeline_id: PipelineId,
        package: &Package,
        default_name: impl FnOnce() -> String,
    ) -> NewPipelineVersion {
        let name = self
            .name
            .or_else(|| self.display_name.clone())
            .filter(|n| !n.is_empty())
            .or(self.fallback_name)
            .unwrap_or_else(default_name);
        NewPipelineVersion {
            id: PipelineVersionId::new(),
            pipeline_id,
            display_name: self.display_name.unwrap_or_else(|| name.clone()),
            name,
            description: self.description,
            pipeline_spec: package.spec_json.clone(),
            package_url: self.package_url,
            code_source_url: self.code_source_url,
            tags: self.tags,
        }
    }
}

impl Control {
    /// Stores a pipeline and its first version together: on any error, neither exists.
    pub async fn create_pipeline_with_version(
        &self,
        pipeline: NewPipeline,
        version: VersionDraft,
        package: &Package,
    ) -> ControlResult<(Pipeline, PipelineVersion)> {
        let version = version.into_new_version(pipeline.id, package, || pipeline.name.clone());
        Ok(self
            .store
            .create_pipeline_with_version(&pipeline, &version)
            .await?)
    }

    /// Stores a new version of a stored pipeline.
    pub async fn create_pipeline_version(
        &self,
        pipeline_id: PipelineId,
        version: VersionDraft,
        package: &Package,
    ) -> ControlResult<PipelineVersion> {
        let pipeline = self.store.get_pipeline(pipeline_id).await?;
        let version = version.into_new_version(pipeline_id, package, || {
            format!(
                "{}-{}",
                pipeline.name,
                chrono::Utc::now().format("%Y%m%d%H%M%S")
            )
        });
        Ok(self.store.create_pipeline_version(&version).await?)
    }
}
