//! Artifact and log storage for Weir: a local folder or S3-compatible object storage behind
//! one interface, built on the `object_store` crate.
//!
//! - [`StorageUri`] parses pipeline roots and artifact URIs (`/path`, `file://`, `s3://`,
//!   `minio://`); [`kfp_local_path`] gives KFP's local form of a URI (`/s3/...`, `/minio/...`,
//!   `/gcs/...`).
//! - [`ArtifactRoot`] puts, gets, streams, lists, deletes and probes objects under a root.
//! - [`LogStore`] keeps step logs in a root so that any process can read them.
//! - [`StorageSettings`] holds the S3 endpoint, region and credentials (from the `AWS_*`
//!   variables or given explicitly) and the transfer sizes.
//!
//! File I/O runs on tokio's blocking pool (through `tokio::fs` or `object_store`), never on an
//! async worker thread.

mod error;
mod logs;
mod root;
mod s3;
mod settings;
mod transfer;
mod uri;

pub use error::{ObjectRef, Operation, StorageError};
pub use logs::{LogReader, LogStore};
pub use root::{ArtifactRoot, ObjectInfo, ObjectStream};
pub use settings::{S3Settings, StorageSettings, TransferSettings};
pub use uri::{kfp_local_path, S3Scheme, S3Uri, StorageUri};
