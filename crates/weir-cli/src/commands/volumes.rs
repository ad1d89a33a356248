//! `weir volumes create|list|delete`: named folders that tasks mount as Kubernetes PVCs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use weir_engine::Layout;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a volume.
    Create { name: String },
    /// List volumes with their folders.
    List,
    /// Delete a volume and everything in it.
    Delete { name: String },
}

pub async fn run(command: Command, data_dir: PathBuf) -> Result<ExitCode> {
    let layout = Layout::new(&data_dir);
    match command {
        Command::Create { name } => {
            let folder = layout.volume(&checked(&name)?);
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("failed to create {}", folder.display()))?;
            println!("volume `{name}` at {}", folder.display());
        }
        Command::List => {
            let Ok(entries) = std::fs::read_dir(layout.volumes()) else {
                return Ok(ExitCode::SUCCESS);
            };
            let mut names: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for name in names {
                println!("{name}\t{}", layout.volume(&name).display());
            }
        }
        Command::Delete { name } => {
            let folder = layout.volume(&checked(&name)?);
            if !folder.exists() {
                bail!("no volume named `{name}`");
            }
            std::fs::remove_dir_all(&folder)
                .with_context(|| format!("failed to delete {}", folder.display()))?;
            println!("volume `{name}` deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn checked(name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && !name.starts_with('.');
    if !valid {
        bail!("`{name}` is not a valid volume name: use letters, digits, `-`, `.` and `_`");
    }
    Ok(name.to_owned())
}
