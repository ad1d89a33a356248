use super::*;

const KFP_PREAMBLE: &str = "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'six==1.16.0'  &&  python3 -m pip install --quiet --no-warn-script-location 'kfp==2.17.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n";

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

fn install(options: &[&str], specs: &[&str]) -> PipInstall {
    PipInstall {
        options: argv(options),
        specs: argv(specs),
    }
}

#[test]
fn reads_the_kfp_preamble() {
    let command = argv(&[
        "sh",
        "-c",
        KFP_PREAMBLE,
        "sh",
        "-ec",
        "python3 -m kfp.dsl.executor_main",
    ]);
    assert_eq!(
        requirements(&command),
        Some(Requirements {
            installs: vec![
                install(&[], &["six==1.16.0"]),
                install(
                    &["--no-deps"],
                    &[
                        "kfp==2.17.3",
                        "typing-extensions>=3.7.4,<5; python_version<\"3.9\""
                    ]
                ),
            ],
            script_creates_venv: false,
        })
    );
}

#[test]
fn nothing_to_install() {
    assert_eq!(requirements(&argv(&["echo", "pip install six"])), None);
    assert_eq!(requirements(&argv(&["sh", "-c", "echo hello"])), None);
    assert_eq!(
        requirements(&argv(&["sh", "-c", "pip install --upgrade"])),
        None
    );
    assert_eq!(requirements(&[]), None);
}

#[test]
fn program_and_flag_variants() {
    for command in [
        argv(&["/bin/sh", "-c", "pip install six"]),
        argv(&["bash", "-ec", "pip3 install six"]),
        argv(&["sh", "-xc", "/usr/bin/python3.11 -m pip install six"]),
        argv(&["sh", "-c", "if true; then python -m pip install six; fi"]),
        argv(&["python3", "main.py", "sh", "-c", "X=1 Y=2 pip install six"]),
    ] {
        assert_eq!(
            requirements(&command).map(|found| found.installs),
            Some(vec![install(&[], &["six"])]),
            "{command:?}"
        );
    }
}

#[test]
fn keeps_options_that_change_what_is_installed() {
    let command = argv(&[
        "sh",
        "-c",
        "pip install -q --progress-bar off --index-url https://example.org/simple \
         --extra-index-url=https://mirror.example.org/simple --trusted-host example.org -U six",
    ]);
    assert_eq!(
        requirements(&command).map(|found| found.installs),
        Some(vec![install(
            &[
                "--index-url",
                "https://example.org/simple",
                "--extra-index-url=https://mirror.example.org/simple",
                "--trusted-host",
                "example.org",
                "-U",
            ],
            &["six"]
        )])
    );
}

#[test]
fn refuses_what_a_cached_env_cannot_reproduce() {
    for script in [
        "pip install -r requirements.txt",
        "pip install --user six",
        "pip install ./local_package",
        "pip install \"$PACKAGE\"",
        "pip install six > /dev/null",
        "pip install 'six",
    ] {
        assert_eq!(requirements(&argv(&["sh", "-c", script])), None, "{script}");
    }
}

#[test]
fn stops_at_the_commands_own_venv() {
    let script = "pip install yapf && python3 -m venv \"$tmp/venv\" --system-site-packages\n\
                  . \"$tmp/venv/bin/activate\"\npip install kfp==2.14.3";
    assert_eq!(
        requirements(&argv(&["sh", "-c", script])),
        Some(Requirements {
            installs: vec![install(&[], &["yapf"])],
            script_creates_venv: true,
        })
    );
}

#[test]
fn recognises_assignments() {
    assert!(is_assignment("PIP_DISABLE_PIP_VERSION_CHECK=1"));
    assert!(is_assignment("_x="));
    assert!(!is_assignment("--index-url=x"));
    assert!(!is_assignment("1x=2"));
    assert!(!is_assignment("pip"));
}
