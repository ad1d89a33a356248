//! Live progress of a run: a progress bar on a terminal, one line per task state change otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;
use weir_engine::EngineEvent;
use weir_types::{RunId, TaskId, TaskKind, TaskState};

pub struct Progress {
    handle: JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Progress {
    pub fn start(events: broadcast::Receiver<EngineEvent>, run_id: RunId) -> Progress {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(follow(events, run_id, stopped));
        Progress { handle, stop }
    }

    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

async fn follow(
    mut events: broadcast::Receiver<EngineEvent>,
    run_id: RunId,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let mut steps: BTreeMap<TaskId, (String, TaskState)> = BTreeMap::new();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = &mut stopped => break,
        };
        let event = match event {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        let EngineEvent::TaskChanged {
            run_id: event_run,
            task_id,
            path,
            display_name,
            kind,
            state,
            message,
        } = event
        else {
            continue;
        };
        if event_run != run_id {
            continue;
        }
        let is_step = matches!(kind, TaskKind::Container | TaskKind::Importer);
        if is_step {
            steps.insert(task_id, (display_name.clone(), state));
        }
        let line = format!(
            "{} {:<9} {} ({}){}",
            chrono::Local::now().format("%H:%M:%S"),
            state.as_str(),
            display_name,
            path,
            message.map(|m| format!(": {m}")).unwrap_or_default()
        );
        match &bar {
            Some(bar) => {
                if is_step && state.is_terminal() || state == TaskState::Failed {
                    bar.println(line);
                }
                bar.set_message(summary(&steps));
            }
            None => eprintln!("{line}"),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn summary(steps: &BTreeMap<TaskId, (String, TaskState)>) -> String {
    let done = steps.values().filter(|(_, s)| s.is_terminal()).count();
    let running: Vec<&str> = steps
        .values()
        .filter(|(_, s)| *s == TaskState::Running)
        .map(|(n, _)| n.as_str())
        .collect();
    let shown: Vec<&str> = running.iter().take(4).copied().collect();
    let more = if running.len() > shown.len() {
        format!(" +{}", running.len() - shown.len())
    } else {
        String::new()
    };
    format!(
        "{done}/{} steps done, {} running: {}{more}",
        steps.len(),
        running.len(),
        shown.join(", ")
    )
}
