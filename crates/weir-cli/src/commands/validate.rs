//! `weir validate FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use weir_spec::{Diagnostic, Severity};

use crate::input::check_file;
use crate::OutputFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pipeline files: compiled KFP IR (YAML or JSON) or KFP v1 component.yaml.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// `text` or `json`.
    #[arg(long, short, value_enum, default_value = "text")]
    output: OutputFormat,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<Diagnostic>,
}

/// Exit 0 when every file is valid, 1 when any has an error, 2 on usage or I/O errors.
pub fn run(args: &Args) -> Result<ExitCode> {
    if args.output == OutputFormat::Dot {
        anyhow::bail!("`--output dot` is for `weir inspect`; validate prints text or json");
    }
    let mut reports = Vec::new();
    for file in &args.files {
        let parsed = check_file(file)?;
        let errors = parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        reports.push(FileReport {
            file: file.display().to_string(),
            valid: errors == 0,
            errors,
            warnings: parsed.diagnostics.len() - errors,
            diagnostics: parsed.diagnostics,
        });
    }
    match args.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "files": reports }))?
        ),
        _ => print_text(&reports),
    }
    let all_valid = reports.iter().all(|r| r.valid);
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(reports: &[FileReport]) {
    for report in reports {
        for diagnostic in &report.diagnostics {
            println!("{}: {diagnostic}", report.file);
        }
        let verdict = if report.valid { "valid" } else { "invalid" };
        println!(
            "{}: {verdict} ({} errors, {} warnings)",
            report.file, report.errors, report.warnings
        );
    }
}
