//! `weir secrets|configmaps set|get|list|delete`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use weir_engine::config_map_key;
use weir_store::SecretData;

use crate::data;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Secret,
    ConfigMap,
}

impl Kind {
    fn key(self, name: &str) -> String {
        match self {
            Kind::Secret => name.to_owned(),
            Kind::ConfigMap => config_map_key(name),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::ConfigMap => "config map",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create or replace: `set NAME KEY=VALUE...`
    Set {
        name: String,
        #[arg(required = true, value_name = "KEY=VALUE")]
        entries: Vec<String>,
    },
    /// List the names.
    List,
    /// Print the keys (and, for config maps, the values).
    Get { name: String },
    /// Delete.
    Delete { name: String },
}

pub async fn run(command: Command, data_dir: PathBuf, kind: Kind) -> Result<ExitCode> {
    let store = data::open_store(&data_dir).await?;
    match command {
        Command::Set { name, entries } => {
            validate_name(&name)?;
            let mut data = SecretData::new();
            for entry in entries {
                let Some((key, value)) = entry.split_once('=') else {
                    bail!("`{entry}` must be KEY=VALUE")
                };
                if key.is_empty() {
                    bail!("`{entry}` has an empty key");
                }
                data.insert(key.to_owned(), value.to_owned());
            }
            store.set_secret(&kind.key(&name), &data).await?;
            println!("{} `{name}` set ({} keys)", kind.what(), data.len());
        }
        Command::List => {
            let names = store.list_secrets().await?;
            for name in names {
                match (kind, name.strip_prefix(&config_map_key(""))) {
                    (Kind::ConfigMap, Some(map)) => println!("{map}"),
                    (Kind::Secret, None) => println!("{name}"),
                    _ => {}
                }
            }
        }
        Command::Get { name } => {
            let Some(data) = store.get_secret(&kind.key(&name)).await? else {
                bail!("no {} named `{name}`", kind.what())
            };
            for (key, value) in data {
                match kind {
                    Kind::Secret => println!("{key}"),
                    Kind::ConfigMap => println!("{key}={value}"),
                }
            }
        }
        Command::Delete { name } => {
            if !store.delete_secret(&kind.key(&name)).await? {
                bail!("no {} named `{name}`", kind.what());
            }
            println!("{} `{name}` deleted", kind.what());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !valid {
        bail!("`{name}` is not a valid name: use letters, digits, `-`, `.` and `_`");
    }
    Ok(())
}
