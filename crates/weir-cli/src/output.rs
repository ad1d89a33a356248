//! Printing the API's resources as `kfp` does: a table (its columns) or their JSON.

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use weir_client::model::{Experiment, Pipeline, PipelineVersion, RecurringRun, Run};

use crate::table::{duration, render};
use crate::OutputFormat;

/// How the resource commands print: `--output table` (or `text`) or `--output json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Table,
    Json,
}

impl Style {
    pub fn from_format(format: OutputFormat) -> Result<Style> {
        match format {
            OutputFormat::Text => Ok(Style::Table),
            OutputFormat::Json => Ok(Style::Json),
            OutputFormat::Dot => bail!("`--output dot` is for `weir inspect`; use table or json"),
        }
    }
}

/// A resource as a table row under `kfp`'s headers.
pub trait Resource: Serialize {
    const HEADER: &'static [&'static str];
    fn row(&self) -> Vec<String>;
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn time(value: &Option<DateTime<Utc>>) -> String {
    value
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn name<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl Resource for Experiment {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "CREATED AT", "STORAGE STATE"];
    fn row(&self) -> Vec<String> {
        vec![
            text(&self.experiment_id),
            text(&self.display_name),
            time(&self.created_at),
            name(&self.storage_state),
        ]
    }
}

impl Resource for Pipeline {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "CREATED AT"];
    fn row(&self) -> Vec<String> {
        vec![
            text(&self.pipeline_id),
            text(&self.display_name),
            time(&self.created_at),
        ]
    }
}

impl Resource for PipelineVersion {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "CREATED AT", "PARENT ID"];
    fn row(&self) -> Vec<String> {
        vec![
            text(&self.pipeline_version_id),
            text(&self.display_name),
            time(&self.created_at),
            text(&self.pipeline_id),
        ]
    }
}

impl Resource for Run {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "CREATED AT", "STATE", "STORAGE STATE"];
    fn row(&self) -> Vec<String> {
        vec![
            text(&self.run_id),
            text(&self.display_name),
            time(&self.created_at),
            name(&self.state),
            name(&self.storage_state),
        ]
    }
}

impl Resource for RecurringRun {
    const HEADER: &'static [&'static str] =
        &["ID", "NAME", "CREATED AT", "EXPERIMENT ID", "STATUS"];
    fn row(&self) -> Vec<String> {
        vec![
            text(&self.recurring_run_id),
            text(&self.display_name),
            time(&self.created_at),
            text(&self.experiment_id),
            name(&self.status),
        ]
    }
}

/// One resource: a one-row table, or its JSON object.
pub fn print_one<R: Resource>(resource: &R, style: Style) -> Result<()> {
    match style {
        Style::Table => print!("{}", render(R::HEADER, &[resource.row()])),
        Style::Json => println!("{}", serde_json::to_string_pretty(resource)?),
    }
    Ok(())
}

/// A page of resources: a table, or a JSON array. The next page's token goes to stderr.
pub fn print_page<R: Resource>(
    resources: &[R],
    next_page_token: Option<&str>,
    style: Style,
) -> Result<()> {
    match style {
        Style::Table => {
            let rows: Vec<Vec<String>> = resources.iter().map(Resource::row).collect();
            print!("{}", render(R::HEADER, &rows));
        }
        Style::Json => println!("{}", serde_json::to_string_pretty(resources)?),
    }
    if let Some(token) = next_page_token.filter(|t| !t.is_empty()) {
        eprintln!("more on the next page: --page-token {token}");
    }
    Ok(())
}

/// What `kfp` prints after a delete: a sentence, or the id as a JSON string.
pub fn print_deleted(kind: &str, id: &str, style: Style) -> Result<()> {
    match style {
        Style::Table => println!("{kind} {id} deleted."),
        Style::Json => println!("{}", serde_json::to_string(id)?),
    }
    Ok(())
}

/// A run in detail: its row, its error, then a line per task.
pub fn print_run(run: &Run, style: Style) -> Result<()> {
    if style == Style::Json {
        return print_one(run, style);
    }
    print_one(run, style)?;
    if let Some(message) = run.error.as_ref().and_then(|e| e.message.as_deref()) {
        println!("\nerror: {}", message.lines().next().unwrap_or_default());
    }
    let mut tasks: Vec<_> = run
        .run_details
        .iter()
        .flat_map(|details| &details.task_details)
        .collect();
    if tasks.is_empty() {
        return Ok(());
    }
    tasks.sort_by_key(|t| t.create_time);
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|task| {
            let took = match (task.start_time, task.end_time) {
                (Some(start), Some(end)) if end >= start => {
                    duration((end - start).num_milliseconds() as f64 / 1000.0)
                }
                _ => "-".to_owned(),
            };
            vec![
                text(&task.display_name),
                name(&task.state),
                time(&task.start_time),
                took,
                text(&task.task_id),
            ]
        })
        .collect();
    println!();
    print!(
        "{}",
        render(&["TASK", "STATE", "STARTED", "DURATION", "TASK ID"], &rows)
    );
    Ok(())
}
