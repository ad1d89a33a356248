//! Warm Python interpreters: KFP lightweight Python components started without paying for a
//! fresh interpreter and `import kfp` on every step.
//!
//! A compiled lightweight component runs `sh -ec <script> <source> <args>`, where the script
//! writes the source to a temporary file and runs `python3 -m kfp.dsl.executor_main` on it
//! ([`kfp_program`] recognizes exactly that script). Started that way, each step costs an
//! interpreter start and the executor's imports (60–100 ms on a small machine) before the
//! component's own code runs. Instead, [`WarmPythons`] keeps one interpreter per environment
//! that has imported the executor's dependencies once (`server.py`, a fork server), and each
//! step is a child forked from it that takes on what the step would have been: its own process
//! group, stdin from `/dev/null`, stdout and stderr appended to the step's log, the step's
//! working directory and exact environment (plus `_KFP_RUNTIME=true`, as the script sets), the
//! memory limit as `RLIMIT_AS`, the source written to `$TMPDIR/tmp…/ephemeral_component.py`,
//! then the module run as `__main__` with the same arguments. What the component sees (its
//! environment, files, arguments, interpreter, installed packages, exit status) is what the
//! script would have given it; modules are already imported, and `random` is re-seeded in each
//! child by Python itself.
//!
//! The interpreter is the `python3` found on the step's `PATH` (a Weir-managed venv's,
//! normally); one server runs per interpreter, module and the environment variables that shape
//! an interpreter (`PATH`, `HOME`, `LANG`, `LC_*`, `VIRTUAL_ENV`, `PYTHON*`). A server that cannot
//! start is not retried: its steps run as written. The steps of a server are its children;
//! when Weir goes away the server's stdin closes, and it stops their process groups (SIGTERM,
//! then SIGKILL) and exits, as a killed Weir's steps would otherwise be stopped on restart.

mod script;
mod server;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::sync::{mpsc, OnceCell};
use tokio_util::sync::CancellationToken;

use crate::process::{
    classify_exit, logs, program, timeout_of, ProcessOutcome, ProcessSpec, Termination,
};
pub use script::{kfp_program, KfpProgram};
use server::{Event, Server};

/// Environment variables that change how an interpreter starts or what it imports; a server
/// serves only steps whose values match its own. HOME is not one: every step has a fresh, empty
/// home of its own (so no user site-packages), and a server starts in an empty home too, so a
/// step's interpreter starts the same either way; the child takes the step's HOME.
fn shapes_the_interpreter(name: &str) -> bool {
    matches!(name, "PATH" | "LANG" | "VIRTUAL_ENV")
        || name.starts_with("LC_")
        || name.starts_with("PYTHON")
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServerKey {
    interpreter: PathBuf,
    module: String,
    env: BTreeMap<String, String>,
}

type Slot = Arc<OnceCell<Option<Arc<Server>>>>;

/// The warm interpreters of one engine.
pub struct WarmPythons {
    /// Servers' working directory and their log (`server.log`).
    root: PathBuf,
    /// SIGTERM to SIGKILL for the steps of a server whose owner went away.
    grace: Duration,
    servers: Mutex<HashMap<ServerKey, Slot>>,
}

impl WarmPythons {
    /// No interpreter starts until a step asks for one. `grace`: how long steps get between
    /// SIGTERM and SIGKILL when Weir goes away while they run.
    pub fn new(root: PathBuf, grace: Duration) -> WarmPythons {
        WarmPythons {
            root,
            grace,
            servers: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `spec` in a warm interpreter when its command is a KFP lightweight component's and
    /// an interpreter for it is (or can be made) ready; `None` means: run it as a process.
    pub async fn run(
        &self,
        spec: &ProcessSpec,
        cancel: &CancellationToken,
    ) -> Option<ProcessOutcome> {
        let program = kfp_program(&spec.argv)?;
        let interpreter = program::resolve_program("python3", &spec.env, &spec.cwd).ok()?;
        let key = ServerKey {
            interpreter,
            module: program.module.to_owned(),
            env: spec
                .env
                .iter()
                .filter(|(name, _)| shapes_the_interpreter(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        };
        let server = self.server(&key).await?;
        Some(run_step(&server, spec, &program, cancel).await)
    }

    async fn server(&self, key: &ServerKey) -> Option<Arc<Server>> {
        let slot = {
            let mut servers = self.servers.lock().ok()?;
            let slot = servers.entry(key.clone()).or_default();
            if slot
                .get()
                .is_some_and(|s| s.as_ref().is_some_and(|s| !s.is_alive()))
            {
                *slot = Slot::default();
            }
            slot.clone()
        };
        slot.get_or_init(|| self.start(key)).await.clone()
    }

    async fn start(&self, key: &ServerKey) -> Option<Arc<Server>> {
        let started = async {
            std::fs::create_dir_all(&self.root)
                .map_err(|e| format!("cannot create {}: {e}", self.root.display()))?;
            let log_path = self.root.join("server.log");
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
            let home = self.root.join("home");
            std::fs::create_dir_all(&home)
                .map_err(|e| format!("cannot create {}: {e}", home.display()))?;
            let mut env = key.env.clone();
            env.insert("_KFP_RUNTIME".to_owned(), "true".to_owned());
            env.insert("HOME".to_owned(), home.display().to_string());
            Server::start(
                &key.interpreter,
                &key.module,
                self.grace,
                &env,
                &self.root,
                log,
            )
            .await
        };
        match started.await {
            Ok(server) => {
                tracing::debug!(interpreter = %key.interpreter.display(), module = %key.module, "warm Python interpreter ready");
                Some(Arc::new(server))
            }
            Err(error) => {
                tracing::warn!(interpreter = %key.interpreter.display(), module = %key.module, %error, "no warm Python interpreter; steps start a fresh one");
                None
            }
        }
    }
}

/// Signals the step's group with SIGKILL if its future is dropped before the step ended (the
/// process executor's `kill_on_drop`).
struct StopOnDrop {
    server: Arc<Server>,
    id: u64,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.server.forget(self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let server = self.server.clone();
            let id = self.id;
            runtime.spawn(async move { server.signal(id, libc_signal::KILL).await });
        }
    }
}

mod libc_signal {
    pub(super) const TERM: i32 = nix::sys::signal::Signal::SIGTERM as i32;
    pub(super) const KILL: i32 = nix::sys::signal::Signal::SIGKILL as i32;
}

async fn run_step(
    server: &Arc<Server>,
    spec: &ProcessSpec,
    program: &KfpProgram<'_>,
    cancel: &CancellationToken,
) -> ProcessOutcome {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let (termination, log_tail) = supervise(server, spec, program, cancel).await;
    ProcessOutcome {
        termination,
        started_at,
        duration: start.elapsed(),
        log_tail,
    }
}

async fn supervise(
    server: &Arc<Server>,
    spec: &ProcessSpec,
    program: &KfpProgram<'_>,
    cancel: &CancellationToken,
) -> (Termination, String) {
    let spawn_failed = |message: String| (Termination::SpawnFailed { message }, String::new());
    if cancel.is_cancelled() {
        return (Termination::Canceled, String::new());
    }
    if !spec.cwd.is_dir() {
        return spawn_failed(format!(
            "cannot run `python3`: working directory {} does not exist",
            spec.cwd.display()
        ));
    }
    let log_start = match prepare_log(&spec.log_path) {
        Ok(length) => length,
        Err(error) => {
            return spawn_failed(format!(
                "cannot run `python3`: failed to open log file {}: {error}",
                spec.log_path.display()
            ))
        }
    };
    let mut env = spec.env.clone();
    env.insert("_KFP_RUNTIME".to_owned(), "true".to_owned());
    let (id, mut events) = server.register();
    let mut guard = StopOnDrop {
        server: server.clone(),
        id,
        armed: true,
    };
    let request = json!({
        "id": id,
        "op": "run",
        "argv": program.args,
        "env": env,
        "cwd": spec.cwd,
        "log": spec.log_path,
        "program": program.source,
        "memory": spec.limits.memory_bytes,
    });
    if let Err(message) = server.send(&request).await {
        guard.armed = false;
        server.forget(id);
        return spawn_failed(message);
    }
    let pid = match events.recv().await {
        Some(Event::Started { pid }) => pid,
        Some(Event::Failed { message }) => {
            guard.armed = false;
            server.forget(id);
            return spawn_failed(format!(
                "the warm interpreter could not start the step: {message}"
            ));
        }
        _ => {
            guard.armed = false;
            return spawn_failed("the warm interpreter exited".to_owned());
        }
    };
    if let Some(pid_file) = &spec.pid_file {
        if let Err(error) = std::fs::write(pid_file, pid.to_string()) {
            tracing::warn!(path = %pid_file.display(), %error, "cannot record the process group");
        }
    }
    let ended = wait_or_stop(server, id, &mut events, spec, cancel).await;
    guard.armed = false;
    let log_tail = read_tail(&spec.log_path, log_start);
    let termination = match ended {
        Ended::Exited(status) => classify_exit(
            ExitStatus::from_raw(status),
            spec.limits.memory_bytes.is_some(),
            &log_tail,
        ),
        Ended::Stopped(termination) => termination,
        Ended::Lost => {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            Termination::SpawnFailed {
                message: "the warm Python interpreter exited while the step ran".to_owned(),
            }
        }
    };
    (termination, log_tail)
}

enum Ended {
    Exited(i32),
    Stopped(Termination),
    Lost,
}

async fn next_exit(events: &mut mpsc::UnboundedReceiver<Event>) -> Option<i32> {
    loop {
        match events.recv().await {
            Some(Event::Exited { status }) => return Some(status),
            Some(Event::Started { .. }) => continue,
            Some(Event::Failed { message }) => {
                tracing::warn!(%message, "the warm interpreter could not signal a step");
                continue;
            }
            Some(Event::Lost) | None => return None,
        }
    }
}

async fn wait_or_stop(
    server: &Server,
    id: u64,
    events: &mut mpsc::UnboundedReceiver<Event>,
    spec: &ProcessSpec,
    cancel: &CancellationToken,
) -> Ended {
    let timeout = timeout_of(spec);
    let stopped = tokio::select! {
        biased;
        status = next_exit(events) => return status.map_or(Ended::Lost, Ended::Exited),
        () = cancel.cancelled() => Termination::Canceled,
        () = timeout => Termination::TimedOut,
    };
    server.signal(id, libc_signal::TERM).await;
    if tokio::time::timeout(spec.kill_grace, next_exit(events))
        .await
        .is_err()
    {
        server.signal(id, libc_signal::KILL).await;
        let _ = next_exit(events).await;
    }
    Ended::Stopped(stopped)
}

/// Creates the log's folder and returns the log's current length (where this step's output
/// starts).
fn prepare_log(path: &Path) -> std::io::Result<u64> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(metadata.len()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(error),
    }
}

/// The last lines this step wrote to its log.
fn read_tail(path: &Path, start: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let end = file.metadata().map(|m| m.len()).unwrap_or(start);
    let from = start.max(end.saturating_sub(logs::TAIL_BYTES as u64));
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    logs::last_lines(&text, logs::TAIL_LINES).to_owned()
}

#[cfg(test)]
mod tests;
