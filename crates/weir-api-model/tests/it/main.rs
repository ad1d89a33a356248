//! Integration tests of weir-api-model: the types against KFP's swagger, the wire format, and
//! the list query parameters.

mod query;
mod robustness;
mod samples;
mod swagger;
mod wire_format;

use std::path::{Path, PathBuf};

/// `shared/kfp-api/v2beta1.swagger.json`, next to the repository.
pub fn swagger_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kfp-api/v2beta1.swagger.json")
}
