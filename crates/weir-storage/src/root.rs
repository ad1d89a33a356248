//! [`ArtifactRoot`]: the one interface to a local folder or an S3 bucket and prefix.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::AsyncRead;
use tokio_util::io::StreamReader;

use crate::error::{classify, Backend, ObjectRef, Operation, StorageError};
use crate::settings::{StorageSettings, TransferSettings};
use crate::uri::{check_key, join_keys, StorageUri};

/// Where artifacts (and logs) are kept: a local folder or an S3 bucket and prefix.
///
/// One struct for both backends rather than a trait of our own: both are `object_store`
/// stores (`LocalFileSystem` and `AmazonS3`) behind its `ObjectStore` trait object, so every
/// operation is written once and the conformance tests check the same code on both. What
/// differs is kept in a small enum: the local folder, for [`local_path`](Self::local_path)
/// (readers take a producer's files in place, no copy), and the bucket and endpoint, for
/// error messages. Keys are relative to the root, segments separated by `/`.
///
/// Every write is atomic: `object_store` writes a local file under a temporary name and renames
/// it, and an S3 multipart upload that fails is aborted, so a half-written object never appears.
/// File names ending in `#` and digits are refused on the local backend (its temporary names).
#[derive(Clone)]
pub struct ArtifactRoot {
    pub(crate) uri: StorageUri,
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The key prefix of the root inside `store`: the URI's key on S3, empty for a folder.
    pub(crate) prefix: String,
    pub(crate) backend: Backend,
    pub(crate) transfer: TransferSettings,
}

/// An object's key (relative to the root), size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key, relative to the root.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// When the object was last written.
    pub last_modified: SystemTime,
}

/// A stream of an object's bytes, or of a range of them.
pub struct ObjectStream {
    /// The size of the whole object.
    pub object_size: u64,
    /// The bytes the stream yields, as offsets into the object.
    pub range: Range<u64>,
    /// The bytes, in chunks as they arrive.
    pub bytes: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl ObjectStream {
    /// The stream as an `AsyncRead`; errors become `std::io::Error`s carrying the message.
    pub fn into_async_read(self) -> impl AsyncRead + Send + Unpin {
        StreamReader::new(self.bytes.map_err(std::io::Error::other))
    }
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("object_size", &self.object_size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ArtifactRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactRoot")
            .field("uri", &self.uri.to_string())
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl ArtifactRoot {
    /// Opens the root named by a pipeline root URI. A local folder is created if missing; S3
    /// is not contacted (call [`probe`](Self::probe) to check the root is usable).
    pub async fn open(uri: &str, settings: &StorageSettings) -> Result<ArtifactRoot, StorageError> {
        ArtifactRoot::open_uri(StorageUri::parse(uri)?, settings).await
    }

    /// [`open`](Self::open) for a URI already parsed.
    pub async fn open_uri(
        uri: StorageUri,
        settings: &StorageSettings,
    ) -> Result<ArtifactRoot, StorageError> {
        let (store, prefix, backend) = match &uri {
            StorageUri::Local(dir) => {
                let store = open_folder(dir.clone()).await?;
                (store, String::new(), Backend::Local { dir: dir.clone() })
            }
            StorageUri::S3(s3) => {
                let (store, endpoint) = crate::s3::open_bucket(s3, &settings.s3)?;
                let bucket = s3.bucket.clone();
                (store, s3.key.clone(), Backend::S3 { bucket, endpoint })
            }
        };
        let transfer = settings.transfer.checked();
        Ok(ArtifactRoot {
            uri,
            store,
            prefix,
            backend,
            transfer,
        })
    }

    /// The root's URI, as parsed.
    pub fn uri(&self) -> &StorageUri {
        &self.uri
    }

    /// The file for `key` in place when the root is a local folder, `None` on S3. Producers may
    /// write there directly and readers read there, with no copy.
    pub fn local_path(&self, key: &str) -> Result<Option<PathBuf>, StorageError> {
        checked_key(key)?;
        match &self.backend {
            Backend::Local { dir } if key.is_empty() => Ok(Some(dir.clone())),
            Backend::Local { dir } => Ok(Some(dir.join(key))),
            Backend::S3 { .. } => Ok(None),
        }
    }

    /// The object's size and time, or `None` when there is no object at `key`.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        let location = self.location(key)?;
        match self.store.head(&location).await {
            Ok(meta) => Ok(Some(self.info(meta))),
            Err(error) => match self.error(error, Operation::Head, key) {
                StorageError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Every object under `prefix` (a directory artifact, a run), sorted by key; the object at
    /// `prefix` itself is not included. An empty prefix lists the whole root.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let location = self.location(prefix)?;
        let metas: Vec<ObjectMeta> = self
            .store
            .list(Some(&location))
            .map_err(|error| self.error(error, Operation::List, prefix))
            .try_collect()
            .await?;
        let mut objects: Vec<ObjectInfo> = metas
            .into_iter()
            .filter(|meta| meta.location != location)
            .map(|meta| self.info(meta))
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Deletes the object at `prefix` and every object under it; returns how many there were.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let mut keys: Vec<String> = self
            .list(prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        if !prefix.is_empty() && self.head(prefix).await?.is_some() {
            keys.push(prefix.to_owned());
        }
        let locations = keys
            .iter()
            .map(|key| self.location(key))
            .collect::<Result<Vec<_>, _>>()?;
        let requests = futures_util::stream::iter(locations.into_iter().map(Ok)).boxed();
        let deleted: Vec<Path> = self
            .store
            .delete_stream(requests)
            .map_err(|error| self.error(error, Operation::Delete, prefix))
            .try_collect()
            .await?;
        Ok(deleted.len())
    }

    /// Streams the object at `key`, or the bytes in `range` of it (an end past the object's
    /// end is cut to it; a start past it is an error).
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ObjectStream, StorageError> {
        let location = self.location(key)?;
        if let Some(range) = range.as_ref().filter(|range| range.start >= range.end) {
            let object_size = self.head(key).await?.map(|info| info.size);
            let object = self.object_ref(key);
            let object_size = object_size.ok_or(StorageError::NotFound { object })?;
            let bytes = futures_util::stream::empty().boxed();
            return Ok(ObjectStream {
                object_size,
                range: range.start..range.start,
                bytes,
            });
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&location, options)
            .await
            .map_err(|error| self.error(error, Operation::Read, key))?;
        let (object, backend) = (self.object_ref(key), self.backend.clone());
        let object_size = result.meta.size;
        let range = result.range.clone();
        let bytes = result
            .into_stream()
            .map_err(move |error| classify(error, Operation::Read, object.clone(), &backend))
            .boxed();
        Ok(ObjectStream {
            object_size,
            range,
            bytes,
        })
    }

    /// Checks that the root can be written: writes a marker object and deletes it. The error
    /// names the root; run creation calls this so a bad root is refused before anything runs.
    pub async fn probe(&self) -> Result<(), StorageError> {
        let key = format!(".weir-probe/{}", uuid::Uuid::now_v7());
        let written = async {
            let location = self.location(&key)?;
            let marker = PutPayload::from_static(b"weir probe\n");
            self.store
                .put(&location, marker)
                .await
                .map_err(|error| self.error(error, Operation::Upload, &key))?;
            self.store
                .delete(&location)
                .await
                .map_err(|error| self.error(error, Operation::Delete, &key))
        };
        written.await.map_err(|source| StorageError::NotWritable {
            root: self.uri.to_string(),
            source: Box::new(source),
        })
    }

    /// The store's path for `key`.
    pub(crate) fn location(&self, key: &str) -> Result<Path, StorageError> {
        checked_key(key)?;
        let full = join_keys(&self.prefix, key);
        Path::parse(&full).map_err(|error| StorageError::InvalidKey {
            key: key.to_owned(),
            reason: error.to_string(),
        })
    }

    /// How error messages name `key`: bucket and full key, or the local file.
    pub(crate) fn object_ref(&self, key: &str) -> ObjectRef {
        match &self.backend {
            Backend::Local { dir } => ObjectRef::Local(dir.join(key)),
            Backend::S3 { bucket, .. } => ObjectRef::S3 {
                bucket: bucket.clone(),
                key: join_keys(&self.prefix, key),
            },
        }
    }

    pub(crate) fn error(
        &self,
        error: object_store::Error,
        operation: Operation,
        key: &str,
    ) -> StorageError {
        classify(error, operation, self.object_ref(key), &self.backend)
    }

    fn info(&self, meta: ObjectMeta) -> ObjectInfo {
        let full: &str = meta.location.as_ref();
        let key = match self.prefix.as_str() {
            "" => full,
            prefix => full
                .strip_prefix(prefix)
                .map_or(full, |rest| rest.trim_start_matches('/')),
        };
        ObjectInfo {
            key: key.to_owned(),
            size: meta.size,
            last_modified: meta.last_modified.into(),
        }
    }
}

pub(crate) fn checked_key(key: &str) -> Result<(), StorageError> {
    check_key(key).map_err(|reason| StorageError::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// A `LocalFileSystem` over `dir`, created if missing. Empty folders left by deletions are
/// removed up to the root.
async fn open_folder(dir: PathBuf) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let action = "open the artifact root";
    let folder = dir.clone();
    let open = move || -> Result<Arc<dyn ObjectStore>, StorageError> {
        std::fs::create_dir_all(&folder)
            .map_err(StorageError::local_io("create the artifact root", &folder))?;
        let store = LocalFileSystem::new_with_prefix(&folder).map_err(|error| {
            StorageError::local_io(action, &folder)(std::io::Error::other(error))
        })?;
        Ok(Arc::new(store.with_automatic_cleanup(true)))
    };
    let joined = tokio::task::spawn_blocking(open).await;
    joined.map_err(|error| StorageError::local_io(action, &dir)(std::io::Error::other(error)))?
}
