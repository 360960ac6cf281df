//! `seam report`: the leadership report over a period, from a store (with the service
//! stopped, or a PostgreSQL store read beside it), as HTML, JSON or CSV.

use std::path::PathBuf;

use crate::error::CliError;
use crate::stores::StoreLocation;

pub(crate) struct ReportArgs {
    pub data_dir: PathBuf,
    pub store: Option<String>,
    pub estate: Option<PathBuf>,
    pub procedures: Option<PathBuf>,
    pub from: String,
    pub to: String,
    pub format: String,
    pub out: Option<PathBuf>,
}

pub(crate) fn run(args: &ReportArgs) -> Result<(), CliError> {
    let failed = |message: String| CliError::Failed(message);
    let from = seam_serve::report_time("--from", &args.from).map_err(failed)?;
    let to = seam_serve::report_time("--to", &args.to).map_err(failed)?;
    if to <= from {
        return Err(failed("--to must be after --from".into()));
    }
    let procedures = match &args.procedures {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| failed(format!("{}: {e}", file.display())))?;
            seam_cases::Procedures::parse(&text)
                .map_err(|e| failed(format!("{}: {e}", file.display())))?
        }
        None => seam_cases::Procedures::default(),
    };
    let estate = crate::load::estate(args.estate.as_deref())?;
    let location = StoreLocation::from_args(Some(args.data_dir.clone()), args.store.clone())?
        .ok_or_else(|| failed("name the store: --data-dir DIR".into()))?;
    let store = crate::cases::open_workspace(&location)?;
    let gathered =
        seam_serve::reports::gather(&*store, &estate, &procedures, from, to, crate::wall_clock())
            .map_err(|e| CliError::Store(e.to_string()))?;
    if gathered.events_cut {
        eprintln!(
            "seam report: the log holds more than {} events; hygiene and space use rest on the first ones",
            seam_serve::reports::MAX_REPORT_EVENTS
        );
    }
    let report = seam_cases::report::build(&gathered.input);
    let text = match args.format.as_str() {
        "json" => seam_cases::report::to_json(&report),
        "csv" => seam_cases::report::to_csv(&report),
        _ => seam_cases::report::to_html(&report),
    };
    crate::stores::record(
        &args.data_dir,
        args.store.as_deref(),
        seam_audit::AuditEntry::new("cli", seam_audit::AuditAction::PersonRead)
            .detail(serde_json::json!({"what": "report", "from": from, "to": to,
                               "findings": gathered.input.findings.len()})),
    )?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| failed(format!("{}: {e}", path.display())))?
        }
        None => say_inline!("{text}"),
    }
    Ok(())
}
