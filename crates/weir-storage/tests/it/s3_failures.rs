//! What S3 failures look like: each names the bucket and key and says what to fix, and no
//! failed upload leaves an object behind.

use std::time::{Duration, Instant};

use weir_storage::{ArtifactRoot, StorageError};

use crate::support::{
    message, settings, start_server, write_file, Fixture, BIG_TRANSFERS, BUCKET, MIB,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_names_the_bucket_the_key_and_the_variables() {
    let fixture = Fixture::s3().await;
    let endpoint = fixture.server.as_ref().expect("server").endpoint();
    let mut wrong = settings(Some(&endpoint));
    wrong.s3.secret_access_key = Some("not-the-secret".to_owned());
    let root = ArtifactRoot::open(&format!("s3://{BUCKET}/pipeline-root"), &wrong)
        .await
        .expect("open");
    let source = fixture.scratch().join("file");
    write_file(&source, 10).await;

    let upload = message(root.put_file("run/task/model", &source).await);
    println!("{upload}");
    for expected in [
        BUCKET,
        "pipeline-root/run/task/model",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SignatureDoesNotMatch",
    ] {
        assert!(
            upload.contains(expected),
            "{expected:?} missing from: {upload}"
        );
    }
    let head = root.head("run/task/model").await;
    assert!(
        matches!(head, Err(StorageError::Refused { .. })),
        "a refusal is not a missing object: {head:?}"
    );
    let probe = message(root.probe().await);
    assert!(
        probe.contains("s3://artifacts/pipeline-root is not writable"),
        "{probe}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_named_with_how_to_create_it() {
    let fixture = Fixture::s3().await;
    let endpoint = fixture.server.as_ref().expect("server").endpoint();
    let root = ArtifactRoot::open("s3://no-such-bucket/root", &settings(Some(&endpoint)))
        .await
        .expect("open");

    let probe = root.probe().await.expect_err("no bucket to write to");
    let StorageError::NotWritable { source, .. } = &probe else {
        panic!("expected NotWritable, got {probe:?}");
    };
    assert!(
        matches!(**source, StorageError::NoSuchBucket { .. }),
        "{source:?}"
    );
    let text = probe.to_string();
    println!("{text}");
    for expected in [
        "\"no-such-bucket\"",
        "root/.weir-probe/",
        "create it",
        &endpoint,
    ] {
        assert!(text.contains(expected), "{expected:?} missing from: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_with_the_endpoint_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server(dir.path()).await;
    let endpoint = server.endpoint();
    server.stop().await;
    let root = ArtifactRoot::open("s3://artifacts/root", &settings(Some(&endpoint)))
        .await
        .expect("open");

    let error = root.probe().await.expect_err("nothing listens");
    let text = error.to_string();
    println!("{text}");
    for expected in [
        endpoint.as_str(),
        "AWS_ENDPOINT_URL",
        "\"artifacts\"",
        "root/.weir-probe/",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_upload_leaves_no_object() {
    let _turn = BIG_TRANSFERS.lock().await;
    let fixture = Fixture::s3().await;
    let server = fixture.server.expect("server");
    let data = server.root().to_path_buf();
    let source = fixture.dir.path().join("big.bin");
    write_file(&source, 40 * MIB as u64).await;
    let root = fixture.root.clone();
    let upload_source = source.clone();
    let upload = tokio::spawn(async move { root.put_file("run/task/model", &upload_source).await });

    wait_for(|| server.requests().iter().any(|r| r.contains("partNumber=2"))).await;
    server.stop().await;
    let text = message(upload.await.expect("the upload task"));
    println!("{text}");
    assert!(
        text.contains("\"artifacts\"") && text.contains("pipeline-root/run/task/model"),
        "{text}"
    );

    let restarted = start_server(&data).await;
    let root = ArtifactRoot::open(
        "s3://artifacts/pipeline-root",
        &settings(Some(&restarted.endpoint())),
    )
    .await
    .expect("open");
    assert_eq!(root.head("run/task/model").await.expect("head"), None);
    assert!(root.list("").await.expect("list").is_empty());
    assert!(!data
        .join(BUCKET)
        .join("pipeline-root/run/task/model")
        .exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minio_uris_use_the_endpoint_like_s3_ones() {
    let fixture = Fixture::s3().await;
    let endpoint = fixture.server.as_ref().expect("server").endpoint();
    let minio = ArtifactRoot::open(
        "minio://artifacts/pipeline-root",
        &settings(Some(&endpoint)),
    )
    .await
    .expect("open");
    let source = fixture.scratch().join("file");
    write_file(&source, 100).await;
    minio
        .put_file("through-minio", &source)
        .await
        .expect("upload");
    let seen = fixture.root.head("through-minio").await.expect("head");
    assert_eq!(seen.map(|info| info.size), Some(100));

    let no_endpoint = ArtifactRoot::open("minio://artifacts/x", &settings(None)).await;
    assert!(message(no_endpoint).contains("AWS_ENDPOINT_URL"));
}

/// Peak memory while a 40 MiB file is uploaded with 5 MiB parts, two in flight: the client holds
/// at most three parts and the in-process server streams parts to disk, so the peak stays well
/// under the file's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_is_never_whole_in_memory() {
    let _turn = BIG_TRANSFERS.lock().await;
    let fixture = Fixture::s3().await;
    let size = 40 * MIB as u64;
    let source = fixture.scratch().join("big.bin");
    write_file(&source, size).await;

    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let before = resident_kib("VmRSS:");
    fixture.root.put_file("big", &source).await.expect("upload");
    let growth_mib = (resident_kib("VmHWM:") - before) / 1024;
    println!("peak RSS growth during a 40 MiB upload: {growth_mib} MiB");
    assert!(growth_mib < 40, "peak RSS grew by {growth_mib} MiB");
}

fn resident_kib(field: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .expect("the field");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("a number")
}

async fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
