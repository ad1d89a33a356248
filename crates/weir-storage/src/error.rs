//! The crate's error, and the translation of `object_store` errors into messages that name the
//! bucket and key and say how to fix the problem.

use std::error::Error as _;
use std::fmt;
use std::path::PathBuf;

use object_store::client::{HttpError, HttpErrorKind};

/// The variables a user fixes when S3 refuses the credentials.
const CREDENTIAL_VARIABLES: &str =
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)";

/// An object named the way a user finds it: a bucket and a key, or a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    /// An object on S3-compatible storage.
    S3 {
        /// The bucket.
        bucket: String,
        /// The full key in the bucket.
        key: String,
    },
    /// A file or folder under a local root.
    Local(PathBuf),
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRef::S3 { bucket, key } => write!(f, "bucket {bucket:?} key {key:?}"),
            ObjectRef::Local(path) => write!(f, "{:?}", path.display()),
        }
    }
}

/// What was being done when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Writing an object.
    Upload,
    /// Copying an object to a local file.
    Download,
    /// Streaming an object's bytes.
    Read,
    /// Reading an object's size.
    Head,
    /// Listing a prefix.
    List,
    /// Deleting objects.
    Delete,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Upload => "upload",
            Operation::Download => "download",
            Operation::Read => "read",
            Operation::Head => "lookup",
            Operation::List => "listing",
            Operation::Delete => "deletion",
        })
    }
}

/// Everything that can go wrong in this crate. Remote errors name the bucket and key.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A pipeline root or artifact URI Weir does not support or cannot read.
    #[error("invalid storage URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    /// A key (or a run or task name used in one) that is not a plain relative key.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    /// The S3 settings are incomplete or malformed.
    #[error("S3 is not configured: {reason}")]
    S3Config { reason: String },
    /// The object (or every object under the prefix) does not exist.
    #[error("{object} does not exist")]
    NotFound { object: ObjectRef },
    /// The server refused the credentials or their permissions.
    #[error(
        "{operation} of {object} failed: the S3 server at {endpoint} refused the request ({detail}); \
         check {CREDENTIAL_VARIABLES}, and that this key may use bucket {bucket:?}"
    )]
    Refused {
        operation: Operation,
        object: ObjectRef,
        bucket: String,
        endpoint: String,
        detail: String,
    },
    /// The bucket does not exist.
    #[error(
        "{operation} of {object} failed: the bucket {bucket:?} does not exist at {endpoint}; \
         create it (for example `aws s3 mb s3://{bucket}`) or change the pipeline root"
    )]
    NoSuchBucket {
        operation: Operation,
        object: ObjectRef,
        bucket: String,
        endpoint: String,
    },
    /// The server could not be reached.
    #[error(
        "{operation} of {object} failed: cannot reach the S3 server at {endpoint} ({detail}); \
         check that it is running and that AWS_ENDPOINT_URL points at it"
    )]
    Unreachable {
        operation: Operation,
        object: ObjectRef,
        endpoint: String,
        detail: String,
    },
    /// Any other failure of the store.
    #[error("{operation} of {object} failed: {detail}")]
    Failed {
        operation: Operation,
        object: ObjectRef,
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("cannot {action} {path:?}: {source}")]
    LocalIo {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The artifact root refused a test write.
    #[error("the artifact root {root} is not writable: {source}")]
    NotWritable {
        root: String,
        source: Box<StorageError>,
    },
}

impl StorageError {
    /// Whether the error means the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    pub(crate) fn local_io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.into();
        move |source| StorageError::LocalIo {
            action,
            path,
            source,
        }
    }
}

/// Where a root's objects live, as error messages and local paths need it.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// A local folder; keys are paths under it.
    Local { dir: PathBuf },
    /// An S3 bucket at an endpoint (a URL, or AWS and its region).
    S3 { bucket: String, endpoint: String },
}

/// Turns an `object_store` error into a message naming `object` and saying how to fix it.
pub(crate) fn classify(
    error: object_store::Error,
    operation: Operation,
    object: ObjectRef,
    backend: &Backend,
) -> StorageError {
    let text = chain_text(&error);
    let code = xml_field(&text, "Code");
    let Backend::S3 { bucket, endpoint } = backend else {
        return match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound { object },
            _ => StorageError::Failed {
                operation,
                object,
                detail: innermost(&error),
            },
        };
    };
    let (bucket, endpoint) = (bucket.clone(), endpoint.clone());
    if code == Some("NoSuchBucket") {
        return StorageError::NoSuchBucket {
            operation,
            object,
            bucket,
            endpoint,
        };
    }
    if let object_store::Error::NotFound { .. } = error {
        return StorageError::NotFound { object };
    }
    let detail = s3_detail(&text).unwrap_or_else(|| innermost(&error));
    if is_refusal(&error, code) {
        return StorageError::Refused {
            operation,
            object,
            bucket,
            endpoint,
            detail,
        };
    }
    if connect_failed(&error) {
        return StorageError::Unreachable {
            operation,
            object,
            endpoint,
            detail,
        };
    }
    StorageError::Failed {
        operation,
        object,
        detail,
    }
}

fn is_refusal(error: &object_store::Error, code: Option<&str>) -> bool {
    let refusal_codes = [
        "AccessDenied",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidToken",
        "ExpiredToken",
        "AuthorizationHeaderMalformed",
    ];
    code.is_some_and(|code| refusal_codes.contains(&code))
        || matches!(
            error,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        )
}

fn connect_failed(error: &object_store::Error) -> bool {
    let mut source = error.source();
    while let Some(current) = source {
        if let Some(http) = current.downcast_ref::<HttpError>() {
            return matches!(http.kind(), HttpErrorKind::Connect | HttpErrorKind::Timeout);
        }
        source = current.source();
    }
    false
}

/// Every message in the error's chain, joined, so that S3's XML error body can be found.
fn chain_text(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}

/// The message of the deepest error in the chain: the cause, without the layers above it.
fn innermost(error: &object_store::Error) -> String {
    let mut deepest: &dyn std::error::Error = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    deepest.to_string()
}

/// `Code: Message` from an S3 XML error body, when the chain carries one.
fn s3_detail(text: &str) -> Option<String> {
    let code = xml_field(text, "Code")?;
    match xml_field(text, "Message") {
        Some(message) => Some(format!("{code}: {message}")),
        None => Some(code.to_owned()),
    }
}

fn xml_field<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let length = text[start..].find(&format!("</{tag}>"))?;
    Some(text[start..start + length].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_s3_error_code_and_message() {
        let body = "status 403: <?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>The signature does not match</Message></Error>";
        assert_eq!(
            s3_detail(body).as_deref(),
            Some("SignatureDoesNotMatch: The signature does not match")
        );
        assert_eq!(s3_detail("no xml here"), None);
        assert_eq!(xml_field("<Code>x", "Code"), None);
    }

    #[test]
    fn names_bucket_and_key() {
        let object = ObjectRef::S3 {
            bucket: "b".into(),
            key: "k/x".into(),
        };
        assert_eq!(object.to_string(), "bucket \"b\" key \"k/x\"");
    }
}
