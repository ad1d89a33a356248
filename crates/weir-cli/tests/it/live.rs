//! A real `weir server` on a free port, for the client and `--endpoint` tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::weir;

/// `resume.yaml`: three chained steps; the second waits until `<dir>/release` exists.
pub fn resume_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resume.yaml")
}

/// A server with its own data dir, stopped when dropped.
pub struct LiveServer {
    child: Child,
    pub endpoint: String,
    pub data_dir: PathBuf,
    temp: tempfile::TempDir,
}

impl LiveServer {
    pub fn start() -> LiveServer {
        LiveServer::start_with(&[])
    }

    /// A server that requires `Authorization: Bearer <token>`.
    pub fn start_with_token(token: &str) -> LiveServer {
        LiveServer::start_with(&["--auth-token", token])
    }

    fn start_with(extra_args: &[&str]) -> LiveServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        // A free port can be taken between the probe and the bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(temp.path().join("server.log")).expect("log file");
            let mut child = weir()
                .arg("--data-dir")
                .arg(&data_dir)
                .args(["server", "--port", &port.to_string()])
                .args(extra_args)
                .env_remove("WEIR_AUTH_TOKEN")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("weir server starts");
            if wait_until_it_answers(&mut child, port) {
                return LiveServer {
                    child,
                    endpoint: format!("http://127.0.0.1:{port}"),
                    data_dir,
                    temp,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(temp.path().join("server.log")).unwrap_or_default();
        panic!("weir server did not start:\n{log}");
    }

    /// A new empty folder for a run's `dir` parameter.
    pub fn work_dir(&self, name: &str) -> PathBuf {
        let dir = self.temp.path().join("work").join(name);
        std::fs::create_dir_all(&dir).expect("work dir");
        dir
    }

    /// A work dir whose runs of `resume.yaml` go straight through.
    pub fn released_work_dir(&self, name: &str) -> PathBuf {
        let dir = self.work_dir(name);
        release(&dir);
        dir
    }

    /// `weir --endpoint <this server> ARGS` (the data dir points elsewhere, so nothing local
    /// can answer).
    pub fn cli(&self, args: &[&str]) -> Output {
        weir()
            .arg("--data-dir")
            .arg(self.temp.path().join("client-data"))
            .args(["--endpoint", &self.endpoint])
            .args(args)
            .env_remove("WEIR_ENDPOINT")
            .env_remove("WEIR_AUTH_TOKEN")
            .output()
            .expect("weir runs")
    }

    /// `cli` with `--output json`, which must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.cli(&[args, &["--output", "json"]].concat());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            describe(&output)
        );
        parse_json(&output)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        // Let any step still waiting in a work dir finish, then stop the server gracefully.
        if let Ok(entries) = std::fs::read_dir(self.temp.path().join("work")) {
            for entry in entries.flatten() {
                release(&entry.path());
            }
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lets the waiting step of `resume.yaml` in `dir` finish.
pub fn release(dir: &Path) {
    std::fs::write(dir.join("release"), "").expect("release file");
}

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Polls until an HTTP answer comes (any status: a server with a token answers 401).
fn wait_until_it_answers(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if answers_http(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        "GET /apis/v2beta1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 ")
}

pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn parse_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", describe(output)))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
