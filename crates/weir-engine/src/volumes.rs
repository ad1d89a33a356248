//! kfp-kubernetes `CreatePVC` / `DeletePVC`: compiled as steps whose image is
//! `argostub/createpvc` / `argostub/deletepvc`, which KFP's driver runs itself. Locally a PVC is
//! a named folder under the data dir.

use serde_json::Value;
use weir_spec::model::ContainerSpec;

use crate::context::{sanitize, RunContext};
use crate::io::TaskIo;
use crate::value::text_form;

/// Whether the step is a volume step (`run_volume_step` runs it).
pub fn is_volume_step(container: &ContainerSpec) -> bool {
    matches!(
        container.image.split(':').next().unwrap_or_default(),
        "argostub/createpvc" | "argostub/deletepvc"
    )
}

/// Runs the step when it is a volume step; `None` for every other step.
pub fn run_volume_step(
    ctx: &RunContext,
    container: &ContainerSpec,
    inputs: &TaskIo,
) -> Option<Result<TaskIo, String>> {
    let image = container.image.split(':').next().unwrap_or_default();
    match image {
        "argostub/createpvc" => Some(create(ctx, inputs)),
        "argostub/deletepvc" => Some(delete(ctx, inputs)),
        _ => None,
    }
}

fn create(ctx: &RunContext, inputs: &TaskIo) -> Result<TaskIo, String> {
    let name = match (
        inputs.parameter("pvc_name"),
        inputs.parameter("pvc_name_suffix"),
    ) {
        (Some(name), _) => text_form(name),
        // KFP names a PVC with a suffix `<run resource name><suffix>`.
        (None, Some(suffix)) => format!("{}{}", ctx.resource_name, text_form(suffix)),
        (None, None) => return Err("CreatePVC needs `pvc_name` or `pvc_name_suffix`".to_owned()),
    };
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
