//! `weir inspect FILE`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use weir_spec::outline::outline;

use crate::input::check_file;
use crate::OutputFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pipeline file: compiled KFP IR (YAML or JSON) or a KFP v1 component.yaml.
    file: PathBuf,
    /// `text` (a tree), `json` or `dot` (Graphviz).
    #[arg(long, short, value_enum, default_value = "text")]
    output: OutputFormat,
}

/// Prints the outline; exits 1 when the file cannot be read as a pipeline at all.
pub fn run(args: &Args) -> Result<ExitCode> {
    let parsed = check_file(&args.file)?;
    let Some(document) = &parsed.document else {
        for diagnostic in &parsed.diagnostics {
            eprintln!("{}: {diagnostic}", args.file.display());
        }
        return Ok(ExitCode::from(1));
    };
    for diagnostic in parsed.diagnostics.iter().filter(|d| d.is_error()) {
        eprintln!("{}: {diagnostic}", args.file.display());
    }
    let outline = outline(document);
    match args.output {
        OutputFormat::Text => print!("{}", outline.to_text()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outline)?),
        OutputFormat::Dot => print!("{}", outline.to_dot()),
    }
    Ok(ExitCode::SUCCESS)
}
