//! Weir-managed Python environments for KFP lightweight Python components.
//!
//! A KFP Python component's command starts with a `pip install` preamble (see
//! [`PythonEnvs::requirements`]). Run as it is on a host, it would install into the host's
//! interpreter and download the packages on every run. Instead Weir reads the preamble, builds a
//! venv holding those packages once ([`PythonEnvs::ensure`]), and runs the command unchanged
//! with the venv first on `PATH` ([`PreparedEnv::apply`]): the command's own `pip install`
//! then finds everything satisfied and downloads nothing. The host interpreter is never
//! modified.
//!
//! Layout under the root folder:
//! - `envs/<key>-<nonce>/`: a venv, built in place (venvs are not relocatable);
//! - `envs/<key>`: a symlink to the finished venv, published by an atomic rename once every
//!   install succeeded; a venv without it is never used and is removed by the next build;
//! - `locks/<key>.lock`: the file lock that builders of one key take, across processes.

mod build;
mod requirements;
mod shell;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::process::Termination;

pub use requirements::{PipInstall, Requirements};

/// Errors of [`PythonEnvs`].
#[derive(Debug, thiserror::Error)]
pub enum PyEnvError {
    #[error("failed to run python3 to find the Python interpreter ({message}): install Python 3 and put python3 on PATH")]
    InterpreterUnavailable { message: String },
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to create the Python environment: `{command}` {termination}; see {}, which ends with:\n{log_tail}", log_path.display())]
    InstallFailed {
        command: String,
        termination: Termination,
        log_path: PathBuf,
        log_tail: String,
    },
}

impl PyEnvError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// The cache of Weir-managed venvs, all built from one host interpreter.
#[derive(Debug, Clone)]
pub struct PythonEnvs {
    root: PathBuf,
    interpreter: PathBuf,
    interpreter_version: String,
}

/// A venv ready for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEnv {
    pub bin_dir: PathBuf,
    pub venv_dir: PathBuf,
    /// The venv's `site-packages`, exported as `PYTHONPATH` when the command creates a venv of
    /// its own with `--system-site-packages` ([`Requirements::script_creates_venv`]): KFP meant
    /// the preamble's packages to be in the system site, which for Weir is this venv.
    pub python_path: Option<PathBuf>,
}

impl PreparedEnv {
    /// Puts the venv first on `PATH` and sets `VIRTUAL_ENV` (and `PYTHONPATH`, see
    /// [`PreparedEnv::python_path`]) in a task's environment. Also sets
    /// `PIP_DISABLE_PIP_VERSION_CHECK=1`, so that the command's own `pip install`, satisfied by
    /// the venv, does not ask the package index for a newer pip.
    pub fn apply(&self, env: &mut BTreeMap<String, String>) {
        prepend_path_list(env, "PATH", &self.bin_dir);
        env.insert(
            "VIRTUAL_ENV".to_owned(),
            self.venv_dir.to_string_lossy().into_owned(),
        );
        env.insert("PIP_DISABLE_PIP_VERSION_CHECK".to_owned(), "1".to_owned());
        if let Some(python_path) = &self.python_path {
            prepend_path_list(env, "PYTHONPATH", python_path);
        }
    }
}

fn prepend_path_list(env: &mut BTreeMap<String, String>, name: &str, dir: &Path) {
    let dir = dir.to_string_lossy();
    let value = match env.get(name) {
        Some(existing) if !existing.is_empty() => format!("{dir}:{existing}"),
        _ => dir.into_owned(),
    };
    env.insert(name.to_owned(), value);
}

impl PythonEnvs {
    /// Creates the cache at `root` and resolves the real interpreter behind `python3` on Weir's
    /// `PATH` once (a version-manager shim costs 100–200 ms per start; venvs and tasks use the
    /// real path).
    pub async fn new(root: PathBuf) -> Result<Self, PyEnvError> {
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(PyEnvError::io("create", &root))?;
        let root = tokio::fs::canonicalize(&root)
            .await
            .map_err(PyEnvError::io("resolve", &root))?;
        let (interpreter, interpreter_version) = resolve_interpreter().await?;
        tracing::debug!(interpreter = %interpreter.display(), %interpreter_version, "resolved python3");
        Ok(Self {
            root,
            interpreter,
            interpreter_version,
        })
    }

    /// The folder holding every environment (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real host interpreter that venvs are created from.
    pub fn interpreter(&self) -> &Path {
        &self.interpreter
    }

    /// Its version, e.g. `3.11.7`.
    pub fn interpreter_version(&self) -> &str {
        &self.interpreter_version
    }

    /// Scans a task's command and args for KFP `pip install` preambles (`sh -c` scripts). `None`
    /// when there is nothing to install, or when an install cannot be reproduced in a cached env
    /// (a word with an expansion or redirection, requirement or constraint files, local paths,
    /// `--user`/`--target`/`--prefix`): the command then runs as it is.
    pub fn requirements(argv: &[String]) -> Option<Requirements> {
        requirements::requirements(argv)
    }

    /// Returns a venv that satisfies `requirements`, creating it on first use. The venv is keyed
    /// by the interpreter's path and version and the installs; concurrent calls for one key, in
    /// this process or others, wait for a single creator. The output of `venv` and `pip` during
    /// creation is appended to `log_path`; nothing is written there on a cache hit.
    pub async fn ensure(
        &self,
        requirements: &Requirements,
        log_path: &Path,
    ) -> Result<PreparedEnv, PyEnvError> {
        let key = self.env_key(requirements);
        let venv_dir = build::ensure_venv(self, &key, requirements, log_path).await?;
        let python_path = if requirements.script_creates_venv {
            self.site_packages(&venv_dir)
        } else {
            None
        };
        Ok(PreparedEnv {
            bin_dir: venv_dir.join("bin"),
            venv_dir,
            python_path,
        })
    }

    fn site_packages(&self, venv_dir: &Path) -> Option<PathBuf> {
        let mut version_parts = self.interpreter_version.split('.');
        let (Some(major), Some(minor)) = (version_parts.next(), version_parts.next()) else {
            return None;
        };
        let site_packages = venv_dir.join(format!("lib/python{major}.{minor}/site-packages"));
        if site_packages.is_dir() {
            return Some(site_packages);
        }
        tracing::warn!(path = %site_packages.display(), "a venv has no site-packages folder where expected");
        None
    }

    /// A short, stable hash of what determines a venv's content (options that only change
    /// pip's output are not part of [`Requirements`]).
    fn env_key(&self, requirements: &Requirements) -> String {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"weir-pyenv-v1");
        field(self.interpreter.as_os_str().as_encoded_bytes());
        field(self.interpreter_version.as_bytes());
        for install in &requirements.installs {
            field(b"install");
            for option in &install.options {
                field(b"option");
                field(option.as_bytes());
            }
            for spec in &install.specs {
                field(b"spec");
                field(spec.as_bytes());
            }
        }
        let digest = hasher.finalize();
        // 96 bits: collisions are out of reach, and venv shebang lines stay short.
        hex::encode(digest.get(..12).unwrap_or(&digest))
    }
}

async fn resolve_interpreter() -> Result<(PathBuf, String), PyEnvError> {
    let unavailable = |message: String| PyEnvError::InterpreterUnavailable { message };
    let output = tokio::process::Command::new("python3")
        .args([
            "-c",
            "import platform, sys; print(sys.executable); print(platform.python_version())",
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if !output.status.success() {
        return Err(unavailable(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines().map(str::trim);
    match (lines.next(), lines.next()) {
        (Some(executable), Some(version)) if !executable.is_empty() && !version.is_empty() => {
            Ok((PathBuf::from(executable), version.to_owned()))
        }
        _ => Err(unavailable(format!(
            "unexpected output `{}`",
            stdout.trim()
        ))),
    }
}

#[cfg(test)]
mod tests;
