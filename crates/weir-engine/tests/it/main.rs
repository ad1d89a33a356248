//! The engine in process: the driver runs small pipelines (`tests/fixtures`) on a scripted
//! fake executor (`fake.rs`) over an in-memory store, and each test checks the task table
//! after each event. Waits are on the fake's gates and log and on the engine's events, never
//! on time.

mod cache;
mod cancel;
mod conditions;
mod fake;
mod loops;
mod resume;
mod retry;
mod support;
