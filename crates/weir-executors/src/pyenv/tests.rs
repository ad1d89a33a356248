use super::*;

fn envs(interpreter: &str, version: &str) -> PythonEnvs {
    PythonEnvs {
        root: PathBuf::from("/cache"),
        interpreter: PathBuf::from(interpreter),
        interpreter_version: version.to_owned(),
    }
}

fn six(options: &[&str]) -> Requirements {
    Requirements {
        installs: vec![PipInstall {
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            specs: vec!["six==1.16.0".to_owned()],
        }],
        script_creates_venv: false,
    }
}

#[test]
fn env_key_depends_on_interpreter_and_installs_only() {
    let base = envs("/usr/bin/python3", "3.11.7");
    let key = base.env_key(&six(&[]));
    assert_eq!(key.len(), 24);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(key, base.env_key(&six(&[])));
    let own_venv = Requirements {
        script_creates_venv: true,
        ..six(&[])
    };
    assert_eq!(key, base.env_key(&own_venv));
    assert_ne!(key, base.env_key(&six(&["--no-deps"])));
    assert_ne!(key, envs("/usr/bin/python3", "3.11.8").env_key(&six(&[])));
    assert_ne!(key, envs("/opt/python3", "3.11.7").env_key(&six(&[])));
}

#[test]
fn env_key_separates_fields() {
    let base = envs("/usr/bin/python3", "3.11.7");
    let joined = Requirements {
        installs: vec![PipInstall {
            options: Vec::new(),
            specs: vec!["ab".to_owned()],
        }],
        script_creates_venv: false,
    };
    let split = Requirements {
        installs: vec![PipInstall {
            options: Vec::new(),
            specs: vec!["a".to_owned(), "b".to_owned()],
        }],
        script_creates_venv: false,
    };
    assert_ne!(base.env_key(&joined), base.env_key(&split));
}

#[test]
fn apply_puts_the_venv_first() {
    let prepared = PreparedEnv {
        bin_dir: PathBuf::from("/cache/envs/k/bin"),
        venv_dir: PathBuf::from("/cache/envs/k"),
        python_path: None,
    };
    let mut env = BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
    prepared.apply(&mut env);
    assert_eq!(env["PATH"], "/cache/envs/k/bin:/usr/bin:/bin");
    assert_eq!(env["VIRTUAL_ENV"], "/cache/envs/k");
    assert_eq!(env["PIP_DISABLE_PIP_VERSION_CHECK"], "1");
    assert!(!env.contains_key("PYTHONPATH"));

    let mut empty = BTreeMap::new();
    let with_site = PreparedEnv {
        python_path: Some(PathBuf::from("/cache/envs/k/lib/python3.11/site-packages")),
        ..prepared
    };
    with_site.apply(&mut empty);
    assert_eq!(empty["PATH"], "/cache/envs/k/bin");
    assert_eq!(
        empty["PYTHONPATH"],
        "/cache/envs/k/lib/python3.11/site-packages"
    );
}
