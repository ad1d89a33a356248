//! Local meanings of the Kubernetes platform configuration (kfp-kubernetes):
//! secrets and config maps become environment variables or files from Weir's own store, PVCs
//! become named volume folders, the workspace a per-run folder, pod labels and annotations task
//! metadata that `fieldPathAsEnv` reads, timeouts process timeouts. Node selectors, tolerations,
//! affinity and image pull settings are recorded on the task.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use weir_spec::model::{InputParameterSpec, KubernetesExecutorConfig, ParameterSource};
use weir_store::{MetadataStore, PlatformDetails};

use weir_executors::{Bind as Mount, PullPolicy};

use crate::context::RunContext;
use crate::io::TaskIo;
use crate::value::text_form;

/// What the platform configuration adds to a task.
#[derive(Debug, Clone, Default)]
pub struct PlatformSetup {
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
    /// Folders made visible to the task at fixed paths; secrets and config maps read-only, as
    /// in a pod.
    pub mounts: Vec<Mount>,
    pub pvc_names: Vec<String>,
    /// `imagePullPolicy`, when the platform sets one.
    pub pull_policy: Option<PullPolicy>,
    /// Labels, annotations, node selector, tolerations...: recorded on the task.
    pub recorded: PlatformDetails,
}

/// Where a platform name parameter may read a value from.
pub struct NameSources<'a> {
    /// The enclosing DAG's inputs: `componentInputParameter` in the platform spec names these.
    pub dag_inputs: &'a TaskIo,
    pub inputs: &'a TaskIo,
    pub sibling_output: &'a (dyn Fn(&str, &str) -> Option<Value> + Sync),
}

impl NameSources<'_> {
    fn resolve(
        &self,
        parameter: Option<&InputParameterSpec>,
        legacy: Option<&str>,
    ) -> Option<String> {
        let value = match parameter.map(InputParameterSpec::source) {
            Some(ParameterSource::Constant(value)) => Some(value.clone()),
            Some(ParameterSource::ComponentInput(name)) => self
                .dag_inputs
                .parameter(name)
                .or_else(|| self.inputs.parameter(name))
                .cloned(),
            Some(ParameterSource::TaskOutput {
                producer_task,
                output_key,
            }) => (self.sibling_output)(producer_task, output_key),
            _ => None,
        };
        value
            .map(|v| text_form(&v))
            .or_else(|| legacy.map(str::to_owned))
            .filter(|s| !s.is_empty())
    }
}

pub async fn setup(
    store: &dyn MetadataStore,
    ctx: &RunContext,
    executor_label: &str,
    names: &NameSources<'_>,
    scratch: &std::path::Path,
) -> Result<PlatformSetup, String> {
    let mut setup = PlatformSetup::default();
    if let Some(workspace) = ctx
        .platform()
        .and_then(|p| p.platforms.kubernetes.as_ref())
        .and_then(|k| k.pipeline_config.as_ref())
        .and_then(|c| c.workspace.as_ref())
    {
        let _ = workspace;
        let folder = ctx.layout.workspace(ctx.run.id);
        if uses_the_workspace(names.inputs, &folder) {
            // KFP's workspace PVC, `<run name>-kfp-workspace`, is in the step's cache key.
            setup
                .pvc_names
                .push(format!("{}-{WORKSPACE_VOLUME}", ctx.resource_name));
        }
        setup.mounts.push(Mount {
            source: folder,
            target: WORKSPACE_MOUNT.to_owned(),
            read_only: false,
        });
    }
    let Some(config) = ctx
        .platform()
        .and_then(|p| p.kubernetes_executor(executor_label))
    else {
        return Ok(setup);
    };
    secrets_and_config_maps(store, config, names, scratch, &mut setup).await?;
    volumes(ctx, config, names, scratch, &mut setup)?;
    pod_metadata(config, &mut setup);
    if let Some(seconds) = config.active_deadline_seconds.as_ref().and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }) {
        if seconds > 0.0 {
            setup.timeout = Some(Duration::from_secs_f64(seconds));
        }
    }
    if let Some(policy) = config
        .image_pull_policy
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        setup.pull_policy = Some(PullPolicy::parse(policy).ok_or_else(|| {
            format!("the image pull policy `{policy}` is not IfNotPresent, Always or Never")
        })?);
    }
    setup.recorded = PlatformDetails {
        node_selector: config
            .node_selector
            .clone()
            .filter(|v| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty)),
        tolerations: config.tolerations.clone(),
        node_affinity: config.node_affinity.clone(),
        image_pull_policy: config.image_pull_policy.clone(),
        image_pull_secret: config.image_pull_secret.clone(),
        labels: config.pod_metadata.as_ref().map(|m| m.labels.clone()),
        annotations: config.pod_metadata.as_ref().map(|m| m.annotations.clone()),
    };
    Ok(setup)
}

async fn secrets_and_config_maps(
    store: &dyn MetadataStore,
    config: &KubernetesExecutorConfig,
    names: &NameSources<'_>,
    scratch: &std::path::Path,
    setup: &mut PlatformSetup,
) -> Result<(), String> {
    for secret in &config.secret_as_env {
        let Some(name) = names.resolve(
            secret.secret_name_parameter.as_ref(),
            secret.secret_name.as_deref(),
        ) else {
            if secret.optional.unwrap_or(false) {
                continue;
            }
            return Err("a secretAsEnv entry has no secret name".to_owned());
        };
        let optional = secret.optional.unwrap_or(false);
        let Some(data) = lookup(store, &name, "secret", optional).await? else {
            continue;
        };
        for key in &secret.key_to_env {
            match data.get(&key.secret_key) {
                Some(value) => {
                    setup.env.insert(key.env_var.clone(), value.clone());
                }
                None if optional => {}
                None => return Err(format!("the secret `{name}` has no key `{}`; add it with `weir secrets set {name} {}=...`", key.secret_key, key.secret_key)),
            }
        }
    }
    for (index, secret) in config.secret_as_volume.iter().enumerate() {
        let Some(name) = names.resolve(
            secret.secret_name_parameter.as_ref(),
            secret.secret_name.as_deref(),
        ) else {
            if secret.optional.unwrap_or(false) {
                continue;
            }
            return Err("a secretAsVolume entry has no secret name".to_owned());
        };
        let Some(data) = lookup(store, &name, "secret", secret.optional.unwrap_or(false)).await?
        else {
            continue;
        };
        let folder = write_files(scratch, &format!("secret-{index}"), &data)?;
        setup.mounts.push(Mount {
            source: folder,
            target: secret.mount_path.clone(),
            read_only: true,
        });
    }
    for map in &config.config_map_as_env {
        let Some(name) = names.resolve(
            map.config_map_name_parameter.as_ref(),
            map.config_map_name.as_deref(),
        ) else {
            if map.optional.unwrap_or(false) {
                continue;
            }
            return Err("a configMapAsEnv entry has no config map name".to_owned());
        };
        let optional = map.optional.unwrap_or(false);
        let Some(data) = lookup(store, &config_map_key(&name), "config map", optional).await?
        else {
            continue;
        };
        for key in &map.key_to_env {
            if let Some(value) = data.get(&key.config_map_key) {
                setup.env.insert(key.env_var.clone(), value.clone());
            } else if !optional {
                return Err(format!(
                    "the config map `{name}` has no key `{}`",
                    key.config_map_key
                ));
            }
        }
    }
    for (index, map) in config.config_map_as_volume.iter().enumerate() {
        let Some(name) = names.resolve(
            map.config_map_name_parameter.as_ref(),
            map.config_map_name.as_deref(),
        ) else {
            if map.optional.unwrap_or(false) {
                continue;
            }
            return Err("a configMapAsVolume entry has no config map name".to_owned());
        };
        let Some(data) = lookup(
            store,
            &config_map_key(&name),
            "config map",
            map.optional.unwrap_or(false),
        )
        .await?
        else {
            continue;
        };
        let folder = write_files(scratch, &format!("configmap-{index}"), &data)?;
        setup.mounts.push(Mount {
            source: folder,
            target: map.mount_path.clone(),
            read_only: true,
        });
    }
    Ok(())
}

/// Config maps share the secrets table under this prefix.
pub fn config_map_key(name: &str) -> String {
    format!("configmap:{name}")
}

async fn lookup(
    store: &dyn MetadataStore,
    name: &str,
    what: &str,
    optional: bool,
) -> Result<Option<weir_store::SecretData>, String> {
    let found = store
        .get_secret(name)
        .await
        .map_err(|e| format!("cannot read {what} `{name}`: {e}"))?;
    match found {
        Some(data) => Ok(Some(data)),
        None if optional => Ok(None),
        None => {
            let shown = name.strip_prefix("configmap:").unwrap_or(name);
            let command = if what == "secret" {
                "secrets"
            } else {
                "configmaps"
            };
            Err(format!("the {what} `{shown}` does not exist; create it with `weir {command} set {shown} KEY=VALUE`"))
        }
    }
}

fn write_files(
    scratch: &std::path::Path,
    folder: &str,
    data: &weir_store::SecretData,
) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch.join("mounts").join(folder);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (key, value) in data {
        if key.contains('/') || key == ".." || key == "." {
            return Err(format!("the key `{key}` cannot be a file name"));
        }
        let file = dir.join(key);
        std::fs::write(&file, value)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400));
    }
    Ok(dir)
}

fn volumes(
    ctx: &RunContext,
    config: &KubernetesExecutorConfig,
    names: &NameSources<'_>,
    scratch: &std::path::Path,
    setup: &mut PlatformSetup,
) -> Result<(), String> {
    for pvc in &config.pvc_mount {
        let legacy = pvc.constant.clone().or_else(|| {
            pvc.component_input_parameter
                .as_ref()
                .and_then(|p| names.inputs.parameter(p).map(text_form))
        });
        let Some(name) = names.resolve(pvc.pvc_name_parameter.as_ref(), legacy.as_deref()) else {
            return Err("a pvcMount entry has no volume name".to_owned());
        };
        let folder = ctx.layout.volume(&crate::context::sanitize(&name));
        if !folder.is_dir() {
            return Err(format!("the volume `{name}` does not exist; create it with `weir volumes create {name}` or a CreatePVC step"));
        }
        setup.pvc_names.push(name);
        setup.mounts.push(Mount {
            source: folder,
            target: pvc.mount_path.clone(),
            read_only: false,
        });
    }
    for (index, empty_dir) in config.empty_dir_mounts.iter().enumerate() {
        let folder = scratch.join("mounts").join(format!("empty-{index}"));
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        setup.mounts.push(Mount {
            source: folder,
            target: empty_dir.mount_path.clone(),
            read_only: false,
        });
    }
    Ok(())
}

/// Where steps see the run's workspace, and the name KFP gives its volume.
pub(crate) const WORKSPACE_MOUNT: &str = "/kfp-workspace";
const WORKSPACE_VOLUME: &str = "kfp-workspace";

/// Whether a step uses the workspace as KFP's driver decides it (`needsWorkspaceMount`): an
/// input parameter names it (its placeholder, its mount path, or the folder the placeholder
/// resolved to here), or an input artifact lives in it (`_kfp_workspace` in its metadata).
fn uses_the_workspace(inputs: &TaskIo, folder: &std::path::Path) -> bool {
    let folder = folder.display().to_string();
    let names_it = |text: &str| {
        text.contains("{{$.workspace_path}}")
            || text.contains(WORKSPACE_MOUNT)
            || text.contains(&folder)
    };
    let parameter = inputs
        .parameters
        .values()
        .any(|v| v.as_str().is_some_and(names_it));
    let artifact = inputs.artifacts.values().any(|list| {
        list.first()
            .and_then(|a| a.metadata.get("_kfp_workspace"))
            .and_then(Value::as_bool)
            == Some(true)
    });
    parameter || artifact
}

/// `fieldPathAsEnv` over the task's labels and annotations (empty when absent, as in a pod).
fn pod_metadata(config: &KubernetesExecutorConfig, setup: &mut PlatformSetup) {
    let labels = config
        .pod_metadata
        .as_ref()
        .map(|m| m.labels.clone())
        .unwrap_or_default();
    let annotations = config
        .pod_metadata
        .as_ref()
        .map(|m| m.annotations.clone())
        .unwrap_or_default();
    for field in &config.field_path_as_env {
        let value = if let Some(key) = bracketed(&field.field_path, "metadata.labels") {
            labels.get(&key).cloned().unwrap_or_default()
        } else if let Some(key) = bracketed(&field.field_path, "metadata.annotations") {
            annotations.get(&key).cloned().unwrap_or_default()
        } else {
            match field.field_path.as_str() {
                "metadata.namespace" => "default".to_owned(),
                "spec.nodeName" => "localhost".to_owned(),
                "status.podIP" | "status.hostIP" => "127.0.0.1".to_owned(),
                _ => String::new(),
            }
        };
        setup.env.insert(field.name.clone(), value);
    }
}

fn bracketed(path: &str, prefix: &str) -> Option<String> {
    let rest = path
        .strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')?;
    Some(rest.trim_matches(|c| c == '\'' || c == '"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use weir_store::ArtifactRef;

    #[test]
    fn the_workspace_is_used_as_kfps_driver_decides() {
        let folder = std::path::Path::new("/data/workspaces/run-1");
        let with = |value: &str| {
            let mut inputs = TaskIo::default();
            inputs.parameters.insert("p".into(), json!(value));
            inputs
        };
        assert!(!uses_the_workspace(&TaskIo::default(), folder));
        assert!(!uses_the_workspace(&with("/data/other"), folder));
        assert!(uses_the_workspace(
            &with("/data/workspaces/run-1/x"),
            folder
        ));
        assert!(uses_the_workspace(&with("/kfp-workspace/x"), folder));
        assert!(uses_the_workspace(&with("{{$.workspace_path}}/x"), folder));
        let mut artifact = TaskIo::default();
        artifact.artifacts.insert(
            "a".into(),
            vec![ArtifactRef {
                id: 1,
                name: "a".into(),
                uri: "/elsewhere".into(),
                artifact_type: Default::default(),
                metadata: json!({"_kfp_workspace": true}),
            }],
        );
        assert!(uses_the_workspace(&artifact, folder));
    }
}
