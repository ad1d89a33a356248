//! Integration tests of weir-storage against a local folder and a real S3 server (s3s-fs, in
//! process, checking signatures).

mod conformance;
mod s3_failures;
mod support;
