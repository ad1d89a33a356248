//! kfp-kubernetes `CreatePVC` / `DeletePVC`: compiled as steps whose image is
//! `argostub/createpvc` / `argostub/deletepvc`, which KFP's driver runs itself. Locally a PVC is
//! a named folder under the data dir.
//!
//! Volume steps are never served from the cache (they act on a volume, which another run may
//! have deleted): they run each time. A volume made with a suffix has a name of its own per run,
//! and steps that mount it put that name in their cache fingerprint (KFP's `pvcNames`), so a
//! step that mounts a volume created in its run is never a cache hit from another run.

use serde_json::Value;
use weir_spec::model::ContainerSpec;

use crate::context::{sanitize, RunContext};
use crate::io::TaskIo;
use crate::value::text_form;
use weir_types::TaskId;

/// Whether the step is a volume step (`run_volume_step` runs it).
pub fn is_volume_step(container: &ContainerSpec) -> bool {
    matches!(
        container.image.split(':').next().unwrap_or_default(),
        "argostub/createpvc" | "argostub/deletepvc"
    )
}

/// Runs the step when it is a volume step; `None` for every other step. `task` is the volume
/// step's own execution.
pub fn run_volume_step(
    ctx: &RunContext,
    task: TaskId,
    container: &ContainerSpec,
    inputs: &TaskIo,
) -> Option<Result<TaskIo, String>> {
    let image = container.image.split(':').next().unwrap_or_default();
    match image {
        "argostub/createpvc" => Some(create(ctx, task, inputs)),
        "argostub/deletepvc" => Some(delete(ctx, inputs)),
        _ => None,
    }
}

/// The name of the volume a CreatePVC step makes, as KFP's driver names it: `pvc_name` as
/// given (shared by every run that names it), otherwise a UUID followed by `pvc_name_suffix`
/// (or the UUID alone). KFP draws a new UUID; Weir uses the step's execution id, which is a
/// UUID unique to this run and task and stays the same when an interrupted run resumes.
pub fn volume_name(task: TaskId, inputs: &TaskIo) -> Result<String, String> {
    let given = |name: &str| {
        inputs
            .parameter(name)
            .map(text_form)
            .filter(|v| !v.is_empty())
    };
    match (given("pvc_name"), given("pvc_name_suffix")) {
        (Some(_), Some(_)) => Err(
            "CreatePVC takes at most one of `pvc_name` and `pvc_name_suffix`; remove one"
                .to_owned(),
        ),
        (Some(name), None) => Ok(name),
        (None, Some(suffix)) => Ok(format!("{task}{suffix}")),
        (None, None) => Ok(task.to_string()),
    }
}

fn create(ctx: &RunContext, task: TaskId, inputs: &TaskIo) -> Result<TaskIo, String> {
    let name = volume_name(task, inputs)?;
    let folder = ctx.layout.volume(&sanitize(&name));
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create the volume folder {}: {e}", folder.display()))?;
    let mut outputs = TaskIo::default();
    outputs
        .parameters
        .insert("name".to_owned(), Value::String(name));
    Ok(outputs)
}

fn delete(ctx: &RunContext, inputs: &TaskIo) -> Result<TaskIo, String> {
    let Some(name) = inputs.parameter("pvc_name").map(text_form) else {
        return Err("DeletePVC needs `pvc_name`".to_owned());
    };
    let folder = ctx.layout.volume(&sanitize(&name));
    if folder.exists() {
        std::fs::remove_dir_all(&folder)
            .map_err(|e| format!("cannot delete the volume folder {}: {e}", folder.display()))?;
    }
    Ok(TaskIo::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> TaskIo {
        let mut io = TaskIo::default();
        for (name, value) in pairs {
            io.parameters
                .insert((*name).to_owned(), Value::String((*value).to_owned()));
        }
        io
    }

    #[test]
    fn volumes_are_named_per_task_unless_named_outright() {
        let (first, second) = (TaskId::new(), TaskId::new());
        let suffixed = inputs(&[("pvc_name_suffix", "-my-pvc")]);
        let a = volume_name(first, &suffixed).expect("named");
        let b = volume_name(second, &suffixed).expect("named");
        assert_eq!(a, format!("{first}-my-pvc"));
        assert_ne!(a, b, "two runs' steps never share a volume");
        assert_eq!(volume_name(first, &suffixed), Ok(a), "the same on resume");
        assert_eq!(
            volume_name(first, &inputs(&[("pvc_name", "shared")])),
            Ok("shared".to_owned())
        );
        assert_eq!(
            volume_name(first, &inputs(&[("pvc_name", ""), ("pvc_name_suffix", "")])),
            Ok(first.to_string())
        );
        let both = volume_name(
            first,
            &inputs(&[("pvc_name", "a"), ("pvc_name_suffix", "-b")]),
        );
        assert!(both.is_err_and(|e| e.contains("at most one")));
    }
}
