//! `seam serve` and `seam bench ingest`: the long-running service and its load generator.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::CliError;

/// Settings of `seam serve`; the same settings can come from `--config FILE`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with every setting (flags override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The estate folder (default: the built-in example estate).
    #[arg(long)]
    pub estate: Option<PathBuf>,
    /// Where events, findings and snapshots are kept.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The HTTP listen address.
    #[arg(long)]
    pub http: Option<String>,
}

/// Settings of `seam bench ingest`.
#[derive(Debug, clap::Args)]
pub struct BenchIngestArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: &ServeArgs) -> Result<ExitCode, CliError> {
    Err(CliError::Failed("seam serve is not built yet".into()))
}

pub fn bench_ingest(_args: &BenchIngestArgs) -> Result<ExitCode, CliError> {
    Err(CliError::Failed(
        "seam bench ingest is not built yet".into(),
    ))
}
