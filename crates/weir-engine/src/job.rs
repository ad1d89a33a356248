//! One container task from start to finish: Python environment, attempts with retries and
//! backoff, output collection. Runs as its own tokio task; it writes only its own task's
//! RUNNING state and attempt count, and reports the outcome to the run's driver.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use weir_executors::{PythonEnvs, PythonMount, StepExecutor, Termination};
use weir_spec::model::{parse_duration_seconds, RetryPolicy};
use weir_store::{MetadataStore, NewArtifact, TaskUpdate};
use weir_types::{RunId, TaskState};

use crate::io::{ArtifactRef, TaskIo};
use crate::launch::LaunchPlan;
use crate::value::{coerce, parse_output_text};

/// How a job ended.
#[derive(Debug)]
pub enum JobOutcome {
    Succeeded { outputs: TaskIo },
    Failed { error: String },
    Canceled,
}

/// What jobs share.
pub struct JobEnv {
    pub store: Arc<dyn MetadataStore>,
    pub python: Arc<tokio::sync::OnceCell<Arc<PythonEnvs>>>,
    pub python_root: std::path::PathBuf,
    pub slots: Arc<Semaphore>,
    pub run_id: RunId,
    pub kill_grace: Duration,
    pub events: tokio::sync::broadcast::Sender<crate::EngineEvent>,
    pub executor: Arc<dyn StepExecutor>,
    pub remote: Arc<crate::remote::Remote>,
}

/// Retries of a task: `retryPolicy`, with the SDK's defaults.
#[derive(Debug, Clone)]
pub struct RetryPlan {
    pub max_retries: u32,
    pub backoff: Duration,
    pub factor: f64,
    pub max_backoff: Duration,
}

impl RetryPlan {
    pub fn from_policy(policy: Option<&RetryPolicy>) -> RetryPlan {
        let seconds = |text: Option<&String>, default: f64| {
            text.and_then(|t| parse_duration_seconds(t))
                .unwrap_or(default)
        };
        let Some(policy) = policy else {
            return RetryPlan {
                max_retries: 0,
                backoff: Duration::ZERO,
                factor: 2.0,
                max_backoff: Duration::from_secs(3600),
            };
        };
        RetryPlan {
            max_retries: policy.max_retry_count.unwrap_or(0).clamp(0, 100) as u32,
            backoff: Duration::from_secs_f64(seconds(policy.backoff_duration.as_ref(), 0.0)),
            factor: policy
                .backoff_factor
                .filter(|f| f.is_finite() && *f >= 1.0)
                .unwrap_or(2.0),
            max_backoff: Duration::from_secs_f64(seconds(
                policy.backoff_max_duration.as_ref(),
                3600.0,
            )),
        }
    }

    fn delay(&self, retry: u32) -> Duration {
        let factor = self.factor.powi(retry.saturating_sub(1) as i32);
        self.backoff.mul_f64(factor.min(1e6)).min(self.max_backoff)
    }
}

pub async fn run_job(
    env: Arc<JobEnv>,
    plan: LaunchPlan,
    retry: RetryPlan,
    first_attempt: i64,
    cancel: CancellationToken,
) -> JobOutcome {
    match run_attempts(&env, &plan, &retry, first_attempt, &cancel).await {
        Ok(outcome) => outcome,
        Err(error) => JobOutcome::Failed { error },
    }
}

async fn run_attempts(
    env: &JobEnv,
    plan: &LaunchPlan,
    retry: &RetryPlan,
    first_attempt: i64,
    cancel: &CancellationToken,
) -> Result<JobOutcome, String> {
    let mut process_env = plan.env.clone();
    let mut python_mount = None;
    if let Some(requirements) = &plan.requirements {
        let python = env
            .python
            .get_or_try_init(|| async {
                PythonEnvs::new(env.python_root.clone()).await.map(Arc::new)
            })
            .await
            .map_err(|e| format!("cannot prepare Python: {e}"))?;
        let install_log = plan.scratch.join("pip-install.log");
        let prepared = tokio::select! {
            prepared = python.ensure(requirements, &install_log) => prepared.map_err(|e| format!("installing the component's packages failed: {e}"))?,
            _ = cancel.cancelled() => return Ok(JobOutcome::Canceled),
        };
        prepared.apply(&mut process_env);
        python_mount = Some(PythonMount {
            bin_dir: prepared.bin_dir.clone(),
            envs_root: python.root().to_path_buf(),
            interpreter: python.interpreter().to_path_buf(),
        });
    }
    download_inputs(env, plan, cancel).await?;
    let mut attempt = first_attempt;
    let mut retries_done = 0u32;
    loop {
        attempt += 1;
        prepare_dirs(plan).map_err(|e| format!("cannot prepare the task's folders: {e}"))?;
        let permit = tokio::select! {
            permit = env.slots.clone().acquire_owned() => permit.map_err(|_| "the engine is shutting down".to_owned())?,
            _ = cancel.cancelled() => return Ok(JobOutcome::Canceled),
        };
        let running = TaskUpdate {
            attempt: Some(attempt),
            log_path: Some(plan.log_path.display().to_string()),
            ..TaskUpdate::state(TaskState::Running).with_message(format!("attempt {attempt}"))
        };
        let task = env
            .store
            .update_task(plan.task_id, &running)
            .await
            .map_err(|e| format!("cannot record the attempt: {e}"))?;
        let _ = env.events.send(crate::EngineEvent::TaskChanged {
            run_id: task.run_id,
            task_id: task.id,
            path: task.path,
            display_name: task.display_name,
            kind: task.kind,
            state: task.state,
            message: (attempt > 1).then(|| format!("attempt {attempt}")),
        });
        if attempt > 1 {
            append_log(
                &plan.log_path,
                &format!("\n--- weir: attempt {attempt} ---\n"),
            );
        }
        let mut launch = crate::exec::step_launch(
            plan,
            process_env.clone(),
            python_mount.clone(),
            env.kill_grace,
        );
        env.executor.prepare(&mut launch)?;
        let inputs_before = snapshot(&plan.protected_inputs);
        let outcome = env.executor.run(&launch, cancel).await;
        if let Some(changed) = modified_input(&plan.protected_inputs, &inputs_before) {
            return Ok(JobOutcome::Failed { error: changed });
        }
        drop(permit);
        let failure = match &outcome.termination {
            Termination::Canceled => return Ok(JobOutcome::Canceled),
            _ if outcome.succeeded() => match collect_outputs(env, plan).await {
                Ok(outputs) => return Ok(JobOutcome::Succeeded { outputs }),
                Err(error) => error,
            },
            Termination::OutOfMemory => {
                let limit = plan
                    .limits
                    .memory_bytes
                    .map(|b| format!(" (limit {} MiB)", b / (1024 * 1024)))
                    .unwrap_or_default();
                format!(
                    "the step ran out of memory{limit}\n{}",
                    outcome.log_tail.trim_end()
                )
            }
            Termination::TimedOut => format!(
                "the step timed out after {:?}",
                plan.timeout.unwrap_or_default()
            ),
            termination => format!("the step {termination}\n{}", outcome.log_tail.trim_end()),
        };
        if retries_done >= retry.max_retries {
            return Ok(JobOutcome::Failed { error: failure });
        }
        retries_done += 1;
        let delay = retry.delay(retries_done);
        append_log(
            &plan.log_path,
            &format!("\n--- weir: attempt {attempt} failed; retrying in {delay:?} ---\n"),
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return Ok(JobOutcome::Canceled),
        }
    }
}

/// Fresh output folders and an empty HOME for an attempt: nothing from an interrupted or failed
/// attempt remains.
/// Only the folders the step can reach are made (`LaunchPlan::folders`).
fn prepare_dirs(plan: &LaunchPlan) -> std::io::Result<()> {
    let outputs = plan.scratch.join("outputs");
    let fresh = [
        (plan.folders.task_root, &plan.task_root),
        (plan.folders.outputs, &outputs),
    ];
    for (_, dir) in fresh.iter().filter(|(made, _)| *made) {
        if dir.exists() {
            make_writable(dir);
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
    }
    std::fs::create_dir_all(plan.scratch.join("tmp"))?;
    let home = crate::context::step_home(&plan.scratch);
    if home.exists() {
        make_writable(&home);
        std::fs::remove_dir_all(&home)?;
    }
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(plan.caches.join("pip"))?;
    for artifact in &plan.output_artifacts {
        if let Some(parent) = plan.host_path(&artifact.uri).parent() {
            std::fs::create_dir_all(parent)?;
        }
    }
    for mount in &plan.mounts {
        std::fs::create_dir_all(&mount.source)?;
    }
    if let Some(parent) = plan.log_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

fn append_log(path: &std::path::Path, text: &str) {
    use std::io::Write;
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Fetches the step's remote input artifacts to where it reads them (KFP's launcher downloads
/// them before the command runs).
async fn download_inputs(
    env: &JobEnv,
    plan: &LaunchPlan,
    cancel: &CancellationToken,
) -> Result<(), String> {
    for uri in &plan.remote_inputs {
        let destination = plan.host_path(uri);
        tokio::select! {
            done = env.remote.download(uri, &destination) => done.map_err(|e| format!("cannot fetch the input artifact {uri}: {e}"))?,
            () = cancel.cancelled() => return Err("canceled while fetching the inputs".to_owned()),
        }
    }
    Ok(())
}

/// Reads what the step produced: executor_output.json first, then the output parameter files
/// (KFP `launcher_v2.go:collectOutputParameters`); records output artifacts.
async fn collect_outputs(env: &JobEnv, plan: &LaunchPlan) -> Result<TaskIo, String> {
    let executor_output: Value = match std::fs::read_to_string(&plan.executor_output_path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "the step wrote an unreadable {}: {e}",
                plan.executor_output_path.display()
            )
        })?,
        Err(_) => json!({}),
    };
    let mut outputs = TaskIo::default();
    for (name, declared, file) in &plan.output_parameters {
        let value = match executor_output
            .pointer(&format!("/parameterValues/{}", escape_pointer(name)))
        {
            Some(value) => {
                coerce(value.clone(), Some(declared)).map_err(|e| format!("output `{name}` {e}"))?
            }
            None => {
                let text = std::fs::read_to_string(file).map_err(|_| {
                    format!("the step did not produce its output parameter `{name}` (not in executor output, and {} was not written)", file.display())
                })?;
                parse_output_text(&text, declared).map_err(|e| format!("output `{name}`: {e}"))?
            }
        };
        outputs.parameters.insert(name.clone(), value);
    }
    let written = written_artifacts(plan, &executor_output)?;
    upload_outputs(env, plan, &written).await?;
    for (provisioned, artifacts) in plan.output_artifacts.iter().zip(written) {
        let mut refs = Vec::new();
        for (uri, metadata) in artifacts {
            let recorded = env
                .store
                .create_artifact(&NewArtifact {
                    run_id: env.run_id,
                    task_id: Some(plan.task_id),
                    name: provisioned.name.clone(),
                    uri: uri.clone(),
                    schema_title: provisioned.artifact_type.title().to_owned(),
                    metadata: metadata.clone(),
                })
                .await
                .map_err(|e| format!("cannot record artifact `{}`: {e}", provisioned.name))?;
            refs.push(ArtifactRef {
                id: recorded.id,
                name: provisioned.name.clone(),
                uri,
                artifact_type: provisioned.artifact_type.clone(),
                metadata,
            });
        }
        outputs.artifacts.insert(provisioned.name.clone(), refs);
    }
    make_read_only(&plan.task_root);
    Ok(outputs)
}

/// The artifacts the step wrote for each provisioned output, in order: (URI, metadata). An
/// artifact written to a `custom_path` is moved to its URI's place first.
fn written_artifacts(
    plan: &LaunchPlan,
    executor_output: &Value,
) -> Result<Vec<Vec<(String, Value)>>, String> {
    let mut all = Vec::new();
    for provisioned in &plan.output_artifacts {
        let written = executor_output
            .pointer(&format!(
                "/artifacts/{}/artifacts",
                escape_pointer(&provisioned.name)
            ))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| vec![json!({})]);
        let mut artifacts = Vec::new();
        for (index, artifact) in written.iter().enumerate() {
            let mut metadata = provisioned.metadata.clone();
            if let (Some(base), Some(extra)) = (
                metadata.as_object_mut(),
                artifact.get("metadata").and_then(Value::as_object),
            ) {
                base.extend(extra.clone());
            }
            let uri = match (artifact.get("uri").and_then(Value::as_str), index) {
                (Some(uri), _) if !uri.is_empty() => uri.to_owned(),
                (_, 0) => provisioned.uri.clone(),
                (_, i) => format!("{}-{i}", provisioned.uri),
            };
            let custom = artifact
                .get("custom_path")
                .or_else(|| artifact.get("customPath"))
                .and_then(Value::as_str);
            if let Some(custom) = custom.filter(|c| !c.is_empty()) {
                upload_custom_path(custom, &plan.host_path(&uri).display().to_string())?;
            }
            artifacts.push((uri, metadata));
        }
        all.push(artifacts);
    }
    Ok(all)
}

/// Uploads the remote output artifacts the step wrote, all before any is recorded: a failed
/// upload fails the step and leaves no output recorded (and no object: uploads are aborted).
async fn upload_outputs(
    env: &JobEnv,
    plan: &LaunchPlan,
    written: &[Vec<(String, Value)>],
) -> Result<(), String> {
    for (uri, _) in written.iter().flatten() {
        if !crate::remote::is_remote(uri) {
            continue;
        }
        let source = plan.host_path(uri);
        if tokio::fs::try_exists(&source).await.unwrap_or(false) {
            env.remote
                .upload(uri, &source)
                .await
                .map_err(|e| format!("cannot store the output artifact {uri}: {e}"))?;
        }
    }
    Ok(())
}

/// An artifact written to `custom_path` is moved to its URI's place, as KFP's launcher uploads it.
fn upload_custom_path(custom: &str, destination: &str) -> Result<(), String> {
    if custom == destination {
        return Ok(());
    }
    let destination = std::path::Path::new(destination);
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    if std::fs::rename(custom, destination).is_ok() {
        return Ok(());
    }
    copy_recursively(std::path::Path::new(custom), destination)
        .map_err(|e| format!("cannot store the artifact written to {custom}: {e}"))
}

fn copy_recursively(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// Producers' outputs become read-only so consumers, which read them in place, cannot change them.
fn make_read_only(dir: &std::path::Path) {
    set_write_permission(dir, false);
}

fn make_writable(dir: &std::path::Path) {
    set_write_permission(dir, true);
}

fn set_write_permission(path: &std::path::Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return;
    };
    if metadata.file_type().is_symlink() {
        return;
    }
    if metadata.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                set_write_permission(&entry.path(), writable);
            }
        }
    }
    let mode = metadata.permissions().mode();
    let mode = if writable {
        mode | 0o200
    } else {
        mode & !0o222
    };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Size and modification time of every file of each input artifact. Producers' outputs are
/// read-only, but root ignores permissions, so a change is also detected after the step.
type Snapshot = Vec<Vec<(PathBuf, u64, Option<std::time::SystemTime>)>>;

fn snapshot(inputs: &[(String, PathBuf)]) -> Snapshot {
    inputs.iter().map(|(_, path)| files_of(path)).collect()
}

fn files_of(path: &std::path::Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            files.push((path, metadata.len(), metadata.modified().ok()));
        }
    }
    files.sort();
    files
}

fn modified_input(inputs: &[(String, PathBuf)], before: &Snapshot) -> Option<String> {
    inputs.iter().zip(before).find_map(|((name, path), before)| {
        (files_of(path) != *before).then(|| {
            format!(
                "the step modified its input artifact `{name}` at {}; inputs are another step's outputs and are read-only (write to an output instead)",
                path.display()
            )
        })
    })
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
