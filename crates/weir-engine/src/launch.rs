//! Turning a container task into a process: the ExecutorInput, the resolved command line, the
//! environment and the places outputs go (KFP `driver.go:provisionOutputs` and the launcher's
//! placeholder resolution).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};
use weir_executors::{PythonEnvs, Requirements, ResourceLimits};
use weir_spec::model::{ComponentSpec, ContainerSpec, ParameterType};
use weir_spec::placeholder::{segments, CommandItem, Placeholder, Segment};
use weir_types::TaskId;

use weir_storage::StorageUri;

use crate::context::RunContext;
use crate::io::{artifact_type, local_path, ArtifactType, KfpArtifact, TaskIo};
use crate::remote;
use crate::value::text_form;

/// An output artifact as provisioned before the task runs.
#[derive(Debug, Clone)]
pub struct ProvisionedArtifact {
    pub name: String,
    pub uri: String,
    pub artifact_type: ArtifactType,
    pub metadata: Value,
}

impl ProvisionedArtifact {
    fn runtime_artifact(&self) -> Value {
        json!({"name": self.name, "type": self.artifact_type, "uri": self.uri, "metadata": self.metadata})
    }
}

/// Everything needed to run one container task, derived only from the spec and the task's
/// resolved inputs, so that a resumed run builds the same plan again.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    pub run_id: weir_types::RunId,
    pub task_id: TaskId,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub scratch: PathBuf,
    /// The caches steps share (`XDG_CACHE_HOME`, pip's cache below it).
    pub caches: PathBuf,
    pub task_root: PathBuf,
    pub log_path: PathBuf,
    pub executor_input: Value,
    pub executor_output_path: PathBuf,
    pub output_parameters: Vec<(String, ParameterType, PathBuf)>,
    pub output_artifacts: Vec<ProvisionedArtifact>,
    pub requirements: Option<Requirements>,
    pub limits: ResourceLimits,
    pub timeout: Option<Duration>,
    /// Input artifacts the step reads in place from other steps' outputs: (input name, path).
    pub protected_inputs: Vec<(String, PathBuf)>,
    /// The local paths of every input artifact (KFP's local forms of remote URIs).
    pub input_paths: Vec<PathBuf>,
    /// Input artifacts in remote storage, downloaded to their staged paths before the step.
    pub remote_inputs: Vec<String>,
    /// The component's image as the spec names it (the container executor maps and runs it).
    pub image: String,
    /// GPUs the step asks for (`set_accelerator_limit`); the container executor requests them.
    pub gpus: Option<u32>,
    /// Folders the step sees at fixed paths (volumes, secrets, the workspace).
    pub mounts: Vec<weir_executors::Bind>,
    /// The platform's `imagePullPolicy` for the container executor.
    pub pull_policy: weir_executors::PullPolicy,
    /// Which of the step's folders are made before it runs.
    pub folders: Folders,
}

impl LaunchPlan {
    /// Where the artifact at `uri` lies on the host while the step runs (see `remote`).
    pub fn host_path(&self, uri: &str) -> PathBuf {
        remote::host_path(&self.scratch, uri)
    }
}

/// Which of a step's own folders are made before it runs (each is an inode the kernel allocates
/// per step): the scratch folder and its `tmp/` (working directory and TMPDIR) always; the
/// task's artifact folder and `outputs/` only when the step can reach them: it has outputs of
/// that kind, or its command or environment names the folder (the ExecutorInput names the
/// executor output file), or it runs in a container, which gets both mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folders {
    /// `task_root`: output artifacts and the executor output file.
    pub task_root: bool,
    /// `outputs/` in the scratch folder: output parameter files.
    pub outputs: bool,
}

impl Folders {
    pub const ALL: Folders = Folders {
        task_root: true,
        outputs: true,
    };
}

/// The pieces of a launch the caller computes from the platform configuration.
#[derive(Debug, Clone, Default)]
pub struct PlatformEnv {
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
}

pub struct LaunchInput<'a> {
    pub ctx: &'a RunContext,
    pub task_key: &'a str,
    pub task_id: TaskId,
    pub component: &'a ComponentSpec,
    pub container: &'a ContainerSpec,
    pub inputs: &'a TaskIo,
    pub platform: PlatformEnv,
    pub host_path: &'a str,
}

pub fn plan(input: &LaunchInput<'_>) -> Result<LaunchPlan, String> {
    let ctx = input.ctx;
    let run_id = ctx.run.id;
    let scratch = ctx.layout.task_scratch(run_id, input.task_id);
    let task_root_uri = ctx.task_root(input.task_key, input.task_id);
    // Where the step sees its artifact folder, and where that is on the host: the same folder
    // under a local root, KFP's local form and its staged copy under a remote one.
    let (task_root, visible_root) = match &task_root_uri {
        StorageUri::Local(path) => (path.clone(), path.clone()),
        StorageUri::S3(_) => {
            let uri = task_root_uri.to_string();
            (
                remote::host_path(&scratch, &uri),
                PathBuf::from(local_path(&uri)),
            )
        }
    };
    let executor_output_path = task_root.join("output_metadata.json");
    let visible_output_path = visible_root.join("output_metadata.json");
    let output_parameters: Vec<(String, ParameterType, PathBuf)> = input
        .component
        .output_parameters()
        .map(|(name, spec)| {
            let declared = spec.parameter_type.clone().unwrap_or(ParameterType::String);
            (name.clone(), declared, scratch.join("outputs").join(name))
        })
        .collect();
    let output_artifacts: Vec<ProvisionedArtifact> = input
        .component
        .output_artifacts()
        .map(|(name, spec)| ProvisionedArtifact {
            name: name.clone(),
            uri: task_root_uri.join(name).to_string(),
            artifact_type: artifact_type(&spec.artifact_type),
            metadata: spec.metadata.clone().unwrap_or_else(|| json!({})),
        })
        .collect();
    let executor_input = executor_input(
        input.inputs,
        &output_parameters,
        &output_artifacts,
        &visible_output_path,
    );
    let resolver = Resolver {
        input,
        executor_input: &executor_input,
        output_parameters: &output_parameters,
        output_artifacts: &output_artifacts,
        executor_output_path: &visible_output_path,
    };
    let mut argv = Vec::new();
    for (index, arg) in input
        .container
        .command
        .iter()
        .chain(&input.container.args)
        .enumerate()
    {
        let item =
            CommandItem::parse(arg).map_err(|e| format!("argument {index} of the command: {e}"))?;
        argv.extend(resolver.item(&item));
    }
    if argv.is_empty() {
        return Err(format!(
            "the container of `{}` has no command; Weir runs the command and args on this host",
            input.task_key
        ));
    }
    let mut env = base_env(ctx, input, &scratch);
    for var in &input.container.env {
        env.insert(var.name.clone(), resolver.text(&var.value));
    }
    env.extend(input.platform.env.clone());
    let unresolved: Vec<String> = input
        .container
        .command
        .iter()
        .chain(&input.container.args)
        .cloned()
        .collect();
    let requirements = PythonEnvs::requirements(&unresolved);
    if requirements
        .as_ref()
        .is_some_and(|r| !r.script_creates_venv)
    {
        argv = skip_satisfied_install_preamble(argv);
    }
    let remote_inputs: Vec<String> = input
        .inputs
        .artifacts
        .values()
        .flatten()
        .map(|a| a.uri.clone())
        .filter(|uri| remote::is_remote(uri))
        .collect();
    let names = |path: &std::path::Path| {
        let text = path.display().to_string();
        argv.iter().chain(env.values()).any(|a| a.contains(&text))
    };
    let folders = Folders {
        task_root: !output_artifacts.is_empty() || names(&visible_root),
        outputs: !output_parameters.is_empty() || names(&scratch.join("outputs")),
    };
    let mounts = if ctx.remote_root() || !remote_inputs.is_empty() {
        remote::staging_mounts(&scratch)
    } else {
        Vec::new()
    };
    Ok(LaunchPlan {
        folders,
        run_id,
        task_id: input.task_id,
        argv,
        env,
        log_path: ctx.layout.task_log(run_id, input.task_id),
        caches: ctx.layout.step_caches(),
        scratch,
        task_root,
        executor_input,
        executor_output_path,
        output_parameters,
        output_artifacts,
        requirements,
        protected_inputs: input
            .inputs
            .artifacts
            .iter()
            .flat_map(|(name, list)| {
                list.iter()
                    .map(move |a| (name.clone(), PathBuf::from(a.local_path())))
            })
            .filter(|(_, path)| match &ctx.pipeline_root {
                StorageUri::Local(root) => path.starts_with(root),
                StorageUri::S3(_) => false,
            })
            .collect(),
        remote_inputs: remote_inputs.clone(),
        input_paths: input
            .inputs
            .artifacts
            .values()
            .flatten()
            .map(|a| PathBuf::from(a.local_path()))
            .filter(|path| path.is_absolute())
            .collect(),
        limits: limits(input.container),
        timeout: input.platform.timeout,
        image: input.container.image.clone(),
        gpus: gpus(input.container),
        mounts,
        pull_policy: weir_executors::PullPolicy::default(),
    })
}

/// The accelerator count a step asks for, in either encoding the SDK writes.
fn gpus(container: &ContainerSpec) -> Option<u32> {
    let accelerator = container.resources.as_ref()?.accelerator.as_ref()?;
    let count = accelerator
        .resource_count
        .as_deref()
        .and_then(|c| c.trim().parse::<u32>().ok())
        .or_else(|| {
            accelerator.count.as_ref().and_then(|c| {
                c.as_u64()
                    .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
            })
        })?;
    (count > 0).then_some(count)
}

fn executor_input(
    inputs: &TaskIo,
    output_parameters: &[(String, ParameterType, PathBuf)],
    output_artifacts: &[ProvisionedArtifact],
    executor_output_path: &std::path::Path,
) -> Value {
    let parameter_values: Map<String, Value> = inputs
        .parameters
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let artifacts: Map<String, Value> = inputs
        .artifacts
        .iter()
        .map(|(name, list)| {
            (
                name.clone(),
                json!({"artifacts": list.iter().map(|a| a.runtime_artifact()).collect::<Vec<_>>()}),
            )
        })
        .collect();
    let out_parameters: Map<String, Value> = output_parameters
        .iter()
        .map(|(name, _, file)| {
            (
                name.clone(),
                json!({"outputFile": file.display().to_string()}),
            )
        })
        .collect();
    let out_artifacts: Map<String, Value> = output_artifacts
        .iter()
        .map(|a| (a.name.clone(), json!({"artifacts": [a.runtime_artifact()]})))
        .collect();
    let mut inputs_json = Map::new();
    if !parameter_values.is_empty() {
        inputs_json.insert(
            "parameterValues".to_owned(),
            Value::Object(parameter_values),
        );
    }
    if !artifacts.is_empty() {
        inputs_json.insert("artifacts".to_owned(), Value::Object(artifacts));
    }
    let mut outputs_json = Map::new();
    if !out_parameters.is_empty() {
        outputs_json.insert("parameters".to_owned(), Value::Object(out_parameters));
    }
    if !out_artifacts.is_empty() {
        outputs_json.insert("artifacts".to_owned(), Value::Object(out_artifacts));
    }
    outputs_json.insert(
        "outputFile".to_owned(),
        json!(executor_output_path.display().to_string()),
    );
    json!({"inputs": inputs_json, "outputs": outputs_json})
}

/// KFP compiles a Python component as `sh -c "<pip install ...> && \"$0\" \"$@\"" <program...>`.
/// The job runs the step in a Weir-managed environment that already holds exactly those
/// packages (it is built before the step starts, or the step fails), so the preamble could only
/// re-check them: `<program...>` is what it would run next, with the same arguments. Skipping it
/// saves a pip start per step without changing what the component sees.
fn skip_satisfied_install_preamble(argv: Vec<String>) -> Vec<String> {
    let is_preamble = argv.len() > 3
        && argv[0] == "sh"
        && argv[1] == "-c"
        && argv[2].contains("pip install")
        && argv[2].trim_end().ends_with("\"$0\" \"$@\"");
    if is_preamble {
        argv[3..].to_vec()
    } else {
        argv
    }
}

/// The documented environment of a task process: nothing inherited but PATH.
fn base_env(
    ctx: &RunContext,
    input: &LaunchInput<'_>,
    scratch: &std::path::Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), input.host_path.to_owned());
    let home = crate::context::step_home(scratch);
    env.insert("HOME".to_owned(), home.display().to_string());
    let caches = ctx.layout.step_caches();
    env.insert("XDG_CACHE_HOME".to_owned(), caches.display().to_string());
    env.insert(
        "PIP_CACHE_DIR".to_owned(),
        caches.join("pip").display().to_string(),
    );
    env.insert("LANG".to_owned(), "C.UTF-8".to_owned());
    env.insert(
        "TMPDIR".to_owned(),
        scratch.join("tmp").display().to_string(),
    );
    env.insert("PYTHONUNBUFFERED".to_owned(), "1".to_owned());
    env.insert("PIP_DISABLE_PIP_VERSION_CHECK".to_owned(), "1".to_owned());
    env.insert(
        "KFP_POD_NAME".to_owned(),
        format!("{}-{}", ctx.resource_name, input.task_key),
    );
    env.insert("KFP_POD_UID".to_owned(), input.task_id.to_string());
    env.insert("WEIR_RUN_ID".to_owned(), ctx.run.id.to_string());
    env.insert(
        weir_executors::TASK_ID_ENV.to_owned(),
        input.task_id.to_string(),
    );
    env
}

/// Memory limits apply to the process; CPU is recorded only (see weir-executors).
fn limits(container: &ContainerSpec) -> ResourceLimits {
    let Some(resources) = &container.resources else {
        return ResourceLimits::default();
    };
    let memory = resources
        .resource_memory_limit
        .as_deref()
        .and_then(parse_quantity)
        .or_else(|| resources.memory_limit.map(|gb| gb * 1e9))
        .filter(|bytes| *bytes > 0.0)
        .map(|bytes| bytes as u64);
    let cpu = resources
        .resource_cpu_limit
        .as_deref()
        .and_then(parse_quantity)
        .or(resources.cpu_limit)
        .filter(|cores| *cores > 0.0);
    ResourceLimits {
        memory_bytes: memory,
        cpu_cores: cpu,
    }
}

/// A Kubernetes quantity (`500m`, `2`, `256Mi`, `1G`) as a number of units.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("m", 1e-3),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suffix, factor) in suffixes {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse::<f64>().ok()
}

struct Resolver<'a> {
    input: &'a LaunchInput<'a>,
    executor_input: &'a Value,
    output_parameters: &'a [(String, ParameterType, PathBuf)],
    output_artifacts: &'a [ProvisionedArtifact],
    executor_output_path: &'a std::path::Path,
}

impl Resolver<'_> {
    fn item(&self, item: &CommandItem) -> Vec<String> {
        match item {
            CommandItem::Text(text) => vec![self.text(text)],
            CommandItem::Concat(items) => {
                vec![items.iter().flat_map(|i| self.item(i)).collect::<String>()]
            }
            CommandItem::IfPresent {
                input,
                then,
                otherwise,
            } => {
                let branch = if self.is_present(input) {
                    Some(then)
                } else {
                    otherwise.as_ref()
                };
                branch
                    .into_iter()
                    .flatten()
                    .flat_map(|i| self.item(i))
                    .collect()
            }
        }
    }

    fn is_present(&self, name: &str) -> bool {
        self.input.inputs.parameter(name).is_some()
            || self.input.inputs.artifacts.contains_key(name)
    }

    fn text(&self, text: &str) -> String {
        if !text.contains("{{$") {
            return text.to_owned();
        }
        segments(text)
            .into_iter()
            .map(|segment| match segment {
                Segment::Text(t) | Segment::Unknown(t) => t.to_owned(),
                Segment::Placeholder(p) => self.placeholder(&p),
            })
            .collect()
    }

    fn placeholder(&self, placeholder: &Placeholder) -> String {
        let inputs = self.input.inputs;
        let ctx = self.input.ctx;
        let first_input = |name: &str| inputs.artifacts.get(name).and_then(|list| list.first());
        let output = |name: &str| self.output_artifacts.iter().find(|a| a.name == name);
        match placeholder {
            Placeholder::ExecutorInput => self.executor_input.to_string(),
            Placeholder::InputParameter(name) => match inputs.parameter(name) {
                Some(value) => text_form(value),
                None => self
                    .input
                    .component
                    .input_parameter(name)
                    .and_then(|p| p.default_value.as_ref())
                    .map(text_form)
                    .unwrap_or_default(),
            },
            Placeholder::InputArtifactPath(name) => first_input(name)
                .map(|a| a.local_path())
                .unwrap_or_default(),
            Placeholder::InputArtifactUri(name) => {
                first_input(name).map(|a| a.uri.clone()).unwrap_or_default()
            }
            Placeholder::InputArtifactMetadata(name, key) => {
                let metadata = first_input(name)
                    .map(|a| a.metadata.clone())
                    .unwrap_or(Value::Null);
                metadata_text(&metadata, key.as_deref())
            }
            Placeholder::InputArtifactList(name) => {
                let list: Vec<Value> = inputs
                    .artifacts
                    .get(name)
                    .into_iter()
                    .flatten()
                    .map(|a| a.runtime_artifact())
                    .collect();
                Value::Array(list).to_string()
            }
            Placeholder::OutputParameterFile(name) => self
                .output_parameters
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, file)| file.display().to_string())
                .unwrap_or_default(),
            Placeholder::OutputArtifactPath(name) => {
                output(name).map(|a| local_path(&a.uri)).unwrap_or_default()
            }
            Placeholder::OutputArtifactUri(name) => {
                output(name).map(|a| a.uri.clone()).unwrap_or_default()
            }
            Placeholder::OutputArtifactMetadata(name, key) => metadata_text(
                &output(name)
                    .map(|a| a.metadata.clone())
                    .unwrap_or(Value::Null),
                key.as_deref(),
            ),
            Placeholder::OutputMetadataFile => self.executor_output_path.display().to_string(),
            Placeholder::PipelineJobName => ctx.run.display_name.clone(),
            Placeholder::PipelineJobResourceName => ctx.resource_name.clone(),
            Placeholder::PipelineJobUuid => ctx.run.id.to_string(),
            Placeholder::PipelineJobCreateTime | Placeholder::PipelineJobScheduleTime => ctx
                .run
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            Placeholder::PipelineTaskName => self.input.task_key.to_owned(),
            Placeholder::PipelineTaskUuid => self.input.task_id.to_string(),
            Placeholder::PipelineRoot => ctx.pipeline_root.to_string(),
            Placeholder::WorkspacePath => ctx.layout.workspace(ctx.run.id).display().to_string(),
        }
    }
}

fn metadata_text(metadata: &Value, key: Option<&str>) -> String {
    match key {
        Some(key) => metadata.get(key).map(text_form).unwrap_or_default(),
        None if metadata.is_null() => "{}".to_owned(),
        None => metadata.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::skip_satisfied_install_preamble;

    fn owned(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn only_kfp_install_preambles_are_skipped() {
        let preamble = "\nif ! [ -x \"$(command -v pip)\" ]; then\n python3 -m ensurepip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet 'kfp==2.17.0' '--no-deps' && \"$0\" \"$@\"\n";
        let compiled = owned(&[
            "sh",
            "-c",
            preamble,
            "sh",
            "-ec",
            "program",
            "source",
            "--executor_input",
            "{}",
        ]);
        assert_eq!(
            skip_satisfied_install_preamble(compiled),
            owned(&["sh", "-ec", "program", "source", "--executor_input", "{}"])
        );
        let plain = owned(&["sh", "-c", "echo hi && \"$0\" \"$@\"", "true"]);
        assert_eq!(
            skip_satisfied_install_preamble(plain.clone()),
            plain,
            "no pip install: left alone"
        );
        let trailing = owned(&["sh", "-c", "pip install x; echo done", "true"]);
        assert_eq!(
            skip_satisfied_install_preamble(trailing.clone()),
            trailing,
            "does not hand over to $0: left alone"
        );
    }
}
