//! Integration tests of weir-spec: the KFP corpus, the broken fixtures, and hostile input.

mod corpus;
mod fixtures;
mod json_text;
mod robustness;

use std::path::{Path, PathBuf};

/// `shared/kfp-conformance`, next to the repository (or `WEIR_CONFORMANCE_DIR`).
pub fn conformance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kfp-conformance")
}

/// Every `.yaml` file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
