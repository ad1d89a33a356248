//! Packages read from uploads and files: YAML, `.zip` and `.tar.gz`.

use std::io::Write;

use weir_control::package::{self, file_stem};
use weir_control::{ErrorCode, PipelineSource};

use super::{control, WAIT};

fn tar_gz(name: &str, text: &str) -> Vec<u8> {
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    archive
        .append_data(&mut header, name, text.as_bytes())
        .expect("appended");
    archive
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("written")
}

fn zip(name: &str, text: &str) -> Vec<u8> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    archive
        .start_file(name, zip::write::SimpleFileOptions::default())
        .expect("started");
    archive.write_all(text.as_bytes()).expect("written");
    archive.finish().expect("finished").into_inner()
}

#[test]
fn archives_and_text_read_to_the_same_pipeline() {
    let plain = package::read(WAIT.as_bytes(), "wait.yaml").expect("YAML");
    let from_tar = package::read(&tar_gz("pipeline.yaml", WAIT), "wait.tar.gz").expect("tar.gz");
    let from_zip = package::read(&zip("dir/pipeline.yml", WAIT), "wait.zip").expect("zip");
    assert_eq!(from_tar.document, plain.document);
    assert_eq!(from_zip.document, plain.document);
    assert_eq!(from_zip.spec_json, plain.spec_json);

    let empty = package::read(&zip("notes.txt", "hi"), "x.zip").expect_err("no pipeline");
    assert_eq!(empty.code(), ErrorCode::InvalidArgument);
    let invalid = package::read(b"root: {}", "bad.yaml").expect_err("not a pipeline");
    assert_eq!(invalid.code(), ErrorCode::InvalidArgument);
    assert!(invalid
        .to_string()
        .starts_with("`bad.yaml` is not a valid pipeline"));
}

#[test]
fn uploads_are_named_after_the_file() {
    assert_eq!(file_stem("dir/train.tar.gz"), "train");
    assert_eq!(file_stem(r"C:\Users\me\train.yaml"), "train");
    assert_eq!(file_stem("train"), "train");
}

#[tokio::test]
async fn a_run_is_loaded_from_a_file() {
    let (control, dir) = control().await;
    let path = dir.path().join("wait.yaml");
    std::fs::write(&path, WAIT).expect("written");
    let loaded = control
        .load_pipeline(PipelineSource::File(path))
        .await
        .expect("read");
    assert_eq!(
        loaded.document.spec.pipeline_info.name.as_deref(),
        Some("wait")
    );
    let missing = control
        .load_pipeline(PipelineSource::File(dir.path().join("none.yaml")))
        .await
        .expect_err("no such file");
    assert_eq!(missing.code(), ErrorCode::InvalidArgument);
    assert!(missing.to_string().contains("none.yaml"), "{missing}");
}
