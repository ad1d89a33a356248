//! The same tests on every backend: a local folder and a real S3 server.

use tokio::io::AsyncReadExt;
use weir_storage::{LogStore, StorageError};

use crate::support::{
    assert_pattern_file, assert_pattern_stream, message, write_file, Fixture, BIG_TRANSFERS, MIB,
};

/// Runs each listed test once per backend, as `local::NAME` and `s3::NAME`.
macro_rules! for_each_backend {
    ($($test:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::support::Fixture::local().await).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::support::Fixture::s3().await).await;
                }
            )*
        }
    };
}

for_each_backend!(
    a_file_above_the_multipart_threshold_round_trips,
    small_files_with_odd_names_round_trip,
    a_directory_artifact_round_trips,
    ranges_stream_the_bytes_asked_for,
    list_and_delete_work_on_prefixes,
    probe_writes_and_removes_a_marker,
    probe_names_a_root_that_refuses_writes,
    missing_objects_are_reported_not_found,
    logs_are_readable_while_running_and_after_publishing,
);

async fn a_file_above_the_multipart_threshold_round_trips(fixture: Fixture) {
    let _turn = BIG_TRANSFERS.lock().await;
    let size = 40 * MIB as u64 + 123;
    let source = fixture.scratch().join("big.bin");
    write_file(&source, size).await;
    let key = "pipeline/run-1/train/model";
    fixture.root.put_file(key, &source).await.expect("upload");

    let info = fixture
        .root
        .head(key)
        .await
        .expect("head")
        .expect("the object exists");
    assert_eq!((info.key.as_str(), info.size), (key, size));
    let copy = fixture.scratch().join("copy/model.bin");
    fixture
        .root
        .get_to_path(key, &copy)
        .await
        .expect("download");
    assert_pattern_file(&copy, size).await;
    let in_place = fixture.root.local_path(key).expect("key");
    assert_eq!(in_place.is_some(), fixture.server.is_none());
}

async fn small_files_with_odd_names_round_trip(fixture: Fixture) {
    let source = fixture.scratch().join("small.txt");
    write_file(&source, 1000).await;
    for key in [
        "a/with space/x.txt",
        "a/percent%41~tilde#hash.csv",
        "a/ünïcode/ø",
        "a/empty",
    ] {
        fixture.root.put_file(key, &source).await.expect(key);
        let info = fixture.root.head(key).await.expect(key).expect(key);
        assert_eq!((info.key.as_str(), info.size), (key, 1000));
    }
    let keys: Vec<String> = fixture
        .root
        .list("a")
        .await
        .expect("list")
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys,
        [
            "a/empty",
            "a/percent%41~tilde#hash.csv",
            "a/with space/x.txt",
            "a/ünïcode/ø"
        ]
    );
    let empty = fixture.scratch().join("empty");
    write_file(&empty, 0).await;
    fixture
        .root
        .put_file("a/empty", &empty)
        .await
        .expect("empty file");
    fixture
        .root
        .get_to_path("a/empty", &fixture.scratch().join("empty-copy"))
        .await
        .expect("get");
    assert_pattern_file(&fixture.scratch().join("empty-copy"), 0).await;
}

async fn a_directory_artifact_round_trips(fixture: Fixture) {
    let source = fixture.scratch().join("dataset");
    let files = [
        ("part-0.csv", 10),
        ("nested/part-1.csv", 6 * MIB as u64),
        ("nested/deeper/empty", 0),
    ];
    for (name, size) in files {
        write_file(&source.join(name), size).await;
    }
    fixture
        .root
        .put_dir("run/task/dataset", &source)
        .await
        .expect("upload the folder");

    let listed = fixture.root.list("run/task/dataset").await.expect("list");
    let listed: Vec<(&str, u64)> = listed.iter().map(|o| (o.key.as_str(), o.size)).collect();
    let expected = [
        ("run/task/dataset/nested/deeper/empty", 0),
        ("run/task/dataset/nested/part-1.csv", 6 * MIB as u64),
        ("run/task/dataset/part-0.csv", 10),
    ];
    assert_eq!(listed, expected);
    let copy = fixture.scratch().join("downloaded");
    fixture
        .root
        .get_to_path("run/task/dataset", &copy)
        .await
        .expect("download the folder");
    for (name, size) in files {
        assert_pattern_file(&copy.join(name), size).await;
    }
}

async fn ranges_stream_the_bytes_asked_for(fixture: Fixture) {
    let source = fixture.scratch().join("data");
    write_file(&source, 1000).await;
    fixture
        .root
        .put_file("data", &source)
        .await
        .expect("upload");

    // (range asked for, bytes streamed): an end past the object's end is cut to it.
    let cases = [
        (None, 0..1000),
        (Some(10..20), 10..20),
        (Some(990..5000), 990..1000),
        (Some(7..7), 7..7),
    ];
    for (asked, streamed) in cases {
        let stream = fixture.root.read("data", asked).await.expect("read");
        assert_eq!(stream.object_size, 1000);
        assert_pattern_stream(stream, streamed).await;
    }
    assert!(
        fixture.root.read("data", Some(2000..3000)).await.is_err(),
        "a start past the end"
    );

    let mut reader = fixture
        .root
        .read("data", Some(500..1000))
        .await
        .expect("read")
        .into_async_read();
    let mut tail = Vec::new();
    reader
        .read_to_end(&mut tail)
        .await
        .expect("read as AsyncRead");
    assert_eq!(tail.len(), 500);
}

async fn list_and_delete_work_on_prefixes(fixture: Fixture) {
    let source = fixture.scratch().join("file");
    write_file(&source, 3).await;
    for key in ["a/b/1", "a/b/2", "a/c", "ab", "z"] {
        fixture.root.put_file(key, &source).await.expect(key);
    }
    let keys = |objects: Vec<weir_storage::ObjectInfo>| {
        objects.into_iter().map(|o| o.key).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(fixture.root.list("a").await.expect("list")),
        ["a/b/1", "a/b/2", "a/c"]
    );
    assert_eq!(
        keys(fixture.root.list("a/b").await.expect("list")),
        ["a/b/1", "a/b/2"]
    );
    assert_eq!(keys(fixture.root.list("").await.expect("list")).len(), 5);
    assert!(fixture
        .root
        .list("nothing/here")
        .await
        .expect("list")
        .is_empty());

    assert_eq!(fixture.root.delete_prefix("a/b").await.expect("delete"), 2);
    assert_eq!(keys(fixture.root.list("a").await.expect("list")), ["a/c"]);
    assert_eq!(
        fixture
            .root
            .delete_prefix("ab")
            .await
            .expect("delete one object"),
        1
    );
    assert!(fixture.root.head("ab").await.expect("head").is_none());
    assert_eq!(
        fixture
            .root
            .delete_prefix("nothing")
            .await
            .expect("delete nothing"),
        0
    );
    if let Some(folder) = fixture.root.local_path("a/b").expect("key") {
        assert!(
            !folder.exists(),
            "empty folders are removed with their files"
        );
    }
}

async fn probe_writes_and_removes_a_marker(fixture: Fixture) {
    fixture.root.probe().await.expect("the root is writable");
    assert!(fixture.root.list("").await.expect("list").is_empty());
}

async fn probe_names_a_root_that_refuses_writes(fixture: Fixture) {
    fixture.break_root().await;
    let error = fixture
        .root
        .probe()
        .await
        .expect_err("the root cannot be written");
    assert!(
        matches!(error, StorageError::NotWritable { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&fixture.root.uri().to_string()), "{text}");
}

async fn missing_objects_are_reported_not_found(fixture: Fixture) {
    assert!(fixture.root.head("missing").await.expect("head").is_none());
    let read = fixture.root.read("missing", None).await;
    assert!(
        matches!(read, Err(StorageError::NotFound { .. })),
        "{read:?}"
    );
    let download = fixture
        .root
        .get_to_path("missing", &fixture.scratch().join("x"))
        .await;
    let text = message(download);
    assert!(
        text.contains("missing") && text.contains("does not exist"),
        "{text}"
    );
    let upload = fixture
        .root
        .put_file("x", &fixture.scratch().join("no-such-file"))
        .await;
    assert!(message(upload).contains("no-such-file"));
}

async fn logs_are_readable_while_running_and_after_publishing(fixture: Fixture) {
    let logs = LogStore::new(fixture.root.clone(), fixture.dir.path().join("spool"));
    let path = logs.log_file("run-1", "task-1").await.expect("log file");
    tokio::fs::write(&path, b"line one\nline two\n")
        .await
        .expect("write the log");
    assert_eq!(read_log(&logs, 5).await, "one\nline two\n");

    logs.publish("run-1", "task-1").await.expect("publish");
    assert_eq!(read_log(&logs, 0).await, "line one\nline two\n");
    assert_eq!(read_log(&logs, 9).await, "line two\n");
    assert_eq!(read_log(&logs, 500).await, "");
    let other_process = LogStore::new(fixture.root.clone(), fixture.dir.path().join("other-spool"));
    assert_eq!(read_log(&other_process, 14).await, "two\n");
    let missing = other_process
        .open("run-1", "never-ran", 0)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(missing.is_some_and(|m| m.contains("never-ran.log")));
}

async fn read_log(logs: &LogStore, offset: u64) -> String {
    let mut reader = logs
        .open("run-1", "task-1", offset)
        .await
        .expect("open the log");
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .await
        .expect("read the log");
    text
}
