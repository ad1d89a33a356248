//! Where the resource commands act: the local data dir, or a server (`--endpoint`).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use weir_client::{Client, ClientError};

/// The data dir, or a client of the server that `--endpoint` (`WEIR_ENDPOINT`) names.
pub enum Target {
    Local(PathBuf),
    Server(Client),
}

impl Target {
    /// A server when an endpoint is given (an empty one counts as none).
    pub fn new(
        data_dir: PathBuf,
        endpoint: Option<String>,
        auth_token: Option<String>,
    ) -> Result<Target> {
        match endpoint.filter(|e| !e.trim().is_empty()) {
            Some(endpoint) => Ok(Target::Server(Client::new(&endpoint, auth_token)?)),
            None => Ok(Target::Local(data_dir)),
        }
    }

    /// The server, or an error saying that `weir <command>` needs one.
    pub fn server(&self, command: &str) -> Result<&Client> {
        match self {
            Target::Server(client) => Ok(client),
            Target::Local(_) => Err(needs_server(command)),
        }
    }
}

/// `weir <command>` has no local meaning.
pub fn needs_server(command: &str) -> anyhow::Error {
    anyhow!(
        "`weir {command}` works against a server: pass --endpoint URL (or set WEIR_ENDPOINT) \
         naming a `weir server` or Kubeflow Pipelines endpoint"
    )
}

/// [`needs_server`], and what to do instead.
pub fn needs_server_or(command: &str, alternative: &str) -> anyhow::Error {
    anyhow!("{}; {alternative}", needs_server(command))
}

/// `weir <command>` works on the data dir only.
pub fn local_only(command: &str, data_dir_hint: &str) -> anyhow::Error {
    anyhow!(
        "`weir {command}` works on the local data dir only, not with --endpoint: {data_dir_hint}"
    )
}

/// A hint for an error from a server, printed under the error.
pub fn hint(error: &anyhow::Error) -> Option<&'static str> {
    let client_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())?;
    match client_error {
        ClientError::Unreachable { .. } => {
            Some("is the server running there? check --endpoint or WEIR_ENDPOINT")
        }
        ClientError::Api { .. } if client_error.is_unauthenticated() => {
            Some("pass the server's token with --auth-token or WEIR_AUTH_TOKEN")
        }
        _ => None,
    }
}
