//! Pipeline roots and artifact URIs as typed locations, and KFP's local form of a URI.

use std::fmt;
use std::path::PathBuf;

use crate::error::StorageError;

/// What Weir can store artifacts in, and says so when a URI is refused.
const SUPPORTED: &str =
    "use an absolute local path, file:///path, s3://bucket/prefix or minio://bucket/prefix";

/// A parsed pipeline root or artifact URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUri {
    /// An absolute path on this machine, written as `/path` or `file:///path`.
    Local(PathBuf),
    /// A bucket and key prefix on S3-compatible storage.
    S3(S3Uri),
}

/// A bucket and a key on S3-compatible storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    /// How the URI was written; `minio://` needs an endpoint from the settings.
    pub scheme: S3Scheme,
    /// The bucket name.
    pub bucket: String,
    /// The key or key prefix, without leading or trailing `/`; empty for the whole bucket.
    pub key: String,
}

/// The schemes that address S3-compatible storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Scheme {
    /// `s3://`: AWS, or the server in `AWS_ENDPOINT_URL` when one is set.
    S3,
    /// `minio://`: KFP's name for its MinIO; always the server in `AWS_ENDPOINT_URL`.
    Minio,
}

impl S3Scheme {
    /// The scheme as written in URIs, without `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Scheme::S3 => "s3",
            S3Scheme::Minio => "minio",
        }
    }
}

impl StorageUri {
    /// Parses a pipeline root or an artifact URI. Never panics; every refusal says what is
    /// supported.
    pub fn parse(uri: &str) -> Result<StorageUri, StorageError> {
        let invalid = |reason: String| StorageError::InvalidUri {
            uri: uri.to_owned(),
            reason,
        };
        if uri.contains('\0') {
            return Err(invalid("it contains a NUL character".to_owned()));
        }
        if uri.starts_with('/') {
            return Ok(StorageUri::Local(PathBuf::from(uri)));
        }
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Err(invalid(format!(
                "a local root must be an absolute path; {SUPPORTED}"
            )));
        };
        match scheme {
            "file" => parse_file_uri(rest).map_err(invalid),
            "s3" => parse_s3_uri(S3Scheme::S3, rest).map_err(invalid),
            "minio" => parse_s3_uri(S3Scheme::Minio, rest).map_err(invalid),
            "gs" => Err(invalid(format!(
                "Google Cloud Storage (gs://) is not supported yet; {SUPPORTED}"
            ))),
            other => Err(invalid(format!(
                "the scheme {other:?} is not supported; {SUPPORTED}"
            ))),
        }
    }

    /// The URI of `key` under this one (`key` relative, segments separated by `/`).
    pub fn join(&self, key: &str) -> StorageUri {
        let key = key.trim_matches('/');
        match self {
            StorageUri::Local(path) => StorageUri::Local(path.join(key)),
            StorageUri::S3(s3) => StorageUri::S3(S3Uri {
                key: join_keys(&s3.key, key),
                ..s3.clone()
            }),
        }
    }
}

impl fmt::Display for StorageUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageUri::Local(path) => write!(f, "{}", path.display()),
            StorageUri::S3(s3) => write!(f, "{s3}"),
        }
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.bucket)?;
        if !self.key.is_empty() {
            write!(f, "/{}", self.key)?;
        }
        Ok(())
    }
}

/// The path KFP's launcher gives a step for `uri`: `s3://b/k` is `/s3/b/k`, `minio://b/k` is
/// `/minio/b/k`, `gs://b/k` is `/gcs/b/k`, and a local URI is its own path.
pub fn kfp_local_path(uri: &str) -> Result<PathBuf, StorageError> {
    let invalid = |reason: String| StorageError::InvalidUri {
        uri: uri.to_owned(),
        reason,
    };
    if let Some(rest) = uri.strip_prefix("gs://") {
        let (bucket, key) = split_bucket_and_key(rest).map_err(invalid)?;
        return Ok(local_form("gcs", bucket, &key));
    }
    match StorageUri::parse(uri)? {
        StorageUri::Local(path) => Ok(path),
        StorageUri::S3(s3) => Ok(local_form(s3.scheme.as_str(), &s3.bucket, &s3.key)),
    }
}

fn local_form(top: &str, bucket: &str, key: &str) -> PathBuf {
    let mut path = PathBuf::from("/").join(top).join(bucket);
    if !key.is_empty() {
        path.push(key);
    }
    path
}

fn parse_file_uri(rest: &str) -> Result<StorageUri, String> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err(format!(
            "a file:// URI must name an absolute path on this machine, as in file:///data; {SUPPORTED}"
        ));
    }
    Ok(StorageUri::Local(PathBuf::from(path)))
}

fn parse_s3_uri(scheme: S3Scheme, rest: &str) -> Result<StorageUri, String> {
    let (bucket, key) = split_bucket_and_key(rest)?;
    Ok(StorageUri::S3(S3Uri {
        scheme,
        bucket: bucket.to_owned(),
        key,
    }))
}

/// Splits `bucket/key/...` and checks both; the key comes back without outer `/`.
fn split_bucket_and_key(rest: &str) -> Result<(&str, String), String> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    check_bucket(bucket)?;
    let key = key.trim_matches('/');
    check_key(key)?;
    Ok((bucket, key.to_owned()))
}

/// S3's rules for bucket names, which MinIO and GCS share: 3 to 63 characters, lowercase
/// letters, digits, dots and hyphens, starting and ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let well_formed = (3..=63).contains(&bucket.len())
        && bucket.chars().all(allowed)
        && edge_ok(bucket.chars().next())
        && edge_ok(bucket.chars().last());
    if well_formed {
        return Ok(());
    }
    Err(format!(
        "{bucket:?} is not a bucket name: use 3 to 63 lowercase letters, digits, dots and hyphens, \
         starting and ending with a letter or digit"
    ))
}

/// Checks a key (or key prefix) written as `a/b/c`: no empty, `.` or `..` segment and no
/// control character, so that it means the same key on every backend.
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Ok(());
    }
    for segment in key.split('/') {
        check_segment(segment)?;
    }
    Ok(())
}

/// Checks one segment of a key: not empty, not `.` or `..`, no control character.
pub(crate) fn check_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("a key must not contain an empty segment (`//`)".to_owned());
    }
    if segment == "." || segment == ".." {
        return Err(format!("a key must not contain a {segment:?} segment"));
    }
    if segment.chars().any(char::is_control) {
        return Err(format!(
            "the key segment {segment:?} contains a control character"
        ));
    }
    Ok(())
}

pub(crate) fn join_keys(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}/{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s3(scheme: S3Scheme, bucket: &str, key: &str) -> StorageUri {
        StorageUri::S3(S3Uri {
            scheme,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    #[test]
    fn parses_every_supported_form() {
        let cases = [
            ("/data/root", StorageUri::Local("/data/root".into())),
            ("file:///data/root", StorageUri::Local("/data/root".into())),
            ("file://localhost/data", StorageUri::Local("/data".into())),
            ("s3://bucket", s3(S3Scheme::S3, "bucket", "")),
            ("s3://bucket/", s3(S3Scheme::S3, "bucket", "")),
            ("s3://bucket/a/b/", s3(S3Scheme::S3, "bucket", "a/b")),
            (
                "minio://mlpipeline/v2/artifacts",
                s3(S3Scheme::Minio, "mlpipeline", "v2/artifacts"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(StorageUri::parse(text).ok(), Some(expected), "{text}");
        }
    }

    #[test]
    fn refuses_with_what_is_supported() {
        for text in [
            "gs://bucket/x",
            "relative/path",
            "http://host/x",
            "file://host/x",
        ] {
            let message = StorageUri::parse(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains("s3://bucket/prefix"), "{text}: {message}");
        }
        let gs = StorageUri::parse("gs://b/x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(gs.contains("not supported yet"), "{gs}");
    }

    #[test]
    fn refuses_bad_buckets_and_keys() {
        for text in [
            "s3://",
            "s3://ab",
            "s3://Upper",
            "s3://-bucket",
            "s3://b_c/x",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
        ] {
            assert!(StorageUri::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn kfp_local_forms() {
        let cases = [
            ("s3://b1b/k/x", "/s3/b1b/k/x"),
            ("minio://mlpipeline/v2/a", "/minio/mlpipeline/v2/a"),
            ("gs://b1b/k", "/gcs/b1b/k"),
            ("gs://b1b", "/gcs/b1b"),
            ("/local/a", "/local/a"),
            ("file:///local/a", "/local/a"),
        ];
        for (uri, path) in cases {
            assert_eq!(kfp_local_path(uri).ok(), Some(PathBuf::from(path)), "{uri}");
        }
        assert!(kfp_local_path("oci://registry/image").is_err());
    }

    #[test]
    fn join_and_display_round_trip() {
        let root = StorageUri::parse("minio://mlpipeline/v2").ok();
        let joined = root.map(|root| root.join("p/run/task/model").to_string());
        assert_eq!(
            joined.as_deref(),
            Some("minio://mlpipeline/v2/p/run/task/model")
        );
        let bucket_root = StorageUri::parse("s3://bucket")
            .ok()
            .map(|r| r.join("a").to_string());
        assert_eq!(bucket_root.as_deref(), Some("s3://bucket/a"));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,80}") {
            let _ = StorageUri::parse(&text);
            let _ = kfp_local_path(&text);
        }

        #[test]
        fn s3_like_text_parses_or_is_refused(text in "(s3|minio|gs|file)://[a-z0-9./_-]{0,40}") {
            if let Ok(uri) = StorageUri::parse(&text) {
                prop_assert_eq!(StorageUri::parse(&uri.to_string()).ok(), Some(uri));
            }
            let _ = kfp_local_path(&text);
        }
    }
}
