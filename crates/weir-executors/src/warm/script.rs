//! Recognizing the command that the KFP SDK compiles for a lightweight Python component (after
//! its `pip install` preamble, which Weir skips when the environment is prepared):
//!
//! ```text
//! sh -ec 'program_path=$(mktemp -d)
//!
//! printf "%s" "$0" > "$program_path/ephemeral_component.py"
//! _KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path "$program_path/ephemeral_component.py" "$@"
//! ' <program source> <args...>
//! ```
//!
//! Only this exact script is recognized (whitespace within and between its three lines aside):
//! anything else runs as written.

/// A recognized KFP lightweight component command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KfpProgram<'a> {
    /// The module run with `python3 -m` (`kfp.dsl.executor_main`).
    pub module: &'a str,
    /// The component's source, written to `ephemeral_component.py`.
    pub source: &'a str,
    /// The arguments after `--component_module_path <file>`.
    pub args: &'a [String],
}

const FIRST_LINE: &str = "program_path=$(mktemp -d)";
const SECOND_LINE: &str = r#"printf "%s" "$0" > "$program_path/ephemeral_component.py""#;
const RUN_PREFIX: &str = "_KFP_RUNTIME=true python3 -m ";
const RUN_SUFFIX: &str = r#" --component_module_path "$program_path/ephemeral_component.py" "$@""#;

/// Recognizes `argv` as a KFP lightweight component command.
pub fn kfp_program(argv: &[String]) -> Option<KfpProgram<'_>> {
    let [shell, flags, script, source, args @ ..] = argv else {
        return None;
    };
    if shell != "sh" || flags != "-ec" {
        return None;
    }
    let lines = script_lines(script);
    let [first, second, run] = lines.as_slice() else {
        return None;
    };
    if first != FIRST_LINE || second != SECOND_LINE {
        return None;
    }
    let module_start = script.find(RUN_PREFIX)? + RUN_PREFIX.len();
    let module = script.get(module_start..)?.split_whitespace().next()?;
    let valid_module = !module.is_empty()
        && module.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !valid_module || *run != format!("{RUN_PREFIX}{module}{RUN_SUFFIX}") {
        return None;
    }
    Some(KfpProgram {
        module,
        source,
        args,
    })
}

/// The script's logical lines (backslash-newline joins lines, as `sh` does outside quotes; the
/// recognized script has no quoted newlines), each with runs of blanks made one space; empty
/// lines dropped.
fn script_lines(script: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script as kfp 2.17 writes it (its lines end in backslashes that Python joins).
    const SCRIPT: &str = "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main                         --component_module_path                         \"$program_path/ephemeral_component.py\"                         \"$@\"\n";

    fn argv(script: &str) -> Vec<String> {
        [
            "sh",
            "-ec",
            script,
            "def f(): pass\n",
            "--executor_input",
            "{}",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn recognizes_the_compiled_command() {
        let argv = argv(SCRIPT);
        let program = kfp_program(&argv).expect("recognized");
        assert_eq!(program.module, "kfp.dsl.executor_main");
        assert_eq!(program.source, "def f(): pass\n");
        assert_eq!(program.args, ["--executor_input", "{}"]);
        let continued = SCRIPT.replace("executor_main ", "executor_main \\\n");
        assert!(kfp_program(&self::argv(&continued)).is_some());
    }

    #[test]
    fn anything_else_runs_as_written() {
        let changed = [
            SCRIPT.replace("mktemp -d", "mktemp"),
            SCRIPT.replace("python3 -m", "python3 -X dev -m"),
            SCRIPT.replace("\"$@\"", "\"$@\" --extra"),
            SCRIPT.replace("executor_main", "executor_main; rm -rf x"),
            SCRIPT.replace("executor_main", ""),
            format!("{SCRIPT}echo done\n"),
            SCRIPT.replace("\n\nprintf", " printf"),
        ];
        for script in &changed {
            assert_eq!(kfp_program(&argv(script)), None, "{script}");
        }
        let mut other_shell = argv(SCRIPT);
        other_shell[1] = "-c".to_owned();
        assert_eq!(kfp_program(&other_shell), None);
        assert_eq!(kfp_program(&argv(SCRIPT)[..3]), None);
    }
}
