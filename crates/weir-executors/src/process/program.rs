//! Finding the program to run and wrapping it for resource limits.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::ResourceLimits;

/// Resolves `program` the way `execvp` would, but against the task's own `PATH` (from `env`),
/// not Weir's. A program containing a `/` is a path, relative to `cwd` when not absolute.
pub(crate) fn resolve_program(
    program: &str,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<PathBuf, String> {
    if program.is_empty() {
        return Err("the command is empty: argv[0] must name a program".to_owned());
    }
    if program.contains('/') {
        let path = cwd.join(program);
        if is_executable_file(&path) {
            return Ok(path);
        }
        return Err(format!(
            "program `{program}` does not exist or is not an executable file (looked at {})",
            path.display()
        ));
    }
    let search_path = env.get("PATH").map(String::as_str).unwrap_or_default();
    if let Some(found) = find_on_path(program, search_path) {
        return Ok(found);
    }
    Err(format!(
        "program `{program}` was not found on the task's PATH `{search_path}`"
    ))
}

fn find_on_path(program: &str, search_path: &str) -> Option<PathBuf> {
    search_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// util-linux `prlimit`, found once on Weir's own `PATH`. Without `unsafe` there is no
/// `pre_exec` hook to call `setrlimit` in the child, so the memory limit is applied by running
/// `prlimit --as=<bytes> -- <program> <args>`, which sets `RLIMIT_AS` and then `exec`s the
/// program (same pid, same process group).
fn prlimit_path() -> Option<&'static Path> {
    static PRLIMIT: OnceLock<Option<PathBuf>> = OnceLock::new();
    PRLIMIT
        .get_or_init(|| {
            let weir_path = std::env::var("PATH").unwrap_or_default();
            let found = find_on_path("prlimit", &weir_path);
            if found.is_none() {
                tracing::warn!(
                    "`prlimit` (util-linux) is not on PATH: memory limits of local tasks are not enforced"
                );
            }
            found
        })
        .as_deref()
}

/// The argv actually spawned: `program` and the task's arguments, wrapped in `prlimit` when a
/// memory limit is asked for and `prlimit` exists. Returns whether the limit is enforced.
pub(crate) fn limited_argv(
    program: &Path,
    args: &[String],
    limits: &ResourceLimits,
) -> (Vec<String>, bool) {
    let program = program.to_string_lossy().into_owned();
    let plain = || std::iter::once(program.clone()).chain(args.iter().cloned());
    let Some(memory_bytes) = limits.memory_bytes else {
        return (plain().collect(), false);
    };
    let Some(prlimit) = prlimit_path() else {
        return (plain().collect(), false);
    };
    let wrapped = [
        prlimit.to_string_lossy().into_owned(),
        format!("--as={memory_bytes}"),
        "--".to_owned(),
    ]
    .into_iter()
    .chain(plain())
    .collect();
    (wrapped, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_path(path: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("PATH".to_owned(), path.to_owned())])
    }

    #[test]
    fn finds_sh_on_the_task_path_only() {
        let cwd = Path::new("/");
        let found = resolve_program("sh", &env_with_path("/nonexistent:/bin:/usr/bin"), cwd);
        assert!(found.is_ok_and(|path| path.ends_with("sh")));
        let missing = resolve_program("sh", &env_with_path("/nonexistent"), cwd);
        assert!(missing.is_err_and(|message| message.contains("`sh`")));
    }

    #[test]
    fn a_path_is_relative_to_the_working_directory() {
        let found = resolve_program("./sh", &BTreeMap::new(), Path::new("/bin"));
        assert_eq!(found, Ok(PathBuf::from("/bin/./sh")));
        let not_executable = resolve_program("./passwd", &BTreeMap::new(), Path::new("/etc"));
        assert!(not_executable.is_err());
    }

    #[test]
    fn empty_program_is_refused() {
        assert!(resolve_program("", &BTreeMap::new(), Path::new("/")).is_err());
    }

    #[test]
    fn no_memory_limit_means_no_wrapper() {
        let (argv, enforced) = limited_argv(
            Path::new("/bin/sh"),
            &["-c".to_owned(), "true".to_owned()],
            &ResourceLimits::default(),
        );
        assert_eq!(argv, ["/bin/sh", "-c", "true"]);
        assert!(!enforced);
    }

    #[test]
    fn memory_limit_wraps_in_prlimit_when_present() {
        let limits = ResourceLimits {
            memory_bytes: Some(1 << 30),
            cpu_cores: None,
        };
        let (argv, enforced) = limited_argv(Path::new("/bin/true"), &[], &limits);
        if prlimit_path().is_none() {
            assert_eq!(argv, ["/bin/true"]);
            return;
        }
        assert!(enforced);
        assert_eq!(argv[1..], ["--as=1073741824", "--", "/bin/true"]);
    }
}
