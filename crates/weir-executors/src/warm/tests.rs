//! A warm step against the same command run as written (`sh -ec ...`), with a stand-in for
//! `kfp.dsl.executor_main` (the real one is exercised by the engine's and the Python tests).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::process::{run_process, ResourceLimits};

/// The script KFP compiles, with the module name left open.
fn script(module: &str) -> String {
    format!("program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m {module}                         --component_module_path                         \"$program_path/ephemeral_component.py\"                         \"$@\"\n")
}

/// A stand-in for the executor: loads the component file and calls `main(*args)`.
const EXECUTOR: &str = r#"
import importlib.util, sys
assert sys.argv[1] == "--component_module_path", sys.argv
spec = importlib.util.spec_from_file_location("ephemeral_component", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.main(*sys.argv[3:]))
"#;

/// What a component reports about the process it runs in, one `key=value` per line.
const REPORTER: &str = r#"
import os, stat, sys
def main(*args):
    seen = {
        "args": list(args),
        "argv0": os.path.basename(sys.argv[0]),
        "name": __name__,
        "file": os.path.basename(__file__),
        "file_in_tmpdir": __file__.startswith(os.environ["TMPDIR"]),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "env": sorted((k, v) for k, v in os.environ.items() if k not in ("PWD", "SHLVL", "_")),
        "stdin_is_null": os.path.realpath("/proc/self/fd/0") == "/dev/null",
        "executable": sys.executable,
        "main_module": sys.modules["__main__"].__spec__.name,
        "home": os.path.expanduser("~"),
        "nothing_from_a_home_on_sys_path": not any(p.startswith(os.path.expanduser("~")) for p in sys.path),
    }
    for key, value in sorted(seen.items()):
        print(f"{key}={value!r}")
    print("to stderr", file=sys.stderr)
    return 0
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    python_path: PathBuf,
    interpreter_dir: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let package = root.join("lib/weirtest");
    std::fs::create_dir_all(&package).expect("package dir");
    std::fs::write(package.join("__init__.py"), "").expect("package");
    std::fs::write(package.join("executor.py"), EXECUTOR).expect("module");
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 on PATH");
    let executable = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Fixture {
        interpreter_dir: executable.parent().expect("bin dir").to_path_buf(),
        python_path: root.join("lib"),
        root,
        _dir: dir,
    }
}

impl Fixture {
    fn spec(&self, name: &str, source: &str, args: &[&str]) -> ProcessSpec {
        let cwd = self.root.join(name);
        let tmp = cwd.join("tmp");
        std::fs::create_dir_all(&tmp).expect("scratch");
        // Each step has a home of its own, as the engine gives it.
        let home = cwd.join("home");
        std::fs::create_dir_all(&home).expect("home");
        let argv = ["sh", "-ec", &script("weirtest.executor"), source]
            .into_iter()
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect();
        let path = format!("{}:/usr/bin:/bin", self.interpreter_dir.display());
        let env = BTreeMap::from([
            ("PATH".to_owned(), path),
            (
                "PYTHONPATH".to_owned(),
                self.python_path.display().to_string(),
            ),
            ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
            ("TMPDIR".to_owned(), tmp.display().to_string()),
            ("HOME".to_owned(), home.display().to_string()),
            ("STEP_ONLY".to_owned(), name.to_owned()),
        ]);
        ProcessSpec {
            argv,
            env,
            cwd: cwd.clone(),
            log_path: cwd.join("step.log"),
            timeout: None,
            kill_grace: Duration::from_secs(2),
            limits: ResourceLimits::default(),
            pid_file: None,
        }
    }

    fn warm(&self) -> WarmPythons {
        WarmPythons::new(self.root.join("warm"), Duration::from_secs(2))
    }
}

fn log_of(spec: &ProcessSpec) -> String {
    std::fs::read_to_string(&spec.log_path).expect("log")
}

#[tokio::test]
async fn a_warm_step_sees_what_the_command_run_as_written_sees() {
    let fixture = fixture();
    let cancel = CancellationToken::new();
    let cold = fixture.spec("cold", REPORTER, &["a", "b c"]);
    let outcome = run_process(&cold, &cancel).await;
    assert!(outcome.succeeded(), "{outcome:?} {}", log_of(&cold));
    let warm_spec = fixture.spec("warm", REPORTER, &["a", "b c"]);
    let warm = fixture.warm();
    let outcome = warm.run(&warm_spec, &cancel).await.expect("runs warm");
    assert!(outcome.succeeded(), "{outcome:?} {}", log_of(&warm_spec));
    assert!(outcome.log_tail.contains("to stderr"));
    // Run as written, stdout and stderr are two pipes copied into the log as they arrive, so
    // the stderr line may land anywhere; warm, both are the log file itself.
    let normalize = |text: String, name: &str| {
        text.replace("to stderr\n", "")
            .replace(&format!("/{name}"), "/STEP")
            .replace(&format!("'{name}'"), "'STEP'")
    };
    assert_eq!(
        normalize(log_of(&warm_spec), "warm"),
        normalize(log_of(&cold), "cold")
    );
    let seen = log_of(&warm_spec);
    for expected in [
        "stdin_is_null=True",
        "file_in_tmpdir=True",
        "main_module='weirtest.executor'",
        "('_KFP_RUNTIME', 'true')",
        "/warm/home'",
        "nothing_from_a_home_on_sys_path=True",
    ] {
        assert!(seen.contains(expected), "{expected} not in {seen}");
    }
}

#[tokio::test]
async fn exit_codes_errors_and_reuse() {
    let fixture = fixture();
    let warm = fixture.warm();
    let cancel = CancellationToken::new();
    // The server's pid, and whether the step leads its own process group (it is stopped by
    // signalling the group).
    let parent = "import os\ndef main():\n    print(os.getppid(), os.getpgid(0) == os.getpid())\n";
    let first = fixture.spec("first", parent, &[]);
    let second = fixture.spec("second", parent, &[]);
    for spec in [&first, &second] {
        let outcome = warm.run(spec, &cancel).await.expect("warm");
        assert!(outcome.succeeded(), "{outcome:?}");
    }
    assert_eq!(
        log_of(&first),
        log_of(&second),
        "one server serves both, each step with a home of its own"
    );
    assert!(log_of(&first).ends_with(" True\n"), "{}", log_of(&first));

    let exits = fixture.spec("exits", "def main():\n    return 3\n", &[]);
    let outcome = warm.run(&exits, &cancel).await.expect("warm");
    assert_eq!(outcome.termination, Termination::Exited { code: 3 });

    let raises = fixture.spec(
        "raises",
        "def main():\n    raise ValueError('bad input x')\n",
        &[],
    );
    let outcome = warm.run(&raises, &cancel).await.expect("warm");
    assert_eq!(outcome.termination, Termination::Exited { code: 1 });
    assert!(
        outcome.log_tail.contains("ValueError: bad input x"),
        "{}",
        outcome.log_tail
    );

    let mut other_env = fixture.spec("other", parent, &[]);
    other_env
        .env
        .insert("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned());
    let outcome = warm.run(&other_env, &cancel).await.expect("warm");
    assert!(outcome.succeeded());
    assert_ne!(
        log_of(&other_env),
        log_of(&first),
        "another server for another env"
    );
}

#[tokio::test]
async fn cancel_timeout_and_memory_limit_stop_the_step() {
    let fixture = fixture();
    let warm = fixture.warm();
    let sleeper =
        "import time\ndef main():\n    print('sleeping', flush=True)\n    time.sleep(60)\n";

    let mut timed = fixture.spec("timed", sleeper, &[]);
    timed.timeout = Some(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let outcome = warm
        .run(&timed, &CancellationToken::new())
        .await
        .expect("warm");
    assert_eq!(outcome.termination, Termination::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));

    let canceled = fixture.spec("canceled", sleeper, &[]);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let outcome = warm.run(&canceled, &cancel).await.expect("warm");
    assert_eq!(outcome.termination, Termination::Canceled);
    assert!(log_of(&canceled).contains("sleeping"));

    let mut hungry = fixture.spec("hungry", "def main():\n    x = bytearray(1 << 30)\n", &[]);
    hungry.limits.memory_bytes = Some(512 << 20);
    let outcome = warm
        .run(&hungry, &CancellationToken::new())
        .await
        .expect("warm");
    assert_eq!(
        outcome.termination,
        Termination::OutOfMemory,
        "{}",
        outcome.log_tail
    );
}

#[tokio::test]
async fn other_commands_and_missing_modules_run_as_written() {
    let fixture = fixture();
    let warm = fixture.warm();
    let cancel = CancellationToken::new();
    let mut plain = fixture.spec("plain", REPORTER, &[]);
    plain.argv = ["sh", "-c", "true"].map(str::to_owned).to_vec();
    assert!(warm.run(&plain, &cancel).await.is_none());

    let mut missing = fixture.spec("missing", REPORTER, &[]);
    missing.argv[2] = script("weirtest.not_there");
    assert!(warm.run(&missing, &cancel).await.is_none());
    let log = std::fs::read_to_string(fixture.root.join("warm/server.log")).unwrap_or_default();
    assert!(log.is_empty() || !log.contains("Traceback"), "{log}");
}

#[test]
fn interpreter_shaping_variables() {
    assert!(shapes_the_interpreter("PYTHONPATH"));
    assert!(shapes_the_interpreter("LC_ALL"));
    assert!(shapes_the_interpreter("VIRTUAL_ENV"));
    assert!(!shapes_the_interpreter("KFP_POD_NAME"));
    assert!(!shapes_the_interpreter("TMPDIR"));
    // Every step has its own HOME; one server serves them all (`exit_codes_errors_and_reuse`).
    assert!(!shapes_the_interpreter("HOME"));
}

/// Whether a process with this pid is alive (zombies count as gone).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

async fn pid_written_to(path: &std::path::Path) -> i32 {
    for _ in 0..200 {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the step never wrote {}", path.display());
}

#[tokio::test]
async fn a_dropped_step_and_a_dropped_server_leave_no_process() {
    let fixture = fixture();
    let warm = std::sync::Arc::new(fixture.warm());
    let sleeper = "import os, time\ndef main():\n    open('pid', 'w').write(str(os.getpid()))\n    time.sleep(60)\n";

    // The future of a running step is dropped (its job aborted): the step is killed.
    let dropped = fixture.spec("dropped", sleeper, &[]);
    let pid_file = dropped.cwd.join("pid");
    let running = tokio::spawn({
        let warm = warm.clone();
        async move { warm.run(&dropped, &CancellationToken::new()).await }
    });
    let pid = pid_written_to(&pid_file).await;
    assert!(alive(pid));
    running.abort();
    let _ = running.await;
    for _ in 0..200 {
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!alive(pid), "the dropped step {pid} still runs");

    // The server's owner goes away (as when Weir is killed): its stdin closes, and it stops
    // the steps it started, though nobody asked it to; SIGKILL after the grace period for a
    // step that ignores SIGTERM.
    let stubborn = "import os, signal, time\ndef main():\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    open('pid', 'w').write(str(os.getpid()))\n    time.sleep(60)\n";
    let orphaned = fixture.spec("orphaned", stubborn, &[]);
    let program = kfp_program(&orphaned.argv).expect("a KFP command");
    let interpreter = fixture.interpreter_dir.join("python3");
    let log = std::fs::File::create(fixture.root.join("server.log")).expect("log");
    let server = server::Server::start(
        &interpreter,
        program.module,
        Duration::from_secs(1),
        &orphaned.env,
        &fixture.root,
        log,
    )
    .await
    .expect("server starts");
    let (id, mut events) = server.register();
    let request = serde_json::json!({
        "id": id, "op": "run", "argv": program.args, "env": orphaned.env, "cwd": orphaned.cwd,
        "log": orphaned.log_path, "program": program.source, "memory": null,
    });
    server.send(&request).await.expect("request sent");
    assert!(matches!(
        events.recv().await,
        Some(server::Event::Started { .. })
    ));
    let pid = pid_written_to(&orphaned.cwd.join("pid")).await;
    drop(server);
    for _ in 0..400 {
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!alive(pid), "the orphaned step {pid} still runs");
}

#[tokio::test]
async fn a_leftover_warm_step_is_found_by_its_folder_and_stopped() {
    let fixture = fixture();
    let warm = std::sync::Arc::new(fixture.warm());
    let sleeper = "import os, time\ndef main():\n    open('pid', 'w').write(str(os.getpid()))\n    time.sleep(60)\n";
    let mut step = fixture.spec("leftover", sleeper, &[]);
    let pid_file = step.cwd.join("weir.pid");
    step.pid_file = Some(pid_file.clone());
    let own_pid = step.cwd.join("pid");
    let running = tokio::spawn({
        let warm = warm.clone();
        async move { warm.run(&step, &CancellationToken::new()).await }
    });
    let pid = pid_written_to(&own_pid).await;
    assert_eq!(
        pid_written_to(&pid_file).await,
        pid,
        "the step's group is recorded"
    );

    // Another process's pid in the file (here: this test's own) is never signalled.
    let stranger = fixture.root.join("stranger/weir.pid");
    std::fs::create_dir_all(stranger.parent().expect("folder")).expect("folder");
    std::fs::write(&stranger, std::process::id().to_string()).expect("pid file");
    let grace = Duration::from_secs(2);
    assert!(!crate::process::stop_leftover_group(&stranger, "WEIR_TASK_ID=x", grace).await);

    // The step's environ in /proc is the server's, so only its folder identifies it.
    assert!(crate::process::stop_leftover_group(&pid_file, "WEIR_TASK_ID=x", grace).await);
    let outcome = running.await.expect("joined").expect("ran warm");
    assert_eq!(outcome.termination, Termination::Signaled { signal: 15 });
    assert!(!alive(pid));
}
