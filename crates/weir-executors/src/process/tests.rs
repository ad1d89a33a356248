use std::os::unix::process::ExitStatusExt as _;

use super::*;

fn exited(code: i32) -> ExitStatus {
    ExitStatus::from_raw(code << 8)
}

fn signaled(signal: Signal) -> ExitStatus {
    ExitStatus::from_raw(signal as i32)
}

#[test]
fn exit_codes_and_signals_are_reported_as_such() {
    assert_eq!(
        classify_exit(exited(0), true, "MemoryError\n"),
        Termination::Exited { code: 0 }
    );
    assert_eq!(
        classify_exit(exited(3), false, "boom\n"),
        Termination::Exited { code: 3 }
    );
    assert_eq!(
        classify_exit(signaled(Signal::SIGSEGV), false, ""),
        Termination::Signaled { signal: 11 }
    );
    assert_eq!(
        classify_exit(signaled(Signal::SIGKILL), false, ""),
        Termination::Signaled { signal: 9 }
    );
}

#[test]
fn sigkill_under_a_memory_limit_is_out_of_memory() {
    assert_eq!(
        classify_exit(signaled(Signal::SIGKILL), true, ""),
        Termination::OutOfMemory
    );
    assert_eq!(
        classify_exit(signaled(Signal::SIGTERM), true, ""),
        Termination::Signaled { signal: 15 }
    );
}

#[test]
fn allocation_failures_at_the_end_of_the_log_are_out_of_memory() {
    let python = "Traceback (most recent call last):\n  File \"<string>\", line 1\nMemoryError\n";
    assert_eq!(
        classify_exit(exited(1), false, python),
        Termination::OutOfMemory
    );
    let shell = "sh: 1: Cannot fork: Cannot allocate memory\n";
    assert_eq!(
        classify_exit(exited(2), true, shell),
        Termination::OutOfMemory
    );
    let long_ago = format!("MemoryError\n{}", "later line\n".repeat(10));
    assert_eq!(
        classify_exit(exited(1), true, &long_ago),
        Termination::Exited { code: 1 }
    );
}

#[test]
fn only_exit_code_zero_succeeds() {
    let outcome = |termination| ProcessOutcome {
        termination,
        started_at: SystemTime::now(),
        duration: Duration::ZERO,
        log_tail: String::new(),
    };
    assert!(outcome(Termination::Exited { code: 0 }).succeeded());
    assert!(!outcome(Termination::Exited { code: 1 }).succeeded());
    assert!(!outcome(Termination::Canceled).succeeded());
    assert!(!outcome(Termination::OutOfMemory).succeeded());
}
