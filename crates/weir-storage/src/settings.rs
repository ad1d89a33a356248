//! How Weir reaches S3 and how it moves bytes: from the environment the AWS SDKs read, or
//! given explicitly (tests, a future `--s3-endpoint` flag).

use std::fmt;
use std::time::Duration;

use crate::error::StorageError;
use crate::uri::S3Scheme;

const MIB: usize = 1024 * 1024;

/// Everything an [`ArtifactRoot`](crate::ArtifactRoot) needs besides its URI.
#[derive(Debug, Clone, Default)]
pub struct StorageSettings {
    /// Endpoint, region and credentials for `s3://` and `minio://` roots.
    pub s3: S3Settings,
    /// Part sizes and concurrency of transfers.
    pub transfer: TransferSettings,
}

impl StorageSettings {
    /// S3 settings from the environment, default transfer settings.
    pub fn from_env() -> StorageSettings {
        StorageSettings {
            s3: S3Settings::from_env(),
            transfer: TransferSettings::default(),
        }
    }
}

/// The S3 settings the AWS SDKs read from `AWS_*` variables. `Debug` hides the secrets.
#[derive(Clone)]
pub struct S3Settings {
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`: a custom server such as MinIO. With one set,
    /// buckets are addressed path-style, and an `http://` URL is used as given.
    pub endpoint: Option<String>,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`; `us-east-1` when neither is set.
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// How often a failed request is tried again before the error is returned.
    pub max_retries: usize,
    /// How long a request may keep being retried.
    pub retry_timeout: Duration,
    /// How long connecting to the server may take.
    pub connect_timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl S3Settings {
    /// Reads the `AWS_*` variables of this process.
    pub fn from_env() -> S3Settings {
        S3Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the `AWS_*` variables through `lookup` (a map in tests); empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> S3Settings {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        S3Settings {
            endpoint: read("AWS_ENDPOINT_URL_S3").or_else(|| read("AWS_ENDPOINT_URL")),
            region: read("AWS_REGION").or_else(|| read("AWS_DEFAULT_REGION")),
            access_key_id: read("AWS_ACCESS_KEY_ID"),
            secret_access_key: read("AWS_SECRET_ACCESS_KEY"),
            session_token: read("AWS_SESSION_TOKEN"),
            ..S3Settings::default()
        }
    }

    /// The region requests are signed for.
    pub fn region_or_default(&self) -> &str {
        self.region.as_deref().unwrap_or("us-east-1")
    }

    /// The custom endpoint for `scheme`, checked; `minio://` requires one.
    pub(crate) fn checked_endpoint(&self, scheme: S3Scheme) -> Result<Option<&str>, StorageError> {
        let Some(endpoint) = self.endpoint.as_deref() else {
            if scheme == S3Scheme::Minio {
                return Err(StorageError::S3Config {
                    reason: "a minio:// root needs the MinIO server's URL in AWS_ENDPOINT_URL \
                             (for example http://localhost:9000)"
                        .to_owned(),
                });
            }
            return Ok(None);
        };
        let host = endpoint
            .strip_prefix("http://")
            .or_else(|| endpoint.strip_prefix("https://"));
        if host.is_none_or(|host| host.trim_matches('/').is_empty()) {
            return Err(StorageError::S3Config {
                reason: format!(
                    "AWS_ENDPOINT_URL {endpoint:?} must be an http:// or https:// URL with a host"
                ),
            });
        }
        Ok(Some(endpoint))
    }

    /// The access key and secret, or an error naming the variables to set.
    pub(crate) fn credentials(&self) -> Result<(&str, &str), StorageError> {
        match (
            self.access_key_id.as_deref(),
            self.secret_access_key.as_deref(),
        ) {
            (Some(key_id), Some(secret)) => Ok((key_id, secret)),
            _ => Err(StorageError::S3Config {
                reason: "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                         (and AWS_SESSION_TOKEN for temporary credentials)"
                    .to_owned(),
            }),
        }
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| "<hidden>");
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// How files are moved. An upload holds at most `part_size * (max_concurrent_parts + 1)` bytes
/// in memory, whatever the file's size.
#[derive(Debug, Clone)]
pub struct TransferSettings {
    /// Files of at least this many bytes are uploaded in parts; smaller ones in one request.
    pub multipart_threshold: u64,
    /// Bytes per part. S3 requires at least 5 MiB for every part but the last.
    pub part_size: usize,
    /// Parts (and directory files) in flight at once.
    pub max_concurrent_parts: usize,
}

impl Default for TransferSettings {
    fn default() -> Self {
        TransferSettings {
            multipart_threshold: 8 * MIB as u64,
            part_size: 8 * MIB,
            max_concurrent_parts: 2,
        }
    }
}

impl TransferSettings {
    /// The settings with sizes S3 accepts: parts of at least 5 MiB, at least one in flight.
    pub(crate) fn checked(&self) -> TransferSettings {
        TransferSettings {
            multipart_threshold: self.multipart_threshold.max(1),
            part_size: self.part_size.max(5 * MIB),
            max_concurrent_parts: self.max_concurrent_parts.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> S3Settings {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        S3Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_the_sdk_variables() {
        let s3 = settings(&[
            ("AWS_ENDPOINT_URL", "http://localhost:9000"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", ""),
        ]);
        assert_eq!(s3.endpoint.as_deref(), Some("http://localhost:9000"));
        assert_eq!(s3.region_or_default(), "eu-west-1");
        assert_eq!(s3.credentials().ok(), Some(("id", "secret")));
        assert_eq!(s3.session_token, None);
        assert!(!format!("{s3:?}").contains("secret\""));
    }

    #[test]
    fn the_s3_specific_endpoint_and_region_win() {
        let s3 = settings(&[
            ("AWS_ENDPOINT_URL", "http://general:1"),
            ("AWS_ENDPOINT_URL_S3", "http://s3-only:2"),
            ("AWS_REGION", "r1"),
            ("AWS_DEFAULT_REGION", "r2"),
        ]);
        assert_eq!(s3.endpoint.as_deref(), Some("http://s3-only:2"));
        assert_eq!(s3.region_or_default(), "r1");
    }

    #[test]
    fn minio_needs_an_endpoint_and_endpoints_need_a_scheme() {
        let none = settings(&[]);
        assert!(none
            .checked_endpoint(S3Scheme::S3)
            .is_ok_and(|e| e.is_none()));
        let minio = none
            .checked_endpoint(S3Scheme::Minio)
            .err()
            .map(|e| e.to_string());
        assert!(minio.is_some_and(|m| m.contains("AWS_ENDPOINT_URL")));
        let bare = settings(&[("AWS_ENDPOINT_URL", "localhost:9000")]);
        assert!(bare.checked_endpoint(S3Scheme::S3).is_err());
        let missing = none
            .credentials()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(missing.contains("AWS_ACCESS_KEY_ID") && missing.contains("AWS_SECRET_ACCESS_KEY"));
    }
}
