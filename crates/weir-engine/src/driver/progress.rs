//! What the driver knows about the children of each DAG-like execution, kept up to date every
//! time it remembers an execution, so that the walk after an event looks only at what changed:
//! the DAGs one of whose children ended, and in them the tasks downstream of that child.
//!
//! The first walk of a run (and the walk after a cancel) still visits everything, which is what
//! resuming needs; every later walk is proportional to what changed, not to the run's size.

use std::collections::{HashMap, HashSet, VecDeque};

use weir_store::Task;
use weir_types::{TaskId, TaskState};

/// The children of one DAG-like execution.
#[derive(Debug, Default)]
pub(super) struct Children {
    /// Executions whose parent this is.
    pub(super) created: usize,
    /// Of those, how many have ended.
    pub(super) ended: usize,
    /// The path of the first child that failed (a DAG stops starting tasks after a failure).
    pub(super) failed: Option<String>,
    /// The names of children that ended since this execution was last walked.
    ended_since_walk: Vec<String>,
}

#[derive(Debug, Default)]
pub(super) struct Progress {
    children: HashMap<TaskId, Children>,
    /// DAG-like executions to walk again, each once, in the order they changed.
    dirty: VecDeque<TaskId>,
    dirty_set: HashSet<TaskId>,
    /// DAG-like executions walked in full since the last full walk of the run.
    walked: HashSet<TaskId>,
    /// The next full walk visits every execution (at the start, and after a cancel).
    full_walk_due: bool,
}

impl Progress {
    pub(super) fn new() -> Self {
        Progress {
            full_walk_due: true,
            ..Default::default()
        }
    }

    /// Takes note of an execution as it is now (`previous`: as the driver knew it before).
    pub(super) fn record(&mut self, previous: Option<TaskState>, task: &Task) {
        let Some(parent) = task.parent_id else {
            return;
        };
        let children = self.children.entry(parent).or_default();
        if previous.is_none() {
            children.created += 1;
        }
        let was_ended = previous.is_some_and(TaskState::is_terminal);
        let is_ended = task.state.is_terminal();
        if is_ended && !was_ended {
            children.ended += 1;
            children.ended_since_walk.push(task.name.clone());
            if self.dirty_set.insert(parent) {
                self.dirty.push_back(parent);
            }
        } else if was_ended && !is_ended {
            children.ended = children.ended.saturating_sub(1);
        }
        if task.state == TaskState::Failed && children.failed.is_none() {
            children.failed = Some(task.path.clone());
        }
    }

    pub(super) fn children(&self, id: TaskId) -> Option<&Children> {
        self.children.get(&id)
    }

    /// The names of the children of `id` that ended since it was last walked (forgotten here).
    pub(super) fn take_ended(&mut self, id: TaskId) -> Vec<String> {
        self.children
            .get_mut(&id)
            .map(|c| std::mem::take(&mut c.ended_since_walk))
            .unwrap_or_default()
    }

    /// The next DAG-like execution to walk again, if any.
    pub(super) fn next_dirty(&mut self) -> Option<TaskId> {
        let id = self.dirty.pop_front()?;
        self.dirty_set.remove(&id);
        Some(id)
    }

    /// Whether `id` is walked for the first time since the last full walk (and from now on not).
    pub(super) fn first_walk(&mut self, id: TaskId) -> bool {
        self.walked.insert(id)
    }

    /// Asks for the next walk to visit everything (the run was canceled: every DAG decides
    /// again about the tasks it has not started).
    pub(super) fn ask_full_walk(&mut self) {
        self.full_walk_due = true;
    }

    /// Whether a full walk is due; if so, it starts now: everything counts as not walked yet.
    pub(super) fn begin_full_walk(&mut self) -> bool {
        if !std::mem::take(&mut self.full_walk_due) {
            return false;
        }
        self.walked.clear();
        self.dirty.clear();
        self.dirty_set.clear();
        true
    }
}
