//! A source that takes exports of a system of record (`adapter = "directory-import"`): each
//! input (a file dropped in a watched folder, or a request body) is read whole through its
//! import mapping into directory changes. An export is applied whole or refused whole: a row
//! with an error, or a change the estate refuses (an unknown zone or site), refuses every
//! row, each row a dead letter naming why.

use seam_adapters::{Batch, ParseContext, Rejected};
use seam_directory::import::{ImportMapping, ImportOptions};
use seam_estate::{DirectoryChange, Estate};
use seam_model::{Activity, DirectoryDelta, Event, EventClass};

/// The most of a row kept in its dead letter.
const RAW_BYTES: usize = 1_024;

pub(crate) fn parse(
    mapping: &ImportMapping,
    estate: &Estate,
    input: &[u8],
    ctx: &ParseContext,
) -> Batch {
    let mut batch = Batch::default();
    let Ok(text) = std::str::from_utf8(input) else {
        batch
            .rejected
            .push(rejected(1, input, "the export is not UTF-8".into()));
        return batch;
    };
    let outcome =
        match seam_directory::import::import(mapping, text, &ImportOptions::at(ctx.observed)) {
            Ok(outcome) => outcome,
            Err(error) => {
                batch.rejected.push(rejected(
                    1,
                    input,
                    format!("the export is refused: {error}"),
                ));
                return batch;
            }
        };
    let line_of = |line: usize| -> &[u8] {
        text.lines()
            .nth(line.saturating_sub(1))
            .map_or(&[][..], str::as_bytes)
    };
    // Every change tried on a copy of the estate: places and identifiers must check.
    let mut problems: Vec<(usize, String)> = outcome
        .errors
        .iter()
        .map(|error| (error.line, error.to_string()))
        .collect();
    if problems.is_empty() {
        let mut scratch = estate.clone();
        for (delta, line) in outcome.deltas.iter().zip(&outcome.lines) {
            let change = DirectoryChange {
                at: ctx.observed,
                source: &ctx.source,
                delta,
            };
            if let Err(error) = scratch.apply_directory(change) {
                problems.push((*line, format!("{line}: {error}")));
            }
        }
    }
    for skip in &outcome.skipped {
        *batch.skip_reasons.entry(skip.reason.clone()).or_default() += 1;
        batch.skipped += 1;
    }
    if !problems.is_empty() {
        let first = problems.first().map_or(0, |(line, _)| *line);
        for (line, reason) in &problems {
            batch
                .rejected
                .push(rejected(*line, line_of(*line), reason.clone()));
        }
        for line in &outcome.lines {
            if problems.iter().all(|(bad, _)| bad != line) {
                batch.rejected.push(rejected(
                    *line,
                    line_of(*line),
                    format!("not applied: the export is refused whole (line {first})"),
                ));
            }
        }
        batch.rejected.sort_by_key(|r| r.index);
        return batch;
    }
    let digest = digest(input);
    batch.events = outcome
        .deltas
        .into_iter()
        .enumerate()
        .map(|(index, delta)| event(ctx, &digest, index, delta))
        .collect();
    batch
}

fn rejected(index: usize, raw: &[u8], reason: String) -> Rejected {
    Rejected {
        index,
        reason,
        raw: raw.get(..RAW_BYTES).unwrap_or(raw).to_vec(),
    }
}

/// The export's digest: the same export read twice (a crash before the file moved) stores
/// its changes once.
fn digest(input: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(input)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn event(ctx: &ParseContext, digest: &str, index: usize, delta: DirectoryDelta) -> Event {
    let activity = match delta.status.as_deref() {
        Some("terminated") => Activity::PersonDeleted,
        Some("suspended") => Activity::PersonDisabled,
        _ => Activity::PersonUpdated,
    };
    let uid = format!("{}-{digest}-{index}", ctx.source);
    let mut event = Event::new(
        uid,
        ctx.observed,
        ctx.source.clone(),
        EventClass::Directory,
        activity,
    );
    event.observed = Some(ctx.observed);
    event.directory = Some(Box::new(delta));
    event
}
