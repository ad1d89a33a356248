//! Fixed mount paths for host-process steps (volumes, secrets, config maps, the workspace at
//! the paths a pod would see them), without leaving a trace on the host.
//!
//! The step runs in a private mount namespace (`unshare --mount`) where each folder is bound at
//! its target. A target that exists on the host is simply mounted over. One that does not exist
//! is made inside the namespace only: the deepest folder above it that exists is covered by a
//! private tmpfs that shows that folder's entries (each bound back at its name, symlinks copied)
//! plus the new mount point. When that folder is `/`, the cover cannot be mounted over the root
//! the process already resolves paths from, so the command is chrooted into the cover instead.
//! On the host, only empty folders in the step's scratch space are made (the tmpfs mount
//! points), and they go with it.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::Bind;

/// The shell functions the wrapper script uses; `$1` of `cover` is the folder to cover, `$2`
/// the empty folder where the cover is built.
const COVER_FUNCTION: &str = r#"cover() {
  mkdir -p "$2"
  mount -t tmpfs -o mode=0755 weir-cover "$2"
  chmod --reference="$1" "$2"
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n="$2/${e##*/}"
    if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$n"
    elif [ -d "$e" ]; then mkdir "$n" && mount --rbind "$e" "$n"
    else : > "$n" && mount --bind "$e" "$n"; fi
  done
}
"#;

/// Wraps a command so that it sees the mounts (see the module's documentation). Needs root.
/// `scratch` is the step's scratch folder, where the covers' mount points are made.
pub fn wrap_with_mounts(
    argv: Vec<String>,
    mounts: &[Bind],
    scratch: &Path,
) -> Result<Vec<String>, String> {
    if mounts.is_empty() {
        return Ok(argv);
    }
    let mut ordered: Vec<&Bind> = mounts.iter().collect();
    // A mount inside another one's target is made after it.
    ordered.sort_by_key(|m| Path::new(&m.target).components().count());
    let mut covers = BTreeSet::new();
    for mount in &ordered {
        check_target(&mount.target)?;
        std::fs::create_dir_all(&mount.source)
            .map_err(|e| format!("cannot create {}: {e}", mount.source.display()))?;
        if let Some(cover) = folder_to_cover(Path::new(&mount.target))? {
            covers.insert(cover);
        }
    }
    let script = script(&ordered, &covers, &scratch.join("mounts"));
    let mut wrapped: Vec<String> = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-ec",
    ]
    .map(str::to_owned)
    .to_vec();
    wrapped.push(script.text);
    wrapped.push("weir-mount".to_owned());
    wrapped.extend(script.args);
    wrapped.extend(argv);
    Ok(wrapped)
}

/// A mount path must be absolute and plain: no `.` or `..` that could lead elsewhere.
fn check_target(target: &str) -> Result<(), String> {
    let path = Path::new(target);
    let plain = path
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !path.is_absolute() || !plain {
        return Err(format!(
            "the mount path `{target}` is not an absolute path without `.` or `..`; give one such as /data"
        ));
    }
    Ok(())
}

/// The folder a missing target's mount point is made in: the deepest one above it that exists
/// (symlinks resolved). `None` when the target exists (it is mounted over).
fn folder_to_cover(target: &Path) -> Result<Option<PathBuf>, String> {
    if target.exists() {
        if !target.is_dir() {
            return Err(format!(
                "the mount path `{}` exists on this machine and is not a folder",
                target.display()
            ));
        }
        return Ok(None);
    }
    let existing = target
        .ancestors()
        .skip(1)
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    if !existing.is_dir() {
        return Err(format!(
            "the mount path `{}` is below `{}`, which is not a folder",
            target.display(),
            existing.display()
        ));
    }
    std::fs::canonicalize(existing)
        .map(Some)
        .map_err(|e| format!("cannot resolve {}: {e}", existing.display()))
}

struct Script {
    text: String,
    /// Positional arguments the text reads, so that no path is ever spliced into it.
    args: Vec<String>,
}

/// The script: cover the folders (deepest first, the root last), make the mount points, bind
/// the sources, then run the command (chrooted into the root's cover when there is one).
fn script(mounts: &[&Bind], covers: &BTreeSet<PathBuf>, work: &Path) -> Script {
    let mut text = String::from(COVER_FUNCTION);
    let mut args = Vec::new();
    let arg = |value: String, args: &mut Vec<String>| {
        args.push(value);
        format!("\"${{{}}}\"", args.len())
    };
    let root = Path::new("/");
    let mut deepest_first: Vec<&PathBuf> = covers.iter().filter(|c| *c != root).collect();
    deepest_first.sort_by_key(|c| std::cmp::Reverse(c.components().count()));
    for (index, folder) in deepest_first.into_iter().enumerate() {
        let folder = arg(folder.display().to_string(), &mut args);
        let built = arg(
            work.join(format!("cover-{index}")).display().to_string(),
            &mut args,
        );
        text.push_str(&format!(
            "cover {folder} {built}\nmount --move {built} {folder}\n"
        ));
    }
    let new_root = covers
        .contains(root)
        .then(|| work.join("cover-root").display().to_string());
    let prefix = match &new_root {
        Some(new_root) => {
            let new_root = arg(new_root.clone(), &mut args);
            text.push_str(&format!("cover / {new_root}\nR={new_root}\n"));
            "$R"
        }
        None => "",
    };
    for mount in mounts {
        let source = arg(mount.source.display().to_string(), &mut args);
        let target = arg(mount.target.clone(), &mut args);
        text.push_str(&format!(
            "mkdir -p {prefix}{target}\nmount --bind {source} {prefix}{target}\n"
        ));
    }
    let count = args.len();
    text.push_str(&format!("shift {count}\n"));
    if new_root.is_some() {
        text.push_str("exec chroot \"$R\" sh -c 'cd \"$1\" && shift && exec \"$@\"' weir-chroot \"$PWD\" \"$@\"\n");
    } else {
        text.push_str("exec \"$@\"\n");
    }
    Script { text, args }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_plain_absolute_paths() {
        assert!(check_target("/data").is_ok());
        for bad in ["data", "/data/../etc", "../data", ""] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_target_covers_the_deepest_existing_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let target = base.join("a/b/c");
        assert_eq!(folder_to_cover(&target), Ok(Some(base.clone())));
        std::fs::create_dir_all(base.join("a")).expect("a");
        assert_eq!(folder_to_cover(&target), Ok(Some(base.join("a"))));
        assert_eq!(folder_to_cover(&base.join("a")), Ok(None));
        std::fs::write(base.join("file"), "x").expect("file");
        assert!(folder_to_cover(&base.join("file")).is_err());
        assert!(folder_to_cover(&base.join("file/below")).is_err());
    }
}
