//! A real S3 server for tests: s3s-fs over a folder, on a loopback port, checking SigV4
//! signatures against one access key and secret.
//!
//! Rust tests start it in process with [`TestServer::start`]; scripts run the
//! `weir-s3-testserver` binary, which prints the endpoint URL when it is ready. Buckets are the
//! folder's subfolders and objects plain files under them, so a test can look at what the
//! server holds. Where s3s-fs answers differently from S3 (a missing bucket, a key that is only
//! a prefix), the server answers as S3 does (`shim.rs`). [`TestServer::stop`] closes the port and drops every open connection at once,
//! the way a crashed server would.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

mod shim;

/// How many requests [`TestServer::requests`] remembers.
const REQUESTS_KEPT: usize = 10_000;

/// What to serve and who may use it.
#[derive(Debug, Clone)]
pub struct TestServerConfig {
    /// The folder holding the buckets (created if missing).
    pub root: PathBuf,
    /// The one access key id the server accepts.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// The loopback port; 0 picks a free one.
    pub port: u16,
    /// Buckets to create before serving.
    pub buckets: Vec<String>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error("cannot create the folder {path:?}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serve the folder {path:?}: {message}")]
    Serve { path: PathBuf, message: String },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
}

/// A running server. Dropping it stops it like [`stop`](Self::stop).
#[derive(Debug)]
pub struct TestServer {
    address: SocketAddr,
    root: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    serving: JoinHandle<()>,
}

impl TestServer {
    /// Creates the folder and buckets and starts serving; returns once the port accepts
    /// connections.
    pub async fn start(config: TestServerConfig) -> Result<TestServer, TestServerError> {
        for folder in std::iter::once(config.root.clone())
            .chain(config.buckets.iter().map(|b| config.root.join(b)))
        {
            tokio::fs::create_dir_all(&folder)
                .await
                .map_err(|source| TestServerError::Folder {
                    path: folder.clone(),
                    source,
                })?;
        }
        let file_system =
            s3s_fs::FileSystem::new(&config.root).map_err(|error| TestServerError::Serve {
                path: config.root.clone(),
                message: format!("{error:?}"),
            })?;
        let mut builder = S3ServiceBuilder::new(file_system);
        builder.set_auth(SimpleAuth::from_single(
            config.access_key,
            config.secret_key,
        ));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| TestServerError::Listen {
                port: config.port,
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| TestServerError::Listen {
                port: config.port,
                source,
            })?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let serving = tokio::spawn(serve(
            listener,
            builder.build(),
            config.root.clone(),
            requests.clone(),
        ));
        Ok(TestServer {
            address,
            root: config.root,
            requests,
            serving,
        })
    }

    /// The URL to put in `AWS_ENDPOINT_URL`, such as `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The folder holding the buckets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The requests served so far, as `METHOD /path?query`, oldest first (the first 10,000).
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// Stops serving: the port closes and every open connection is dropped mid-request.
    pub async fn stop(mut self) {
        self.serving.abort();
        let _ = (&mut self.serving).await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Accepts connections until aborted; aborting drops the connection tasks with it.
async fn serve(
    listener: TcpListener,
    service: S3Service,
    root: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(error) => {
                tracing::warn!(%error, "the test S3 server could not accept a connection");
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let (service, root, requests) = (service.clone(), root.clone(), requests.clone());
        let answer = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            remember(&requests, format!("{} {}", request.method(), request.uri()));
            let (service, root) = (service.clone(), root.clone());
            async move {
                let uri = request.uri();
                if let Some(answer) =
                    shim::s3_answer(&root, request.method(), uri.path(), uri.query()).await
                {
                    return Ok(answer);
                }
                Service::call(&service, request).await
            }
        });
        connections.spawn(async move {
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), answer)
                .await
            {
                tracing::debug!(%error, "a test S3 connection ended with an error");
            }
        });
    }
}

fn remember(requests: &Mutex<Vec<String>>, request: String) {
    if let Ok(mut seen) = requests.lock() {
        if seen.len() < REQUESTS_KEPT {
            seen.push(request);
        }
    }
}
