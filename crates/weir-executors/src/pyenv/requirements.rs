//! Reading the `pip install` preamble that the KFP SDK compiles into a Python component's
//! command, e.g. (after `sh -c`):
//!
//! ```text
//! PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'six==1.16.0'  &&
//!   python3 -m pip install --quiet --no-warn-script-location 'kfp==2.17.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<"3.9"' && "$0" "$@"
//! ```

use super::shell::{self, Word};

/// The packages a task's command installs, in the order it installs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    /// Each `pip install` the command runs before it creates a venv of its own.
    pub installs: Vec<PipInstall>,
    /// The command creates its own venv (KFP's `use_venv=True`) after `installs`, with
    /// `--system-site-packages`; the installs after that point are left to the command.
    pub script_creates_venv: bool,
}

/// One `pip install` invocation, unquoted as `sh` would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipInstall {
    /// Options that change what is installed (`--no-deps`, `--index-url URL`,
    /// `--trusted-host HOST`, ...), each option followed by its value when it takes one. Options
    /// that only change pip's output (`--quiet`, `--no-warn-script-location`, ...) are dropped.
    pub options: Vec<String>,
    /// Requirement specifiers, e.g. `kfp==2.14.3` or `typing-extensions>=3.7.4,<5; python_version<"3.9"`.
    pub specs: Vec<String>,
}

/// Options that only change pip's output or prompts, with whether they take a value.
const OUTPUT_ONLY_OPTIONS: [(&str, bool); 10] = [
    ("--quiet", false),
    ("-q", false),
    ("-qq", false),
    ("-qqq", false),
    ("--verbose", false),
    ("-v", false),
    ("--no-warn-script-location", false),
    ("--disable-pip-version-check", false),
    ("--no-color", false),
    ("--progress-bar", true),
];

/// Options whose value is the next word (unless given as `--option=value`).
const OPTIONS_WITH_VALUE: [&str; 20] = [
    "-i",
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "-f",
    "--find-links",
    "--no-binary",
    "--only-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--upgrade-strategy",
    "--timeout",
    "--retries",
    "--proxy",
    "--cert",
    "--client-cert",
    "--config-settings",
    "--global-option",
];

/// Options a shared, cached venv cannot reproduce: files of the task, or another install
/// location.
const UNSUPPORTED_OPTIONS: [&str; 13] = [
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--user",
    "--src",
    "--report",
];

/// Leading words of a simple command that are not its program.
const RESERVED_WORDS: [&str; 9] = [
    "if", "then", "else", "elif", "do", "while", "until", "!", "{",
];

/// The shell programs whose `-c` script is read.
const SHELLS: [&str; 4] = ["sh", "bash", "dash", "ash"];

/// Scans a task's argv (command then args) for `pip install` lines in `sh -c` scripts. `None`
/// when there is nothing to install, or when an install cannot be reproduced in a cached env
/// (a word with an expansion or redirection, requirement or constraint files, local paths,
/// `--user`/`--target`/`--prefix`): the command then runs as it is.
pub(crate) fn requirements(argv: &[String]) -> Option<Requirements> {
    let mut found = Requirements {
        installs: Vec::new(),
        script_creates_venv: false,
    };
    for script in shell_scripts(argv) {
        let commands = shell::simple_commands(script).ok()?;
        for words in &commands {
            match classify(words) {
                Command::PipInstall(args) => {
                    if let Some(install) = parse_pip_install(args)? {
                        found.installs.push(install);
                    }
                }
                Command::CreatesVenv => {
                    found.script_creates_venv = true;
                    break;
                }
                Command::Other => {}
            }
        }
        if found.script_creates_venv {
            break;
        }
    }
    (!found.installs.is_empty()).then_some(found)
}

/// The scripts of `sh -c SCRIPT` (or `-ec`, `-xc`, ...) anywhere in `argv`.
fn shell_scripts(argv: &[String]) -> impl Iterator<Item = &str> {
    argv.windows(3).filter_map(|window| {
        let [program, flags, script] = window else {
            return None;
        };
        let program_name = program.rsplit('/').next().unwrap_or(program);
        let is_command_flag = flags.starts_with('-')
            && !flags.starts_with("--")
            && flags.contains('c')
            && flags.chars().skip(1).all(|c| c.is_ascii_alphabetic());
        (SHELLS.contains(&program_name) && is_command_flag).then_some(script.as_str())
    })
}

enum Command<'a> {
    PipInstall(&'a [Word]),
    CreatesVenv,
    Other,
}

fn classify(words: &[Word]) -> Command<'_> {
    let program_position = words.iter().position(|word| {
        !RESERVED_WORDS.contains(&word.text.as_str()) && !is_assignment(&word.text)
    });
    let Some(rest) = program_position.and_then(|position| words.get(position..)) else {
        return Command::Other;
    };
    let texts: Vec<&str> = rest.iter().take(4).map(|word| word.text.as_str()).collect();
    let program_name = texts
        .first()
        .map_or("", |program| program.rsplit('/').next().unwrap_or(program));
    match texts.as_slice() {
        [_, "-m", "pip", "install", ..] if is_python(program_name) => {
            Command::PipInstall(rest.get(4..).unwrap_or_default())
        }
        [_, "install", ..] if is_pip(program_name) => {
            Command::PipInstall(rest.get(2..).unwrap_or_default())
        }
        [_, "-m", "venv" | "virtualenv", ..] if is_python(program_name) => Command::CreatesVenv,
        ["virtualenv", ..] => Command::CreatesVenv,
        _ => Command::Other,
    }
}

fn is_assignment(word: &str) -> bool {
    let Some((name, _value)) = word.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `python`, `python3`, `python3.11`.
fn is_python(program_name: &str) -> bool {
    program_name
        .strip_prefix("python")
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// `pip`, `pip3`, `pip3.11`.
fn is_pip(program_name: &str) -> bool {
    program_name
        .strip_prefix("pip")
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// `Some(None)`: an install of nothing (only options). `None`: not reproducible.
fn parse_pip_install(args: &[Word]) -> Option<Option<PipInstall>> {
    if args.iter().any(|word| word.is_dynamic) {
        return None;
    }
    let mut install = PipInstall {
        options: Vec::new(),
        specs: Vec::new(),
    };
    let mut words = args.iter().map(|word| word.text.as_str());
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            if is_local_path(word) {
                return None;
            }
            install.specs.push(word.to_owned());
            continue;
        }
        let name = word.split_once('=').map_or(word, |(name, _value)| name);
        let has_inline_value = name.len() < word.len();
        if UNSUPPORTED_OPTIONS.contains(&name) {
            return None;
        }
        if let Some(&(_, takes_value)) =
            OUTPUT_ONLY_OPTIONS.iter().find(|(known, _)| *known == name)
        {
            if takes_value && !has_inline_value {
                words.next();
            }
            continue;
        }
        install.options.push(word.to_owned());
        if OPTIONS_WITH_VALUE.contains(&name) && !has_inline_value {
            install.options.push(words.next()?.to_owned());
        }
    }
    Some((!install.specs.is_empty()).then_some(install))
}

fn is_local_path(spec: &str) -> bool {
    spec.starts_with(['.', '/', '~']) || spec.starts_with("file:") || spec.contains(" @ file:")
}

#[cfg(test)]
mod tests;
