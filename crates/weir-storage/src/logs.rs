//! The log store: a step's log is appended to a local file while the step runs and kept in the
//! artifact root afterwards, so that any process (the UI, `weir logs`, the API) can read it.

use std::io::SeekFrom;
use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncSeekExt};

use crate::error::StorageError;
use crate::root::ArtifactRoot;
use crate::uri::check_segment;

/// A log read from an offset, from wherever the log is.
pub type LogReader = Box<dyn AsyncRead + Send + Unpin>;

/// Step logs under `logs/<run>/<task>.log` in an artifact root.
///
/// On a local root the log is written in place and publishing does nothing. On S3 it is written
/// to a spool folder on this machine and uploaded by [`publish`](Self::publish) when the step
/// ends, after which the local copy is removed.
#[derive(Debug, Clone)]
pub struct LogStore {
    root: ArtifactRoot,
    spool: PathBuf,
}

impl LogStore {
    /// A log store in `root`, spooling logs of running steps to the folder `spool` when the
    /// root is remote.
    pub fn new(root: ArtifactRoot, spool: impl Into<PathBuf>) -> LogStore {
        LogStore {
            root,
            spool: spool.into(),
        }
    }

    /// The key of a step's log in the root. `run` and `task` are single key segments (ids).
    pub fn key(run: &str, task: &str) -> Result<String, StorageError> {
        for name in [run, task] {
            check_segment(name).map_err(|reason| StorageError::InvalidKey {
                key: name.to_owned(),
                reason,
            })?;
        }
        Ok(format!("logs/{run}/{task}.log"))
    }

    /// The local file a running step's output is appended to; its folder is created.
    pub async fn log_file(&self, run: &str, task: &str) -> Result<PathBuf, StorageError> {
        let path = self.local_file(run, task)?;
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder)
                .await
                .map_err(StorageError::local_io("create the log folder", folder))?;
        }
        Ok(path)
    }

    /// Keeps a finished step's log in the root: uploads it and removes the local copy on S3;
    /// nothing on a local root, where the log already is in place.
    pub async fn publish(&self, run: &str, task: &str) -> Result<(), StorageError> {
        let key = LogStore::key(run, task)?;
        let path = self.local_file(run, task)?;
        if self.root.local_path(&key)?.is_some() {
            return Ok(());
        }
        self.root.put_file(&key, &path).await?;
        if let Err(error) = tokio::fs::remove_file(&path).await {
            tracing::warn!(path = %path.display(), %error, "a published log's local copy was not removed");
        }
        Ok(())
    }

    /// Reads a step's log from byte `offset`: the local file while it exists (the step runs,
    /// or ran on this machine and is not yet published), the object in the root otherwise. An
    /// offset past the end gives an empty reader.
    pub async fn open(
        &self,
        run: &str,
        task: &str,
        offset: u64,
    ) -> Result<LogReader, StorageError> {
        let key = LogStore::key(run, task)?;
        let path = self.local_file(run, task)?;
        let is_local_root = self.root.local_path(&key)?.is_some();
        match tokio::fs::File::open(&path).await {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(offset))
                    .await
                    .map_err(StorageError::local_io("read the log", &path))?;
                return Ok(Box::new(file));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !is_local_root => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound {
                    object: self.root.object_ref(&key),
                });
            }
            Err(error) => return Err(StorageError::local_io("read the log", &path)(error)),
        }
        let size = self.root.head(&key).await?.map(|info| info.size);
        let size = size.ok_or_else(|| StorageError::NotFound {
            object: self.root.object_ref(&key),
        })?;
        let object = self.root.read(&key, Some(offset.min(size)..size)).await?;
        Ok(Box::new(object.into_async_read()))
    }

    /// Where the log is written while the step runs: in place on a local root, in the spool
    /// folder otherwise.
    fn local_file(&self, run: &str, task: &str) -> Result<PathBuf, StorageError> {
        let key = LogStore::key(run, task)?;
        match self.root.local_path(&key)? {
            Some(in_place) => Ok(in_place),
            None => Ok(self.spool.join(run).join(format!("{task}.log"))),
        }
    }
}
