//! One warm interpreter: the `server.py` process, its request pipe, and the task that routes its
//! answers to the steps waiting for them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

/// The fork server's source; run with `python -c`.
const SOURCE: &str = include_str!("server.py");
/// How long the interpreter may take to import the module before it is given up on.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What the server says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Started {
        pid: i32,
    },
    /// The raw wait status.
    Exited {
        status: i32,
    },
    Failed {
        message: String,
    },
    /// The server exited: no more events will come.
    Lost,
}

type Waiters = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Event>>>>;

pub(crate) struct Server {
    requests: tokio::sync::Mutex<ChildStdin>,
    waiters: Waiters,
    next_id: AtomicU64,
    alive: Arc<AtomicBool>,
    /// Kept so that the process is reaped; dropping the server closes its stdin, and the
    /// server then stops its steps and exits.
    _child: Child,
}

impl Server {
    /// Starts `interpreter -c <server.py> module grace` and waits until it has imported the
    /// module. `grace` is the time between SIGTERM and SIGKILL for steps still running when
    /// the server's owner goes away.
    pub(crate) async fn start(
        interpreter: &Path,
        module: &str,
        grace: Duration,
        env: &BTreeMap<String, String>,
        cwd: &Path,
        log: std::fs::File,
    ) -> Result<Server, String> {
        let mut child = Command::new(interpreter)
            .arg("-c")
            .arg(SOURCE)
            .arg(module)
            .arg(grace.as_secs_f64().to_string())
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", interpreter.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the warm interpreter was started without pipes".to_owned());
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(STARTUP_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| format!("{module} was not imported within {STARTUP_TIMEOUT:?}"))?
            .map_err(|error| format!("cannot read from the warm interpreter: {error}"))?;
        match first.as_deref() {
            Some("ready") => {}
            Some(line) => {
                let message = line.strip_prefix("failed ").unwrap_or(line);
                let message =
                    serde_json::from_str::<String>(message).unwrap_or_else(|_| message.to_owned());
                return Err(message);
            }
            None => return Err("the warm interpreter exited before it was ready".to_owned()),
        }
        let waiters = Waiters::default();
        let alive = Arc::new(AtomicBool::new(true));
        tokio::spawn(route_events(lines, waiters.clone(), alive.clone()));
        Ok(Server {
            requests: tokio::sync::Mutex::new(stdin),
            waiters,
            next_id: AtomicU64::new(1),
            alive,
            _child: child,
        })
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// A new request id and the channel its events arrive on.
    pub(crate) fn register(&self) -> (u64, mpsc::UnboundedReceiver<Event>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = mpsc::unbounded_channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(id, sender.clone());
        }
        if !self.is_alive() {
            let _ = sender.send(Event::Lost);
        }
        (id, receiver)
    }

    pub(crate) fn forget(&self, id: u64) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(&id);
        }
    }

    /// Sends one request (a JSON object, written as one line).
    pub(crate) async fn send(&self, request: &Value) -> Result<(), String> {
        let mut line = serde_json::to_vec(request).map_err(|error| error.to_string())?;
        line.push(b'\n');
        let mut requests = self.requests.lock().await;
        requests
            .write_all(&line)
            .await
            .map_err(|error| format!("the warm interpreter stopped reading requests: {error}"))
    }

    /// Asks the server to signal the process group of request `id`, if it is still running.
    pub(crate) async fn signal(&self, id: u64, signal: i32) {
        let request = serde_json::json!({"id": id, "op": "signal", "signal": signal});
        if let Err(error) = self.send(&request).await {
            tracing::warn!(%error, "cannot signal a step of the warm interpreter");
        }
    }
}

async fn route_events(
    mut lines: tokio::io::Lines<BufReader<ChildStdout>>,
    waiters: Waiters,
    alive: Arc<AtomicBool>,
) {
    while let Ok(Some(line)) = lines.next_line().await {
        let Some((id, event)) = parse_event(&line) else {
            tracing::warn!(%line, "the warm interpreter said something unexpected");
            continue;
        };
        let Ok(mut waiters) = waiters.lock() else {
            break;
        };
        // A failed signal request must not end the wait for the step's exit; a failed start is
        // forgotten by its waiter.
        let finished = matches!(event, Event::Exited { .. });
        if let Some(waiter) = waiters.get(&id) {
            let _ = waiter.send(event);
        }
        if finished {
            waiters.remove(&id);
        }
    }
    alive.store(false, Ordering::Release);
    tracing::warn!("the warm Python interpreter exited");
    if let Ok(mut waiters) = waiters.lock() {
        for (_, waiter) in waiters.drain() {
            let _ = waiter.send(Event::Lost);
        }
    }
}

/// `ID started PID`, `ID exited STATUS`, `ID failed "MESSAGE"`.
fn parse_event(line: &str) -> Option<(u64, Event)> {
    let mut words = line.splitn(3, ' ');
    let id = words.next()?.parse().ok()?;
    let kind = words.next()?;
    let rest = words.next()?;
    let event = match kind {
        "started" => Event::Started {
            pid: rest.trim().parse().ok()?,
        },
        "exited" => Event::Exited {
            status: rest.trim().parse().ok()?,
        },
        "failed" => Event::Failed {
            message: serde_json::from_str(rest).unwrap_or_else(|_| rest.to_owned()),
        },
        _ => return None,
    };
    Some((id, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed() {
        assert_eq!(
            parse_event("3 started 1234"),
            Some((3, Event::Started { pid: 1234 }))
        );
        assert_eq!(
            parse_event("3 exited 256"),
            Some((3, Event::Exited { status: 256 }))
        );
        assert_eq!(
            parse_event("4 failed \"KeyError: 'cwd'\""),
            Some((
                4,
                Event::Failed {
                    message: "KeyError: 'cwd'".to_owned()
                }
            ))
        );
        assert_eq!(parse_event("ready"), None);
        assert_eq!(parse_event("x started 1"), None);
        assert_eq!(parse_event("1 started"), None);
        assert_eq!(parse_event("1 waved 2"), None);
    }
}
