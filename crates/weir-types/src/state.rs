use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A state change that the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {what} cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub what: &'static str,
    pub from: String,
    pub to: String,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The KFP enum name, as stored and sent over the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("`{other}` is not a {}", stringify!($name))),
                }
            }
        }
    };
}

named_enum! {
    /// The state of a run (KFP `RuntimeState`).
    RunState {
        Pending = "PENDING",
        Running = "RUNNING",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
        Canceling = "CANCELING",
        Canceled = "CANCELED",
    }
}

impl RunState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Canceled
        )
    }

    /// Checks a change of state. Retry and resume move a finished run back to RUNNING.
    pub fn transition(self, to: RunState) -> Result<RunState, InvalidTransition> {
        use RunState::*;
        let allowed = match (self, to) {
            (a, b) if a == b => true,
            (Pending, _) => true,
            (Running, Succeeded | Failed | Canceling | Canceled | Pending) => true,
            (Canceling, Canceled | Failed | Succeeded) => true,
            (Failed | Canceled, Running | Pending) => true,
            _ => false,
        };
        allowed.then_some(to).ok_or_else(|| InvalidTransition {
            what: "run",
            from: self.to_string(),
            to: to.to_string(),
        })
    }
}

named_enum! {
    /// The state of one execution of a run: a DAG, a loop, an iteration, a container step or
    /// an importer.
    TaskState {
        Pending = "PENDING",
        Running = "RUNNING",
        Succeeded = "SUCCEEDED",
        /// Reused the outputs of an earlier execution; nothing ran.
        Cached = "CACHED",
        Failed = "FAILED",
        /// Not run: its condition was false, or an upstream task did not succeed.
        Skipped = "SKIPPED",
        Canceled = "CANCELED",
    }
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskState::Pending | TaskState::Running)
    }

    /// Finished with outputs that downstream tasks may use.
    pub fn is_success(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Cached)
    }

    /// Checks a change of state. A retried or resumed task goes back to PENDING.
    pub fn transition(self, to: TaskState) -> Result<TaskState, InvalidTransition> {
        use TaskState::*;
        let allowed = match (self, to) {
            (a, b) if a == b => true,
            (Pending, _) => true,
            (Running, Succeeded | Failed | Canceled | Pending | Skipped) => true,
            (Failed | Canceled | Skipped, Pending) => true,
            _ => false,
        };
        allowed.then_some(to).ok_or_else(|| InvalidTransition {
            what: "task",
            from: self.to_string(),
            to: to.to_string(),
        })
    }
}

named_enum! {
    /// What an execution is.
    TaskKind {
        /// The pipeline's root DAG.
        Root = "ROOT",
        /// A DAG task: a nested pipeline, a condition, an exit handler's body.
        Dag = "DAG",
        /// A ParallelFor: its children are iterations.
        Loop = "LOOP",
        /// One iteration of a ParallelFor: a DAG with the loop item bound.
        Iteration = "ITERATION",
        /// A container step (run as a host process or a container).
        Container = "CONTAINER",
        /// An importer: records an existing artifact.
        Importer = "IMPORTER",
    }
}

impl TaskKind {
    /// Whether the execution has children rather than a process.
    pub fn is_dag_like(self) -> bool {
        matches!(
            self,
            TaskKind::Root | TaskKind::Dag | TaskKind::Loop | TaskKind::Iteration
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>(), Ok(*state));
        }
        for state in RunState::ALL {
            assert_eq!(state.as_str().parse::<RunState>(), Ok(*state));
        }
        for kind in TaskKind::ALL {
            assert_eq!(kind.as_str().parse::<TaskKind>(), Ok(*kind));
        }
        assert!("DONE".parse::<TaskState>().is_err());
    }

    #[test]
    fn finished_tasks_only_go_back_to_pending() {
        assert!(TaskState::Succeeded.transition(TaskState::Running).is_err());
        assert!(TaskState::Cached.transition(TaskState::Pending).is_err());
        assert!(TaskState::Failed.transition(TaskState::Pending).is_ok());
        assert!(TaskState::Running.transition(TaskState::Succeeded).is_ok());
        assert!(RunState::Succeeded.transition(RunState::Running).is_err());
        assert!(RunState::Failed.transition(RunState::Running).is_ok());
    }
}
