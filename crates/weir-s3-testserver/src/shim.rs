//! The answers S3 gives where s3s-fs 0.14 answers differently, so that tests see S3's errors.
//!
//! - A request for an object in a bucket that does not exist is `NoSuchBucket`; s3s-fs would
//!   create the bucket's folder on a PUT.
//! - A GET or HEAD of a key that is only a prefix of other keys is `NoSuchKey`; s3s-fs would
//!   answer 500, because the key is a folder on its disk.

use std::path::Path;

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use s3s::{Body, HttpResponse};

/// S3's answer to `method` on the URL path `path`, when s3s-fs would answer differently.
pub(crate) async fn s3_answer(
    root: &Path,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<HttpResponse> {
    let (bucket, key) = path.trim_start_matches('/').split_once('/')?;
    let key = percent_decode_str(key).decode_utf8().ok()?;
    if key.is_empty() {
        return None;
    }
    if !tokio::fs::try_exists(root.join(bucket))
        .await
        .unwrap_or(false)
    {
        return Some(error(
            method,
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        ));
    }
    let reads_an_object = (method == Method::GET || method == Method::HEAD)
        && !query.is_some_and(|query| query.contains("uploadId="));
    let is_folder = tokio::fs::metadata(root.join(bucket).join(key.as_ref()))
        .await
        .is_ok_and(|m| m.is_dir());
    if reads_an_object && is_folder {
        return Some(error(
            method,
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ));
    }
    None
}

/// An S3 error response; a HEAD response has no body, as in S3.
fn error(method: &Method, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = match *method {
        Method::HEAD => Body::empty(),
        _ => Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}
