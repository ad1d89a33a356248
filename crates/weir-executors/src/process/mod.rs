//! A supervised host process: one leaf task run as a local child process.
//!
//! The child runs in its own process group with exactly the environment it is given. Its stdout
//! and stderr are appended to one log file as they arrive. Cancellation and timeout send
//! `SIGTERM` to the whole group, wait [`ProcessSpec::kill_grace`], then send `SIGKILL`; when the
//! main process exits by itself, whatever it left running in its group is killed, as a pod's
//! containers are torn down when the main process ends. The child is always reaped.
//!
//! Resource limits: the memory limit is an address-space limit (`RLIMIT_AS`) applied through
//! util-linux `prlimit` when it is on Weir's `PATH` (a warning is logged once otherwise; the task
//! then runs without a limit). The CPU limit is recorded only: capping CPU needs cgroups, which
//! the local executor does not manage.

mod executor;
pub(crate) mod logs;
mod mounts;
pub(crate) mod program;

pub use executor::{pid_file, ProcessExecutor};

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// `argv[0]` is the program: a path (relative to `cwd`) when it contains a `/`, otherwise
    /// looked up on the `PATH` of `env`.
    pub argv: Vec<String>,
    /// The complete environment of the child; nothing is inherited from Weir.
    pub env: BTreeMap<String, String>,
    /// The working directory; it must exist.
    pub cwd: PathBuf,
    /// stdout and stderr are appended here as they arrive; parent directories are created.
    pub log_path: PathBuf,
    /// Wall-clock limit, counted from the spawn.
    pub timeout: Option<Duration>,
    /// Time between `SIGTERM` and `SIGKILL` when the process is stopped.
    pub kill_grace: Duration,
    pub limits: ResourceLimits,
    /// Where the process group id is written once the process starts, so that after a crash
    /// a later Weir can stop the group it left behind ([`stop_leftover_group`]).
    pub pid_file: Option<PathBuf>,
}

/// Resource limits asked for by a task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceLimits {
    /// Address-space limit, applied with `prlimit --as` when `prlimit` is available.
    pub memory_bytes: Option<u64>,
    /// Recorded only: the local executor cannot cap CPU without cgroups.
    pub cpu_cores: Option<f64>,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// The process exited by itself with this code.
    Exited { code: i32 },
    /// The process was killed by a signal that Weir did not send.
    Signaled { signal: i32 },
    /// The timeout elapsed; the process group was stopped.
    TimedOut,
    /// The cancellation token fired; the process group was stopped.
    Canceled,
    /// The process ran out of memory (its limit, or an allocation failure it reported).
    OutOfMemory,
    /// The process could not be started; `message` names the program and the reason.
    SpawnFailed { message: String },
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exited with code {code}"),
            Self::Signaled { signal } => write!(f, "was killed by signal {signal}"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Canceled => f.write_str("was canceled"),
            Self::OutOfMemory => f.write_str("ran out of memory"),
            Self::SpawnFailed { message } => write!(f, "could not start: {message}"),
        }
    }
}

/// The result of [`run_process`].
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    pub termination: Termination,
    pub started_at: SystemTime,
    pub duration: Duration,
    /// The last lines of output of this run, for error messages.
    pub log_tail: String,
}

impl ProcessOutcome {
    /// Whether the process exited with code 0.
    pub fn succeeded(&self) -> bool {
        self.termination == Termination::Exited { code: 0 }
    }
}

/// How long to wait for the output pipes to close after the process group is gone. Only a
/// process that left the group (`setsid`) can hold them open longer; its output is then cut.
const PIPE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Lines at the end of the log searched for an allocation failure.
const OUT_OF_MEMORY_TAIL_LINES: usize = 5;
const OUT_OF_MEMORY_MARKERS: [&str; 4] = [
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
];

/// Runs `spec` to completion, cancellation or timeout. Never fails: a process that cannot be
/// started is [`Termination::SpawnFailed`].
pub async fn run_process(spec: &ProcessSpec, cancel: &CancellationToken) -> ProcessOutcome {
    let started_at = SystemTime::now();
    let start = Instant::now();
    if cancel.is_cancelled() {
        return ProcessOutcome {
            termination: Termination::Canceled,
            started_at,
            duration: start.elapsed(),
            log_tail: String::new(),
        };
    }
    let spawned = match spawn(spec).await {
        Ok(spawned) => spawned,
        Err(message) => {
            tracing::warn!(%message, "failed to spawn a task process");
            return ProcessOutcome {
                termination: Termination::SpawnFailed { message },
                started_at,
                duration: start.elapsed(),
                log_tail: String::new(),
            };
        }
    };
    let (termination, log_tail) = supervise(spec, spawned, cancel).await;
    ProcessOutcome {
        termination,
        started_at,
        duration: start.elapsed(),
        log_tail,
    }
}

struct Spawned {
    child: Child,
    group: Pid,
    memory_limit_enforced: bool,
    log_pump: tokio::task::JoinHandle<String>,
}

async fn spawn(spec: &ProcessSpec) -> Result<Spawned, String> {
    let Some((program_name, args)) = spec.argv.split_first() else {
        return Err("the command is empty: argv[0] must name a program".to_owned());
    };
    if !tokio::fs::metadata(&spec.cwd)
        .await
        .is_ok_and(|metadata| metadata.is_dir())
    {
        return Err(format!(
            "cannot run `{program_name}`: working directory {} does not exist",
            spec.cwd.display()
        ));
    }
    let program_path = program::resolve_program(program_name, &spec.env, &spec.cwd)?;
    let (argv, memory_limit_enforced) = program::limited_argv(&program_path, args, &spec.limits);
    if let Some(cpu_cores) = spec.limits.cpu_cores {
        tracing::debug!(
            cpu_cores,
            "cpu limit recorded but not enforced by the local executor"
        );
    }
    let log = logs::open_log(&spec.log_path).await.map_err(|error| {
        format!(
            "cannot run `{program_name}`: failed to open log file {}: {error}",
            spec.log_path.display()
        )
    })?;
    let (executable, executable_args) = argv
        .split_first()
        .ok_or_else(|| format!("cannot run `{program_name}`: empty command line"))?;
    let mut child = Command::new(executable)
        .args(executable_args)
        .env_clear()
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("failed to start `{program_name}`: {error}"))?;
    let Some(group) = child.id().and_then(|id| i32::try_from(id).ok()) else {
        return Err(format!("`{program_name}` exited before its pid was known"));
    };
    if let Some(pid_file) = &spec.pid_file {
        if let Err(error) = std::fs::write(pid_file, group.to_string()) {
            tracing::warn!(path = %pid_file.display(), %error, "cannot record the process group");
        }
    }
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(format!("`{program_name}` was spawned without output pipes"));
    };
    let log_pump = tokio::spawn(logs::pump(log, stdout, stderr));
    Ok(Spawned {
        child,
        group: Pid::from_raw(group),
        memory_limit_enforced,
        log_pump,
    })
}

/// Why the supervision loop stopped the process.
enum StopReason {
    Canceled,
    TimedOut,
}

async fn supervise(
    spec: &ProcessSpec,
    spawned: Spawned,
    cancel: &CancellationToken,
) -> (Termination, String) {
    let Spawned {
        mut child,
        group,
        memory_limit_enforced,
        log_pump,
    } = spawned;
    let timeout = timeout_of(spec);
    let ended = tokio::select! {
        biased;
        status = child.wait() => Ok(status),
        () = cancel.cancelled() => Err(StopReason::Canceled),
        () = timeout => Err(StopReason::TimedOut),
    };
    let exit = match ended {
        Ok(status) => status,
        Err(reason) => {
            stop_group(&mut child, group, spec.kill_grace).await;
            let termination = match reason {
                StopReason::Canceled => Termination::Canceled,
                StopReason::TimedOut => Termination::TimedOut,
            };
            return (termination, drain_logs(log_pump).await);
        }
    };
    // The main process is gone; whatever it left in its group goes with it.
    signal_group(group, Signal::SIGKILL);
    let log_tail = drain_logs(log_pump).await;
    let termination = match exit {
        Ok(status) => classify_exit(status, memory_limit_enforced, &log_tail),
        Err(error) => Termination::SpawnFailed {
            message: format!("failed to wait for `{}`: {error}", spec.argv.join(" ")),
        },
    };
    (termination, log_tail)
}

/// Completes when the spec's timeout has elapsed (never without one).
pub(crate) async fn timeout_of(spec: &ProcessSpec) {
    match spec.timeout {
        Some(timeout) => tokio::time::sleep(timeout).await,
        None => std::future::pending().await,
    }
}

/// `SIGTERM` to the group, up to `kill_grace` for the main process to exit, then `SIGKILL` to
/// the group (also when the main process exited in time but left others behind). Reaps the
/// main process.
async fn stop_group(child: &mut Child, group: Pid, kill_grace: Duration) {
    signal_group(group, Signal::SIGTERM);
    let exited_in_grace = tokio::time::timeout(kill_grace, child.wait()).await;
    signal_group(group, Signal::SIGKILL);
    if exited_in_grace.is_err() {
        if let Err(error) = child.wait().await {
            tracing::warn!(%error, "failed to reap a killed task process");
        }
    }
}

fn signal_group(group: Pid, signal: Signal) {
    match killpg(group, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(error) => tracing::warn!(%error, ?signal, "failed to signal a task's process group"),
    }
}

async fn drain_logs(log_pump: tokio::task::JoinHandle<String>) -> String {
    let abort = log_pump.abort_handle();
    match tokio::time::timeout(PIPE_DRAIN_TIMEOUT, log_pump).await {
        Ok(Ok(tail)) => tail,
        Ok(Err(error)) => {
            tracing::warn!(%error, "the log pump of a task failed");
            String::new()
        }
        Err(_elapsed) => {
            tracing::warn!("a task's output pipes stayed open after its process group ended");
            abort.abort();
            String::new()
        }
    }
}

pub(crate) fn classify_exit(
    status: ExitStatus,
    memory_limit_enforced: bool,
    log_tail: &str,
) -> Termination {
    if status.success() {
        return Termination::Exited { code: 0 };
    }
    let killed_at_its_limit =
        memory_limit_enforced && status.signal() == Some(Signal::SIGKILL as i32);
    if killed_at_its_limit || reports_allocation_failure(log_tail) {
        return Termination::OutOfMemory;
    }
    match (status.code(), status.signal()) {
        (Some(code), _) => Termination::Exited { code },
        (None, Some(signal)) => Termination::Signaled { signal },
        (None, None) => Termination::Exited { code: -1 },
    }
}

fn reports_allocation_failure(log_tail: &str) -> bool {
    let last = logs::last_lines(log_tail, OUT_OF_MEMORY_TAIL_LINES);
    OUT_OF_MEMORY_MARKERS
        .iter()
        .any(|marker| last.contains(marker))
}

#[cfg(test)]
mod tests;

/// Stops a process group recorded in `pid_file` by an earlier Weir that crashed, if it is
/// still alive and still the one that was recorded: its leader's environment must hold
/// `marker` (`NAME=value`, e.g. the task id), or its working directory be the pid file's
/// folder, so a recycled pid is never signalled. SIGTERM, up
/// to `grace` to exit, then SIGKILL. Returns whether a group was stopped.
pub async fn stop_leftover_group(
    pid_file: &std::path::Path,
    marker: &str,
    grace: Duration,
) -> bool {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    else {
        return false;
    };
    let has_marker = std::fs::read(format!("/proc/{pid}/environ"))
        .map(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|entry| entry == marker.as_bytes())
        })
        .unwrap_or(false);
    // A step forked from a warm interpreter keeps the interpreter's initial environment in
    // /proc; it is known by its working directory instead, the folder of the pid file (the
    // step's own scratch folder, unique to the task).
    let in_its_folder = || {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        let folder = pid_file
            .parent()
            .and_then(|f| std::fs::canonicalize(f).ok());
        cwd.is_some() && cwd == folder
    };
    let is_ours = has_marker || in_its_folder();
    if !is_ours {
        return false;
    }
    let group = Pid::from_raw(pid);
    tracing::warn!(
        pid,
        "stopping a task's processes left behind by an earlier Weir"
    );
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if !group_has_live_members(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    true
}

/// Whether any process of the group is alive. Zombies do not count: the orphans of a killed
/// Weir are reparented to an init that may be slow (or never) to reap them.
fn group_has_live_members(group: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return nix::sys::signal::killpg(Pid::from_raw(group), None).is_ok();
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(after_comm) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = after_comm.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        pgrp == Some(group) && state != Some("Z")
    })
}
