//! `weir-s3-testserver`: serves a folder as S3 on a loopback port for test scripts. Prints the
//! endpoint URL on stdout once it accepts connections, then serves until SIGINT or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use weir_s3_testserver::{TestServer, TestServerConfig};

/// Serve a folder as S3 (s3s-fs), checking SigV4 signatures.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The folder holding the buckets; created if missing.
    #[arg(long)]
    root: PathBuf,
    /// The access key id clients must use.
    #[arg(long, default_value = "weir-test")]
    access_key: String,
    /// The secret clients must sign with.
    #[arg(long, default_value = "weir-test-secret")]
    secret_key: String,
    /// The loopback port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A bucket to create before serving; may be repeated.
    #[arg(long = "bucket")]
    buckets: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = TestServerConfig {
        root: args.root,
        access_key: args.access_key,
        secret_key: args.secret_key,
        port: args.port,
        buckets: args.buckets,
    };
    let server = TestServer::start(config)
        .await
        .context("failed to start the S3 server")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.endpoint()).context("failed to print the endpoint")?;
    stdout.flush().context("failed to print the endpoint")?;
    let mut terminate = signal(SignalKind::terminate()).context("failed to watch SIGTERM")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    server.stop().await;
    Ok(())
}
