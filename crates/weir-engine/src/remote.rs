//! Artifacts under a remote pipeline root (`s3://`, `minio://`), moved as KFP's launcher moves
//! them: a step sees every remote artifact at KFP's local form of its URI (`s3://b/k` at
//! `/s3/b/k`); on the host those paths are a staging folder in the step's scratch space,
//! mounted at `/s3` and `/minio` for the step. Inputs are downloaded into it before the step
//! runs, outputs uploaded from it after the step succeeded and before they are recorded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir_executors::Bind;
use weir_storage::{kfp_local_path, ArtifactRoot, S3Uri, StorageSettings, StorageUri};

/// The top folders of KFP's local forms that Weir stages: one per S3 scheme.
const STAGED_TOPS: [&str; 2] = ["s3", "minio"];

/// Whether a URI names remote storage (a path is local).
pub fn is_remote(uri: &str) -> bool {
    matches!(StorageUri::parse(uri), Ok(StorageUri::S3(_)))
}

/// Where `uri` lies on the host while a step runs: its staged copy for a remote URI, the path
/// itself (or KFP's local form, for schemes Weir does not stage) otherwise.
pub fn host_path(scratch: &Path, uri: &str) -> PathBuf {
    match StorageUri::parse(uri) {
        Ok(StorageUri::S3(_)) => {
            let local = kfp_local_path(uri).unwrap_or_default();
            staging(scratch).join(local.strip_prefix("/").unwrap_or(&local))
        }
        _ => PathBuf::from(crate::io::local_path(uri)),
    }
}

/// The step's staging folder.
pub fn staging(scratch: &Path) -> PathBuf {
    scratch.join("remote")
}

/// The staging folders mounted where KFP's local forms put them (`/s3`, `/minio`).
pub fn staging_mounts(scratch: &Path) -> Vec<Bind> {
    STAGED_TOPS
        .iter()
        .map(|top| Bind {
            source: staging(scratch).join(top),
            target: format!("/{top}"),
            read_only: false,
        })
        .collect()
}

/// Opened buckets, shared by every run of an engine.
pub struct Remote {
    settings: StorageSettings,
    buckets: Mutex<HashMap<String, Arc<ArtifactRoot>>>,
    /// Roots a probe found writable, and when: a burst of runs on one root probes it once.
    probed: Mutex<HashMap<String, Instant>>,
}

/// How long a successful probe of a root is trusted.
const PROBE_TRUSTED_FOR: Duration = Duration::from_secs(60);

impl Remote {
    pub fn new(settings: StorageSettings) -> Remote {
        Remote {
            settings,
            buckets: Mutex::new(HashMap::new()),
            probed: Mutex::new(HashMap::new()),
        }
    }

    /// Checks that Weir can write under a pipeline root (a local folder is created).
    pub async fn probe(&self, root: &StorageUri) -> Result<(), String> {
        let name = root.to_string();
        let trusted = self.probed.lock().ok().and_then(|p| p.get(&name).copied());
        if trusted.is_some_and(|at| at.elapsed() < PROBE_TRUSTED_FOR) {
            return Ok(());
        }
        let opened = ArtifactRoot::open_uri(root.clone(), &self.settings)
            .await
            .map_err(|e| e.to_string())?;
        opened.probe().await.map_err(|e| e.to_string())?;
        if let Ok(mut probed) = self.probed.lock() {
            probed.insert(name, Instant::now());
        }
        Ok(())
    }

    /// Downloads the object or prefix at `uri` to `destination`.
    pub async fn download(&self, uri: &str, destination: &Path) -> Result<(), String> {
        let (bucket, key) = self.bucket(uri).await?;
        bucket
            .get_to_path(&key, destination)
            .await
            .map_err(|e| e.to_string())
    }

    /// Uploads the file or folder at `source` to `uri`.
    pub async fn upload(&self, uri: &str, source: &Path) -> Result<(), String> {
        let (bucket, key) = self.bucket(uri).await?;
        let is_dir = tokio::fs::metadata(source)
            .await
            .map(|m| m.is_dir())
            .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        let uploaded = if is_dir {
            bucket.put_dir(&key, source).await
        } else {
            bucket.put_file(&key, source).await
        };
        uploaded.map_err(|e| e.to_string())
    }

    /// Deletes every object under `uri` (a run's artifacts).
    pub async fn delete(&self, uri: &str) -> Result<usize, String> {
        let (bucket, key) = self.bucket(uri).await?;
        bucket.delete_prefix(&key).await.map_err(|e| e.to_string())
    }

    /// The bucket of a remote URI, opened once, and the key in it.
    async fn bucket(&self, uri: &str) -> Result<(Arc<ArtifactRoot>, String), String> {
        let StorageUri::S3(s3) = StorageUri::parse(uri).map_err(|e| e.to_string())? else {
            return Err(format!("{uri} is not in remote storage"));
        };
        let name = format!("{}://{}", s3.scheme.as_str(), s3.bucket);
        if let Some(open) = self.open_bucket(&name) {
            return Ok((open, s3.key));
        }
        let whole = StorageUri::S3(S3Uri {
            key: String::new(),
            ..s3.clone()
        });
        let opened = ArtifactRoot::open_uri(whole, &self.settings)
            .await
            .map(Arc::new)
            .map_err(|e| e.to_string())?;
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.insert(name, opened.clone());
        }
        Ok((opened, s3.key))
    }

    fn open_bucket(&self, name: &str) -> Option<Arc<ArtifactRoot>> {
        self.buckets.lock().ok()?.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_uris_are_staged_in_the_scratch_folder() {
        let scratch = Path::new("/data/work/r/t");
        assert_eq!(
            host_path(scratch, "s3://bucket/root/p/a"),
            PathBuf::from("/data/work/r/t/remote/s3/bucket/root/p/a")
        );
        assert_eq!(
            host_path(scratch, "minio://bkt/k"),
            PathBuf::from("/data/work/r/t/remote/minio/bkt/k")
        );
        assert_eq!(
            host_path(scratch, "/data/artifacts/x"),
            PathBuf::from("/data/artifacts/x")
        );
        assert!(is_remote("s3://bkt/k") && !is_remote("/data/x"));
    }
}
