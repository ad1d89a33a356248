//! Reading spec files with the size limit applied before the bytes are read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use weir_spec::parse::{too_large, MAX_INPUT_BYTES};
use weir_spec::{Code, Diagnostic, Parsed};

/// Reads and checks one spec file. I/O failures are errors; problems with the content are
/// diagnostics in the result.
pub fn check_file(path: &Path) -> Result<Parsed> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit so an oversized file is detected without reading all of it.
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read {}", path.display()))?;
    if bytes.len() > MAX_INPUT_BYTES {
        let len = std::fs::metadata(path).map_or(bytes.len(), |m| m.len() as usize);
        return Ok(failed(too_large(len)));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            return Ok(failed(
                Diagnostic::error(
                    Code::SyntaxError,
                    "",
                    format!("the file is not UTF-8 text (invalid byte at offset {offset})"),
                )
                .with_hint("pipeline specs are YAML or JSON text in UTF-8"),
            ));
        }
    };
    Ok(weir_spec::check(&text))
}

fn failed(diagnostic: Diagnostic) -> Parsed {
    Parsed {
        document: None,
        diagnostics: vec![diagnostic],
    }
}
