//! `/apis/v2beta1/pipelines` and their versions, uploads included.

use std::path::{Path, PathBuf};

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use weir_api_model::{
    ListPipelineVersionsResponse, ListPipelinesResponse, Pipeline, PipelineVersion,
};

use crate::{Client, ClientError, ListParams};

/// The largest package file [`PipelinePackage::read`] reads. The server reads at most 32 MiB
/// of pipeline text; archives may be somewhat larger.
pub const MAX_PACKAGE_BYTES: u64 = 64 * 1024 * 1024;

/// A pipeline package to upload: compiled YAML or JSON, or a `.zip` / `.tar.gz` holding one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinePackage {
    /// Sent as the upload's file name; the server names an unnamed pipeline after it.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl PipelinePackage {
    /// Reads a package file (at most [`MAX_PACKAGE_BYTES`]).
    pub async fn read(path: &Path) -> Result<PipelinePackage, ClientError> {
        let failed = |reason: String| ClientError::Package {
            path: PathBuf::from(path),
            reason,
        };
        let metadata = tokio::fs::metadata(path)
            .await
            .map_err(|error| failed(error.to_string()))?;
        if !metadata.is_file() {
            return Err(failed("it is not a file".to_owned()));
        }
        if metadata.len() > MAX_PACKAGE_BYTES {
            return Err(failed(format!(
                "it has {} bytes; packages are at most {MAX_PACKAGE_BYTES}",
                metadata.len()
            )));
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|error| failed(error.to_string()))?;
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline.yaml".to_owned());
        Ok(PipelinePackage { file_name, bytes })
    }

    fn form(&self) -> Form {
        let part = Part::bytes(self.bytes.clone()).file_name(self.file_name.clone());
        Form::new().part("uploadfile", part)
    }
}

impl Client {
    /// `POST /pipelines/upload`: a new pipeline with the package as its first version. Without
    /// a name the server uses the file name's stem.
    pub async fn upload_pipeline(
        &self,
        package: &PipelinePackage,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Pipeline, ClientError> {
        let mut query = Vec::new();
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            query.push(("name", name.to_owned()));
        }
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            query.push(("description", description.to_owned()));
        }
        let call = self.call(Method::POST, &["pipelines", "upload"]);
        self.send(call.query(&query).multipart(package.form()))
            .await
    }

    /// `POST /pipelines/upload_version`: a new version of an existing pipeline.
    pub async fn upload_pipeline_version(
        &self,
        pipeline_id: &str,
        package: &PipelinePackage,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<PipelineVersion, ClientError> {
        let mut query = vec![("pipelineid", pipeline_id.to_owned())];
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            query.push(("name", name.to_owned()));
        }
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            query.push(("description", description.to_owned()));
        }
        let call = self.call(Method::POST, &["pipelines", "upload_version"]);
        self.send(call.query(&query).multipart(package.form()))
            .await
    }

    pub async fn get_pipeline(&self, pipeline_id: &str) -> Result<Pipeline, ClientError> {
        self.send(self.call(Method::GET, &["pipelines", pipeline_id]))
            .await
    }

    /// The pipeline with this name (`name`, unique per namespace).
    pub async fn get_pipeline_by_name(&self, name: &str) -> Result<Pipeline, ClientError> {
        self.send(self.call(Method::GET, &["pipelines", "names", name]))
            .await
    }

    pub async fn list_pipelines(
        &self,
        params: &ListParams,
    ) -> Result<ListPipelinesResponse, ClientError> {
        self.send(
            self.call(Method::GET, &["pipelines"])
                .query(&params.query()),
        )
        .await
    }

    /// Deletes a pipeline; with `cascade`, its versions too (otherwise a pipeline that still
    /// has versions is refused).
    pub async fn delete_pipeline(
        &self,
        pipeline_id: &str,
        cascade: bool,
    ) -> Result<(), ClientError> {
        let query = if cascade {
            vec![("cascade", "true".to_owned())]
        } else {
            Vec::new()
        };
        self.send_empty(
            self.call(Method::DELETE, &["pipelines", pipeline_id])
                .query(&query),
        )
        .await
    }

    pub async fn list_pipeline_versions(
        &self,
        pipeline_id: &str,
        params: &ListParams,
    ) -> Result<ListPipelineVersionsResponse, ClientError> {
        let call = self.call(Method::GET, &["pipelines", pipeline_id, "versions"]);
        self.send(call.query(&params.query())).await
    }

    pub async fn get_pipeline_version(
        &self,
        pipeline_id: &str,
        version_id: &str,
    ) -> Result<PipelineVersion, ClientError> {
        self.send(self.call(
            Method::GET,
            &["pipelines", pipeline_id, "versions", version_id],
        ))
        .await
    }

    pub async fn delete_pipeline_version(
        &self,
        pipeline_id: &str,
        version_id: &str,
    ) -> Result<(), ClientError> {
        self.send_empty(self.call(
            Method::DELETE,
            &["pipelines", pipeline_id, "versions", version_id],
        ))
        .await
    }
}
