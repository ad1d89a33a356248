//! Which executor runs steps, and a step attempt's launch as every executor takes it. The
//! engine holds one `Arc<dyn StepExecutor>` (`weir-executors`' contract) and knows nothing else
//! of how a step runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use weir_executors::{
    pid_file, same_path, Bind, ContainerExecutor, ContainerOptions, ProcessExecutor, ProcessSpec,
    PythonMount, StepExecutor, StepLaunch, WarmPythons,
};
use weir_store::MetadataStore;
use weir_types::RunId;

use crate::context::Layout;
use crate::launch::LaunchPlan;
use crate::platform::WORKSPACE_MOUNT;

/// How steps run.
#[derive(Debug, Clone, Default)]
pub enum ExecutorConfig {
    /// Each step is a supervised host process (the default).
    #[default]
    Process,
    /// Each step runs in its image.
    Container(ContainerOptions),
}

/// The executor a configuration names. `warm_python`: under the process executor, KFP
/// lightweight Python steps start from a warm interpreter (whose steps get `kill_grace` between
/// SIGTERM and SIGKILL if Weir goes away while they run).
pub(crate) fn executor_for(
    config: &ExecutorConfig,
    layout: &Layout,
    warm_python: bool,
    kill_grace: Duration,
) -> Arc<dyn StepExecutor> {
    match config {
        ExecutorConfig::Process => {
            Arc::new(ProcessExecutor::new(warm_python.then(|| {
                WarmPythons::new(layout.python_envs().join("warm"), kill_grace)
            })))
        }
        ExecutorConfig::Container(options) => Arc::new(ContainerExecutor::new(options.clone())),
    }
}

/// Connects the executor now, so that a missing engine is reported before any run starts, and
/// removes what runs of this store left behind once they ended (a Weir killed before it could
/// remove them). Leftovers of unfinished runs are recovered when their step runs again; those
/// of other stores are kept.
pub(crate) async fn check(
    executor: &dyn StepExecutor,
    store: &dyn MetadataStore,
) -> Result<Option<String>, String> {
    let place = executor.connect().await?;
    for leftover in executor.leftovers().await {
        let Ok(run_id) = leftover.run_id.parse::<RunId>() else {
            continue;
        };
        let ended = match store.get_run(run_id).await {
            Ok(run) => run.state.is_terminal(),
            Err(_) => false,
        };
        if ended {
            executor.discard(&leftover).await;
        }
    }
    Ok(place)
}

/// One attempt of a planned step: `env` is the plan's environment with the Python environment
/// applied, `python` that environment for executors that mount it.
pub(crate) fn step_launch(
    plan: &LaunchPlan,
    env: BTreeMap<String, String>,
    python: Option<PythonMount>,
    kill_grace: Duration,
) -> StepLaunch {
    let process = ProcessSpec {
        argv: plan.argv.clone(),
        env,
        cwd: plan.scratch.clone(),
        log_path: plan.log_path.clone(),
        timeout: plan.timeout,
        kill_grace,
        limits: plan.limits.clone(),
        pid_file: Some(pid_file(&plan.scratch)),
    };
    StepLaunch {
        run_id: plan.run_id.to_string(),
        task_id: plan.task_id.to_string(),
        process,
        image: plan.image.clone(),
        pull_policy: plan.pull_policy,
        gpus: plan.gpus,
        mounts: plan.mounts.clone(),
        paths: step_paths(plan),
        outputs_dir: plan.scratch.join("outputs"),
        python,
    }
}

/// The host paths a step reaches at their own path: its scratch folder, its artifact folder and
/// the shared caches (writable), its input artifacts read in place (read-only), and the
/// workspace folder, which `{{$.workspace_path}}` resolves to.
fn step_paths(plan: &LaunchPlan) -> Vec<Bind> {
    let mut paths = vec![
        same_path(&plan.scratch, false),
        same_path(&plan.task_root, false),
        same_path(&plan.caches, false),
    ];
    paths.extend(
        plan.input_paths
            .iter()
            .filter(|path| path.exists() && !path.starts_with(&plan.task_root))
            .map(|path| same_path(path, true)),
    );
    paths.extend(
        plan.mounts
            .iter()
            .filter(|mount| mount.target == WORKSPACE_MOUNT)
            .map(|mount| same_path(Path::new(&mount.source), false)),
    );
    paths
}
