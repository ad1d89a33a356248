//! Moving files between local paths and an [`ArtifactRoot`], streamed.

use std::path::{Path as FsPath, PathBuf};

use futures_util::stream::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::error::{Operation, StorageError};
use crate::root::ArtifactRoot;
use crate::uri::{check_segment, join_keys};

/// Why sending the parts of an upload stopped.
enum PartsError {
    /// Reading the local file failed.
    Read(std::io::Error),
    /// The store refused a part.
    Store(object_store::Error),
}

impl ArtifactRoot {
    /// Uploads the file at `source` to `key`. Files below the multipart threshold go in one
    /// request; larger ones in parts, holding at most `part_size * (max_concurrent_parts + 1)`
    /// bytes in memory. A failed upload is aborted and leaves no object. On a local root, a
    /// `source` that is already the key's file in place is left as it is.
    pub async fn put_file(&self, key: &str, source: &FsPath) -> Result<(), StorageError> {
        let location = self.location(key)?;
        if self.is_in_place(key, source)? {
            return Ok(());
        }
        let mut file = File::open(source)
            .await
            .map_err(StorageError::local_io("open", source))?;
        let metadata = file
            .metadata()
            .await
            .map_err(StorageError::local_io("read", source))?;
        if metadata.len() >= self.transfer.multipart_threshold {
            return self.put_in_parts(&location, key, file, source).await;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .await
            .map_err(StorageError::local_io("read", source))?;
        self.store
            .put(&location, PutPayload::from(bytes))
            .await
            .map_err(|error| self.error(error, Operation::Upload, key))?;
        Ok(())
    }

    /// Uploads every file under the folder `source` to `key/<relative path>` (a directory
    /// artifact), a few files at a time. If one fails, the files already uploaded are deleted.
    /// Empty folders leave no trace: object stores have no folders.
    pub async fn put_dir(&self, key: &str, source: &FsPath) -> Result<(), StorageError> {
        checked_nonempty_key(key)?;
        if self.is_in_place(key, source)? {
            return Ok(());
        }
        let files = local_files(source).await?;
        let uploads = futures_util::stream::iter(files)
            .map(|(relative, path)| async move {
                self.put_file(&join_keys(key, &relative), &path).await
            })
            .buffer_unordered(self.transfer.max_concurrent_parts)
            .try_collect::<Vec<()>>()
            .await;
        if let Err(error) = uploads {
            if let Err(cleanup) = self.delete_prefix(key).await {
                tracing::warn!(%cleanup, "a directory upload failed and its files could not be removed");
            }
            return Err(error);
        }
        Ok(())
    }

    /// Downloads the object at `key` to the file `destination`, or, when there are objects
    /// under the prefix `key/`, every one of them into the folder `destination`. Each file is written under a
    /// temporary name and renamed when complete.
    pub async fn get_to_path(&self, key: &str, destination: &FsPath) -> Result<(), StorageError> {
        checked_nonempty_key(key)?;
        if self.is_in_place(key, destination)? {
            return Ok(());
        }
        // Listing first, not a GET that fails: some servers (s3s-fs) answer a GET of a key that
        // is also a "folder" with an internal error rather than NoSuchKey.
        let objects = self.list(key).await?;
        if objects.is_empty() {
            return self.download(key, destination).await;
        }
        futures_util::stream::iter(objects)
            .map(|object| async move {
                let relative = object.key.strip_prefix(key).unwrap_or(&object.key);
                let path = destination.join(relative.trim_start_matches('/'));
                self.download(&object.key, &path).await
            })
            .buffer_unordered(self.transfer.max_concurrent_parts)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Whether `path` is the key's own file on a local root, where nothing needs moving.
    fn is_in_place(&self, key: &str, path: &FsPath) -> Result<bool, StorageError> {
        let in_place = self.local_path(key)?;
        Ok(in_place.is_some_and(|in_place| same_path(&in_place, path)))
    }

    async fn put_in_parts(
        &self,
        location: &Path,
        key: &str,
        mut file: File,
        source: &FsPath,
    ) -> Result<(), StorageError> {
        let store_error = |error| self.error(error, Operation::Upload, key);
        let mut upload = self
            .store
            .put_multipart(location)
            .await
            .map_err(store_error)?;
        let sent = send_parts(
            upload.as_mut(),
            &mut file,
            self.transfer.part_size,
            self.transfer.max_concurrent_parts,
        )
        .await;
        let completed = match sent {
            Ok(()) => upload.complete().await.map(|_| ()).map_err(store_error),
            Err(PartsError::Read(error)) => Err(StorageError::local_io("read", source)(error)),
            Err(PartsError::Store(error)) => Err(store_error(error)),
        };
        if let Err(error) = completed {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(%abort, %error, "could not abort a failed multipart upload");
            }
            return Err(error);
        }
        Ok(())
    }

    /// Streams one object to `destination` through a temporary file in the same folder.
    async fn download(&self, key: &str, destination: &FsPath) -> Result<(), StorageError> {
        let location = self.location(key)?;
        let result = self
            .store
            .get(&location)
            .await
            .map_err(|error| self.error(error, Operation::Download, key))?;
        if let Some(parent) = destination.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(StorageError::local_io("create the folder", parent))?;
        }
        let partial = partial_path(destination);
        let mut chunks = result.into_stream();
        let written = async {
            let mut file = File::create(&partial)
                .await
                .map_err(StorageError::local_io("create", &partial))?;
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|error| self.error(error, Operation::Download, key))?;
                file.write_all(&chunk)
                    .await
                    .map_err(StorageError::local_io("write", &partial))?;
            }
            file.flush()
                .await
                .map_err(StorageError::local_io("write", &partial))?;
            tokio::fs::rename(&partial, destination)
                .await
                .map_err(StorageError::local_io("rename into place", destination))
        };
        let outcome = written.await;
        if outcome.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        outcome
    }
}

/// Sends the file in parts of `part_size` bytes, at most `in_flight` at once, each part an
/// own task so that uploads go on while the next part is read.
async fn send_parts(
    upload: &mut dyn MultipartUpload,
    file: &mut File,
    part_size: usize,
    in_flight: usize,
) -> Result<(), PartsError> {
    let mut parts = JoinSet::new();
    let mut first = true;
    loop {
        let part = read_part(file, part_size).await.map_err(PartsError::Read)?;
        let last = part.len() < part_size;
        if part.is_empty() && !first {
            break;
        }
        while parts.len() >= in_flight {
            join_part(parts.join_next().await)?;
        }
        parts.spawn(upload.put_part(PutPayload::from(part)));
        first = false;
        if last {
            break;
        }
    }
    while let Some(joined) = parts.join_next().await {
        join_part(Some(joined))?;
    }
    Ok(())
}

type JoinedPart = Option<Result<object_store::Result<()>, tokio::task::JoinError>>;

fn join_part(joined: JoinedPart) -> Result<(), PartsError> {
    match joined {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(error))) => Err(PartsError::Store(error)),
        Some(Err(source)) => Err(PartsError::Store(object_store::Error::JoinError { source })),
    }
}

/// Reads up to `part_size` bytes; fewer only at the end of the file.
async fn read_part(file: &mut File, part_size: usize) -> std::io::Result<Vec<u8>> {
    let mut part = vec![0; part_size];
    let mut filled = 0;
    while filled < part_size {
        let read = file.read(&mut part[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    part.truncate(filled);
    Ok(part)
}

/// Whether two paths name the same place as written (no file system access).
fn same_path(a: &FsPath, b: &FsPath) -> bool {
    a.components().eq(b.components())
}

/// A temporary name next to `destination`, unique to this download.
fn partial_path(destination: &FsPath) -> PathBuf {
    let mut name = destination.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".weir-partial-{}", uuid::Uuid::now_v7()));
    destination.with_file_name(name)
}

fn checked_nonempty_key(key: &str) -> Result<(), StorageError> {
    if key.is_empty() {
        let reason = "the key of an artifact must not be empty".to_owned();
        return Err(StorageError::InvalidKey {
            key: String::new(),
            reason,
        });
    }
    crate::root::checked_key(key)
}

/// Every file under `folder` with its key relative to it, found without blocking a worker.
/// Symbolic links to files are followed; links to folders are skipped so a walk cannot loop.
async fn local_files(folder: &FsPath) -> Result<Vec<(String, PathBuf)>, StorageError> {
    let mut files = Vec::new();
    let mut pending = vec![(folder.to_path_buf(), String::new())];
    while let Some((dir, dir_key)) = pending.pop() {
        let mut entries = tokio::fs::read_dir(&dir)
            .await
            .map_err(StorageError::local_io("read the folder", &dir))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(StorageError::local_io("read the folder", &dir))?
        {
            let path = entry.path();
            let key = join_keys(&dir_key, &entry_key_segment(&path)?);
            let file_type = entry
                .file_type()
                .await
                .map_err(StorageError::local_io("read", &path))?;
            if file_type.is_dir() {
                pending.push((path, key));
            } else if file_type.is_file()
                || tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file())
            {
                files.push((key, path));
            } else {
                tracing::warn!(path = %path.display(), "not uploaded: not a file or a folder");
            }
        }
    }
    files.sort();
    Ok(files)
}

fn entry_key_segment(path: &FsPath) -> Result<String, StorageError> {
    let name = path.file_name().and_then(|name| name.to_str());
    let invalid = |reason: String| StorageError::InvalidKey {
        key: path.display().to_string(),
        reason,
    };
    let name =
        name.ok_or_else(|| invalid("a file name must be UTF-8 to become a key".to_owned()))?;
    check_segment(name).map_err(invalid)?;
    Ok(name.to_owned())
}
