//! Checks of the Kubernetes platform configuration (the second YAML document).

use super::Checker;
use crate::diagnostic::Code;
use crate::model::{InputParameterSpec, PlatformSpec};

pub(super) fn check(checker: &mut Checker<'_>, platform: &PlatformSpec) {
    let Some(kubernetes) = &platform.platforms.kubernetes else {
        return;
    };
    for (label, config) in &kubernetes.deployment_spec.executors {
        let path = format!("platforms.kubernetes.deploymentSpec.executors.{label}");
        if checker.spec.executor(label).is_none() {
            checker.error(
                Code::InvalidPlatformConfig,
                path.clone(),
                format!("the platform configuration is for `{label}`, which is not an executor of the pipeline"),
                "the keys under executors must match deploymentSpec.executors",
            );
        }
        for (index, secret) in config.secret_as_env.iter().enumerate() {
            let item = format!("{path}.secretAsEnv[{index}]");
            require_name(
                checker,
                &item,
                "secret",
                secret.secret_name.as_deref(),
                secret.secret_name_parameter.as_ref(),
            );
            for (key_index, key) in secret.key_to_env.iter().enumerate() {
                if key.secret_key.is_empty() || key.env_var.is_empty() {
                    checker.error(
                        Code::InvalidPlatformConfig,
                        format!("{item}.keyToEnv[{key_index}]"),
                        "each keyToEnv entry needs `secretKey` and `envVar`",
                        "name the secret key and the environment variable it becomes",
                    );
                }
            }
        }
        for (index, secret) in config.secret_as_volume.iter().enumerate() {
            let item = format!("{path}.secretAsVolume[{index}]");
            require_name(
                checker,
                &item,
                "secret",
                secret.secret_name.as_deref(),
                secret.secret_name_parameter.as_ref(),
            );
            require_mount_path(checker, &item, &secret.mount_path);
        }
        for (index, map) in config.config_map_as_env.iter().enumerate() {
            let item = format!("{path}.configMapAsEnv[{index}]");
            require_name(
                checker,
                &item,
                "config map",
                map.config_map_name.as_deref(),
                map.config_map_name_parameter.as_ref(),
            );
        }
        for (index, map) in config.config_map_as_volume.iter().enumerate() {
            let item = format!("{path}.configMapAsVolume[{index}]");
            require_name(
                checker,
                &item,
                "config map",
                map.config_map_name.as_deref(),
                map.config_map_name_parameter.as_ref(),
            );
            require_mount_path(checker, &item, &map.mount_path);
        }
        for (index, pvc) in config.pvc_mount.iter().enumerate() {
            let item = format!("{path}.pvcMount[{index}]");
            let named = pvc.constant.is_some()
                || pvc.component_input_parameter.is_some()
                || pvc.task_output_parameter.is_some()
                || pvc.pvc_name_parameter.is_some();
            if !named {
                checker.error(
                    Code::InvalidPlatformConfig,
                    item.clone(),
                    "the PVC mount does not name the volume",
                    "set `pvcNameParameter` (or the legacy `constant`)",
                );
            }
            require_mount_path(checker, &item, &pvc.mount_path);
        }
        for (index, field) in config.field_path_as_env.iter().enumerate() {
            if field.name.is_empty() || field.field_path.is_empty() {
                checker.error(
                    Code::InvalidPlatformConfig,
                    format!("{path}.fieldPathAsEnv[{index}]"),
                    "each fieldPathAsEnv entry needs `name` and `fieldPath`",
                    "e.g. {name: POD_NAME, fieldPath: metadata.name}",
                );
            }
        }
    }
}

fn require_name(
    checker: &mut Checker<'_>,
    path: &str,
    what: &str,
    name: Option<&str>,
    parameter: Option<&InputParameterSpec>,
) {
    if name.is_none_or(str::is_empty) && parameter.is_none() {
        checker.error(
            Code::InvalidPlatformConfig,
            path.to_owned(),
            format!("the {what} is not named"),
            "set the name parameter (the SDK writes `secretNameParameter` / `configMapNameParameter`)",
        );
    }
}

fn require_mount_path(checker: &mut Checker<'_>, path: &str, mount_path: &str) {
    if !mount_path.starts_with('/') {
        checker.error(
            Code::InvalidPlatformConfig,
            format!("{path}.mountPath"),
            format!("the mount path `{mount_path}` is not absolute"),
            "use an absolute path such as /data",
        );
    }
}
