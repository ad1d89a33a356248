//! What every part of a run's execution shares: the run, its spec and where things go on disk.

use std::path::{Path, PathBuf};

use weir_spec::model::{ComponentSpec, PipelineSpec, PipelineTaskSpec, PlatformSpec};
use weir_spec::PipelineDocument;
use weir_store::Run;
use weir_types::{RunId, TaskId};

/// Where Weir keeps its files under the data dir.
#[derive(Debug, Clone)]
pub struct Layout {
    data_dir: PathBuf,
}

impl Layout {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Layout {
            data_dir: data_dir.into(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("weir.db")
    }

    /// The default pipeline root: artifacts of every run live below it.
    pub fn artifact_root(&self) -> PathBuf {
        self.data_dir.join("artifacts")
    }

    pub fn task_log(&self, run: RunId, task: TaskId) -> PathBuf {
        self.data_dir
            .join("logs")
            .join(run.to_string())
            .join(format!("{task}.log"))
    }

    pub fn run_logs(&self, run: RunId) -> PathBuf {
        self.data_dir.join("logs").join(run.to_string())
    }

    /// Scratch space of one task: output parameter files and its TMPDIR.
    pub fn task_scratch(&self, run: RunId, task: TaskId) -> PathBuf {
        self.data_dir
            .join("work")
            .join(run.to_string())
            .join(task.to_string())
    }

    pub fn run_scratch(&self, run: RunId) -> PathBuf {
        self.data_dir.join("work").join(run.to_string())
    }

    pub fn python_envs(&self) -> PathBuf {
        self.data_dir.join("pyenvs")
    }

    /// The folder backing a named volume (a Kubernetes PVC).
    pub fn volume(&self, name: &str) -> PathBuf {
        self.data_dir.join("volumes").join(name)
    }

    pub fn volumes(&self) -> PathBuf {
        self.data_dir.join("volumes")
    }

    /// The per-run workspace (`PipelineConfig(workspace=...)`).
    pub fn workspace(&self, run: RunId) -> PathBuf {
        self.data_dir.join("workspaces").join(run.to_string())
    }

    /// Caches steps share on purpose (`XDG_CACHE_HOME`; pip's is `pip/` in it): everything
    /// else a step writes is its own.
    pub fn step_caches(&self) -> PathBuf {
        self.data_dir.join("cache")
    }
}

/// A step attempt's HOME: inside its scratch folder, made empty before each attempt and removed
/// with the folder, as a fresh pod's home would be.
pub fn step_home(scratch: &Path) -> PathBuf {
    scratch.join("home")
}

/// A run being executed.
#[derive(Debug)]
pub struct RunContext {
    pub run: Run,
    pub document: PipelineDocument,
    pub layout: Layout,
    /// Where the run's artifacts go: a local folder or remote storage.
    pub pipeline_root: weir_storage::StorageUri,
    /// What KFP calls the workflow name (`{{$.pipeline_job_resource_name}}`):
    /// `<pipeline>-<the run id's last 12 hex digits>` (see [`resource_name`]).
    pub resource_name: String,
}

impl RunContext {
    pub fn spec(&self) -> &PipelineSpec {
        &self.document.spec
    }

    pub fn platform(&self) -> Option<&PlatformSpec> {
        self.document.platform.as_ref()
    }

    pub fn pipeline_name(&self) -> &str {
        self.document.spec.name()
    }

    /// The component a DAG-like execution runs: the root, or a DAG task's component.
    pub fn component(&self, name: &str) -> Option<&ComponentSpec> {
        if name == ROOT_COMPONENT {
            Some(&self.document.spec.root)
        } else {
            self.document.spec.component(name)
        }
    }

    /// The task spec with this key in a component's DAG.
    pub fn task_spec(&self, component: &str, key: &str) -> Option<&PipelineTaskSpec> {
        self.component(component)?.dag.as_ref()?.tasks.get(key)
    }

    /// Where a task's output artifacts go: `<root>/<pipeline>/<run>/<task>/<task id>`, KFP's
    /// layout (its salt is the execution id here).
    pub fn task_root(&self, task_name: &str, task: TaskId) -> weir_storage::StorageUri {
        self.pipeline_root.join(&format!(
            "{}/{}/{}/{task}",
            sanitize(self.pipeline_name()),
            self.run.id,
            sanitize(task_name)
        ))
    }

    /// Where all of the run's artifacts go: `<root>/<pipeline>/<run>`.
    pub fn run_root(&self) -> weir_storage::StorageUri {
        self.pipeline_root.join(&format!(
            "{}/{}",
            sanitize(self.pipeline_name()),
            self.run.id
        ))
    }

    /// Whether the run's artifacts live in remote storage.
    pub fn remote_root(&self) -> bool {
        matches!(self.pipeline_root, weir_storage::StorageUri::S3(_))
    }
}

/// The run's resource name: the pipeline's name and the random end of the run id. A UUIDv7
/// begins with its creation time, so its first digits are shared by every run started within a
/// minute; its last 48 bits are random (and its monotonic counter's low bits), so two runs never
/// share a name, and a resumed run gets the same one again.
pub fn resource_name(pipeline: &str, run: RunId) -> String {
    let id = run.to_string();
    let tail = &id[id.len().saturating_sub(12)..];
    format!("{pipeline}-{tail}")
}

/// The name details use for the root component.
pub const ROOT_COMPONENT: &str = "root";

/// Keeps a name safe as one path segment.
pub fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match cleaned.trim_matches('.') {
        "" => "unnamed".to_owned(),
        safe => safe.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_started_together_have_different_resource_names() {
        let names: std::collections::HashSet<String> = (0..1000)
            .map(|_| resource_name("pipe", RunId::new()))
            .collect();
        assert_eq!(names.len(), 1000);
        let run = RunId::new();
        assert_eq!(resource_name("pipe", run), resource_name("pipe", run));
        assert!(resource_name("pipe", run).ends_with(&run.to_string()[24..]));
    }
}
