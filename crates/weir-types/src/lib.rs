//! `weir-types`: the vocabulary every Weir crate shares.
//!
//! Ids are newtypes over UUIDv7 (time-ordered, so keyset paging by id follows creation order);
//! run and task states carry their KFP names and the transitions allowed between them. This
//! crate does no I/O and depends on nothing of ours.

mod id;
mod state;

pub use id::{
    ExperimentId, IdParseError, PipelineId, PipelineVersionId, RecurringRunId, RunId, TaskId,
};
pub use state::{InvalidTransition, RunState, TaskKind, TaskState};
