//! `weir server`: the KFP v2beta1 REST API on one port.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tokio_util::sync::CancellationToken;
use weir_control::Control;
use weir_server::ServerConfig;

use crate::data;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. Anything but loopback needs --auth-token.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// At most this many steps at once, over all runs [default: number of cores].
    #[arg(long)]
    max_parallel: Option<usize>,
}

/// `auth_token` is the global `--auth-token`: every API call must send
/// `Authorization: Bearer <token>` (kfp.Client's existing_token).
pub async fn run(args: Args, data_dir: PathBuf, auth_token: Option<String>) -> Result<ExitCode> {
    if !args.host.is_loopback() && auth_token.as_deref().is_none_or(str::is_empty) {
        bail!(
            "binding {} exposes the API beyond this machine; set --auth-token (or WEIR_AUTH_TOKEN)",
            args.host
        );
    }
    let engine = data::open_engine(&data_dir, args.max_parallel).await?;
    let config = ServerConfig {
        host: args.host,
        port: args.port,
        auth_token: auth_token.filter(|t| !t.is_empty()),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    eprintln!(
        "weir server on http://{}:{} (data in {})",
        config.host,
        config.port,
        data_dir.display()
    );
    weir_server::serve(config, Control::new(engine), shutdown)
        .await
        .with_context(|| format!("failed to serve on {}:{}", args.host, args.port))?;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM or Ctrl-C: stop taking work, let state settle, exit. Runs resume at the next start.
async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("shutting down: running steps get a moment to finish; unfinished runs resume at the next start");
    shutdown.cancel();
}
