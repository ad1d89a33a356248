//! Fixtures: an artifact root on a local folder or on a real in-process S3 server.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use weir_s3_testserver::{TestServer, TestServerConfig};
use weir_storage::{ArtifactRoot, ObjectStream, S3Settings, StorageSettings, TransferSettings};

pub const ACCESS_KEY: &str = "weir-test";
pub const SECRET: &str = "weir-test-secret";
pub const BUCKET: &str = "artifacts";
pub const MIB: usize = 1024 * 1024;

/// Big transfers take turns, so that the memory test measures only its own upload.
pub static BIG_TRANSFERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An artifact root and what it lives on; everything is removed when dropped.
pub struct Fixture {
    pub root: ArtifactRoot,
    pub server: Option<TestServer>,
    pub dir: TempDir,
}

impl Fixture {
    /// A root on a local folder.
    pub async fn local() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let uri = dir.path().join("root").display().to_string();
        let root = ArtifactRoot::open(&uri, &settings(None))
            .await
            .expect("local root");
        Fixture {
            root,
            server: None,
            dir,
        }
    }

    /// A root at `s3://artifacts/pipeline-root` on a fresh s3s-fs server.
    pub async fn s3() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = start_server(&dir.path().join("s3")).await;
        let settings = settings(Some(&server.endpoint()));
        let uri = format!("s3://{BUCKET}/pipeline-root");
        let root = ArtifactRoot::open(&uri, &settings).await.expect("s3 root");
        Fixture {
            root,
            server: Some(server),
            dir,
        }
    }

    /// A folder for the test's own files, outside the root.
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }

    /// Makes the root refuse writes: the folder becomes a file, or the bucket disappears.
    pub async fn break_root(&self) {
        match &self.server {
            Some(server) => {
                let bucket = server.root().join(BUCKET);
                tokio::fs::remove_dir_all(&bucket)
                    .await
                    .expect("remove the bucket");
            }
            None => {
                let folder = self.dir.path().join("root");
                tokio::fs::remove_dir_all(&folder)
                    .await
                    .expect("remove the root");
                tokio::fs::write(&folder, b"not a folder")
                    .await
                    .expect("file in the root's place");
            }
        }
    }
}

/// Starts a server over `data` with the test credentials and the `artifacts` bucket.
pub async fn start_server(data: &Path) -> TestServer {
    let config = TestServerConfig {
        root: data.to_path_buf(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET.to_owned(),
        port: 0,
        buckets: vec![BUCKET.to_owned()],
    };
    TestServer::start(config)
        .await
        .expect("start the S3 server")
}

/// Settings for tests: 5 MiB parts, two in flight, quick to give up on a dead server.
pub fn settings(endpoint: Option<&str>) -> StorageSettings {
    let s3 = S3Settings {
        endpoint: endpoint.map(str::to_owned),
        region: None,
        access_key_id: Some(ACCESS_KEY.to_owned()),
        secret_access_key: Some(SECRET.to_owned()),
        session_token: None,
        max_retries: 1,
        retry_timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(1),
    };
    let transfer = TransferSettings {
        multipart_threshold: 5 * MIB as u64,
        part_size: 5 * MIB,
        max_concurrent_parts: 2,
    };
    StorageSettings { s3, transfer }
}

/// The byte at `offset` of every test file: a pattern that does not repeat at part boundaries.
pub fn byte_at(offset: u64) -> u8 {
    (offset % 251) as u8 ^ (offset / 251 % 256) as u8
}

/// Writes `size` pattern bytes to `path` (creating its folder), 1 MiB at a time.
pub async fn write_file(path: &Path, size: u64) {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .expect("create the folder");
    }
    let mut file = tokio::fs::File::create(path)
        .await
        .expect("create the file");
    let mut offset = 0;
    while offset < size {
        let end = (offset + MIB as u64).min(size);
        let chunk: Vec<u8> = (offset..end).map(byte_at).collect();
        file.write_all(&chunk).await.expect("write the file");
        offset = end;
    }
    file.flush().await.expect("flush the file");
}

/// Checks that the file at `path` holds exactly `size` pattern bytes.
pub async fn assert_pattern_file(path: &Path, size: u64) {
    let bytes = tokio::fs::read(path).await.expect("read the file");
    assert_eq!(bytes.len() as u64, size, "{}", path.display());
    let first_wrong = bytes
        .iter()
        .enumerate()
        .position(|(i, b)| *b != byte_at(i as u64));
    assert_eq!(first_wrong, None, "{}", path.display());
}

/// Reads a whole stream and checks it is the pattern over `range`.
pub async fn assert_pattern_stream(stream: ObjectStream, range: Range<u64>) {
    assert_eq!(stream.range, range);
    let chunks: Vec<bytes::Bytes> = stream.bytes.try_collect().await.expect("read the stream");
    let bytes: Vec<u8> = chunks.concat();
    let expected: Vec<u8> = range.map(byte_at).collect();
    assert_eq!(bytes, expected);
}

/// The message of an error that must have happened.
pub fn message<T: std::fmt::Debug>(result: Result<T, weir_storage::StorageError>) -> String {
    result.expect_err("the operation must fail").to_string()
}
