//! Building the `object_store` client for an `s3://` or `minio://` root.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::error::StorageError;
use crate::settings::S3Settings;
use crate::uri::S3Uri;

/// A client for the bucket of `uri`, and the endpoint it talks to as error messages name it.
///
/// With a custom endpoint, buckets are addressed path-style (`http://host/bucket/key`), which
/// every S3-compatible server accepts, and an `http://` endpoint is used as given. On AWS itself
/// they are addressed as the AWS SDKs do (see [`path_style`]).
pub(crate) fn open_bucket(
    uri: &S3Uri,
    settings: &S3Settings,
) -> Result<(Arc<dyn ObjectStore>, String), StorageError> {
    let endpoint = settings.checked_endpoint(uri.scheme)?;
    let (access_key_id, secret_access_key) = settings.credentials()?;
    let region = settings.region_or_default();
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: settings.max_retries,
        retry_timeout: settings.retry_timeout,
    };
    let client = ClientOptions::new()
        .with_connect_timeout(settings.connect_timeout)
        .with_allow_http(endpoint.is_some_and(|url| url.starts_with("http://")));
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&uri.bucket)
        .with_region(region)
        .with_access_key_id(access_key_id)
        .with_secret_access_key(secret_access_key)
        .with_virtual_hosted_style_request(!path_style(endpoint, &uri.bucket))
        .with_retry(retry)
        .with_client_options(client);
    if let Some(token) = &settings.session_token {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder.build().map_err(|error| StorageError::S3Config {
        reason: format!("cannot set up a client for {uri}: {error}"),
    })?;
    let described = match endpoint {
        Some(endpoint) => endpoint.to_owned(),
        None => format!("AWS S3 in {region}"),
    };
    Ok((Arc::new(store), described))
}

/// Whether the bucket goes in the path rather than the host name: always with a custom
/// endpoint; on AWS only for bucket names with dots, which TLS certificates for
/// `*.s3.<region>.amazonaws.com` do not cover (the AWS SDKs do the same).
fn path_style(endpoint: Option<&str>, bucket: &str) -> bool {
    endpoint.is_some() || bucket.contains('.')
}

#[cfg(test)]
mod tests {
    use super::path_style;

    #[test]
    fn custom_endpoints_and_dotted_buckets_are_path_style() {
        assert!(path_style(Some("http://localhost:9000"), "mlpipeline"));
        assert!(path_style(None, "my.bucket"));
        assert!(!path_style(None, "mlpipeline"));
    }
}
