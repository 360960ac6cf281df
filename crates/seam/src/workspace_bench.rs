//! `seam bench workspace` and `seam bench timeline`: what triage and cases cost at scale.
//!
//! - workspace: a store filled with `--findings` findings (5,000 people, 200 zones on four
//!   sites, 40 rules, each triaged and grouped as it is stored), then pages of 50 under every
//!   filter, the filters taken in turn round after round (interleaved, so a noisy moment hits
//!   them all alike); p50, p99 and the worst per filter.
//! - timeline: a case over `--people` people of an existing store (from `seam sim` and
//!   `seam replay`) and `--days` days: its events read and merged with its findings, p50 and
//!   p99 over rounds.

use std::path::PathBuf;
use std::time::Instant;

use seam_cases::Grouping;
use seam_store::workspace::{Cursor, FindingQuery, SuppressedFilter, WorkspaceSettings};
use seam_store::{StoredFinding, Ts};

use crate::error::CliError;
use crate::stores::StoreLocation;

const START_MS: i64 = 1_772_442_900_000;
const BATCH: usize = 1_000;

/// A finding of about 600 bytes, one every 500 ms; 5,000 people, 200 zones on 4 sites.
fn finding(number: usize) -> StoredFinding {
    let uid = format!("f-{number:012}");
    let rule = format!("seam.rule-{}", number % 40);
    let person = format!("p-{:05}", number % 5_000);
    let zone = format!("site{}-zone{}", number % 4, number % 200);
    let time = START_MS + i64::try_from(number).unwrap_or(0) * 500;
    let json = serde_json::json!({
        "time": time,
        "severity_id": 1 + number % 5,
        "severity": "x",
        "message": format!("{rule} raised for {person} in {zone}"),
        "finding_info": {"uid": uid, "title": format!("Title of {rule}"),
                         "analytic": {"uid": rule}, "related_events": [{"uid": format!("e-{uid}")}]},
        "evidences": [{"data": {"zone.id": zone, "person.uid": person}}],
        "unmapped": {"rule_kind": "detection", "count": 1},
    });
    StoredFinding {
        uid,
        rule,
        time: Ts(time),
        person: Some(person),
        severity: "x".into(),
        json: json.to_string(),
    }
}

fn store_error(error: seam_store::StoreError) -> CliError {
    CliError::Store(error.to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

pub(crate) struct WorkspaceArgs {
    pub findings: usize,
    pub store: Option<String>,
    pub data_dir: PathBuf,
    pub rounds: usize,
    pub json: bool,
}

pub(crate) fn workspace(args: &WorkspaceArgs) -> Result<(), CliError> {
    let scratch_db;
    let location = match &args.store {
        Some(url) => {
            scratch_db = seam_postgres::ScratchDatabase::create(url, "seam_bench_workspace")
                .map_err(|e| CliError::Failed(format!("a scratch database on {url}: {e}")))?;
            StoreLocation::Postgres(scratch_db.url().to_string())
        }
        // Filled once and kept: a second run measures at once (and tops it up to
        // `--findings`).
        None => StoreLocation::Directory(args.data_dir.clone()),
    };
    let mut store = crate::cases::open_workspace(&location)?;
    store.configure_workspace(WorkspaceSettings {
        grouping: Grouping::new(10 * 60_000).unwrap_or_default(),
        site_of: Some(std::sync::Arc::new(|facts: &seam_cases::FindingFacts| {
            facts
                .zone
                .as_deref()
                .and_then(|zone| zone.split_once('-'))
                .map(|(site, _)| site.to_owned())
        })),
    });
    let held = store.counts().map_err(store_error)?.findings;
    let started = Instant::now();
    let mut number = usize::try_from(held).unwrap_or(usize::MAX);
    while number < args.findings {
        let batch: Vec<StoredFinding> = (number..args.findings.min(number + BATCH))
            .map(finding)
            .collect();
        store.append_findings(&batch).map_err(store_error)?;
        store.commit().map_err(store_error)?;
        number += batch.len();
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    let count = args.findings;
    let middle = finding(count / 2);
    let alert = store
        .triaged(&middle.uid)
        .map_err(store_error)?
        .map(|f| f.alert)
        .unwrap_or_default();
    let page = |query: FindingQuery| FindingQuery { limit: 50, ..query };
    let queries: Vec<(&str, FindingQuery)> = vec![
        ("newest", page(FindingQuery::default())),
        (
            "status new",
            page(FindingQuery {
                status: Some(seam_cases::TriageStatus::New),
                ..FindingQuery::default()
            }),
        ),
        (
            "rule",
            page(FindingQuery {
                rule: Some("seam.rule-7".into()),
                ..FindingQuery::default()
            }),
        ),
        (
            "person",
            page(FindingQuery {
                person: Some("p-00042".into()),
                ..FindingQuery::default()
            }),
        ),
        (
            "zone",
            page(FindingQuery {
                zone: Some("site1-zone17".into()),
                ..FindingQuery::default()
            }),
        ),
        (
            "site scope",
            page(FindingQuery {
                sites: Some(vec!["site2".into(), "site3".into()]),
                ..FindingQuery::default()
            }),
        ),
        (
            "alert",
            page(FindingQuery {
                alert: Some(alert),
                ..FindingQuery::default()
            }),
        ),
        (
            "severity critical",
            page(FindingQuery {
                min_severity: Some(5),
                ..FindingQuery::default()
            }),
        ),
        (
            "one hour",
            page(FindingQuery {
                since: Some(middle.time),
                until: Some(Ts(middle.time.millis() + 3_600_000)),
                ..FindingQuery::default()
            }),
        ),
        (
            "page at the middle",
            page(FindingQuery {
                after: Some(Cursor {
                    time: middle.time,
                    uid: middle.uid.clone(),
                }),
                ..FindingQuery::default()
            }),
        ),
        (
            "person, zone, suppressed too",
            page(FindingQuery {
                person: Some("p-00042".into()),
                zone: Some("site2-zone42".into()),
                suppressed: SuppressedFilter::Include,
                ..FindingQuery::default()
            }),
        ),
        (
            "free text (common words)",
            page(FindingQuery {
                text: Some("rule-7 raised".into()),
                ..FindingQuery::default()
            }),
        ),
        // The worst case: a word in no finding reads every row's text.
        (
            "free text (no match)",
            page(FindingQuery {
                text: Some("no-such-word".into()),
                ..FindingQuery::default()
            }),
        ),
        (
            "free text (no match) in one hour",
            page(FindingQuery {
                text: Some("no-such-word".into()),
                since: Some(middle.time),
                until: Some(Ts(middle.time.millis() + 3_600_000)),
                ..FindingQuery::default()
            }),
        ),
    ];
    let mut timings: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    let mut found = vec![0usize; queries.len()];
    for (_, query) in &queries {
        store.list_findings(query).map_err(store_error)?;
    }
    for _ in 0..args.rounds.max(1) {
        for (index, (_, query)) in queries.iter().enumerate() {
            let started = Instant::now();
            let page = store.list_findings(query).map_err(store_error)?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if let (Some(slot), Some(count)) = (timings.get_mut(index), found.get_mut(index)) {
                slot.push(ms);
                *count = page.findings.len();
            }
        }
    }
    let mut rows = Vec::new();
    for (((name, _), mut times), found) in queries.iter().zip(timings).zip(found) {
        times.sort_by(f64::total_cmp);
        rows.push(serde_json::json!({
            "filter": name,
            "found": found,
            "p50_ms": percentile(&times, 0.50),
            "p99_ms": percentile(&times, 0.99),
            "max_ms": times.last().copied().unwrap_or(0.0),
        }));
    }
    let store_kind = if args.store.is_some() {
        "postgres"
    } else {
        "embedded"
    };
    let report = serde_json::json!({
        "store": store_kind,
        "findings": count,
        "filled_in_s": fill_seconds,
        "rounds": args.rounds,
        "filters": rows.clone(),
    });
    if args.json {
        say!("{report}");
    } else {
        say!(
            "{store_kind} store, {count} findings ({fill_seconds:.0} s to store and triage new ones), {} rounds",
            args.rounds
        );
        for row in &rows {
            let number = |key: &str| {
                row.get(key)
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(0.0)
            };
            say!(
                "{:>34}: {:>2} found  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
                row.get("filter")
                    .and_then(|f| f.as_str())
                    .unwrap_or_default(),
                number("found"),
                number("p50_ms"),
                number("p99_ms"),
                number("max_ms")
            );
        }
    }
    Ok(())
}

pub(crate) struct TimelineArgs {
    pub data_dir: PathBuf,
    pub store: Option<String>,
    pub people: usize,
    pub days: i64,
    pub rounds: usize,
    pub json: bool,
}

/// A case over `people` people (the ones with the most findings) and the last `days` days
/// of the store's findings.
pub(crate) fn timeline(args: &TimelineArgs) -> Result<(), CliError> {
    let location = StoreLocation::from_args(Some(args.data_dir.clone()), args.store.clone())?
        .ok_or_else(|| CliError::Failed("name the store: --data-dir DIR".into()))?;
    let store = crate::cases::open_workspace(&location)?;
    let newest = store
        .list_findings(&FindingQuery {
            suppressed: SuppressedFilter::Include,
            limit: 1,
            ..FindingQuery::default()
        })
        .map_err(store_error)?;
    let Some(last) = newest.findings.first() else {
        return Err(CliError::Failed("the store holds no findings".into()));
    };
    let until = last.time;
    let since = Ts(until.millis() - args.days * 86_400_000);
    // The people with the most findings in the span: a case is about them.
    let mut per_person: std::collections::BTreeMap<String, usize> = Default::default();
    let mut after = None;
    loop {
        let page = store
            .list_findings(&FindingQuery {
                since: Some(since),
                until: Some(Ts(until.millis() + 1)),
                suppressed: SuppressedFilter::Include,
                after: after.clone(),
                limit: 10_000,
                ..FindingQuery::default()
            })
            .map_err(store_error)?;
        for f in &page.findings {
            if let Some(person) = &f.person {
                *per_person.entry(person.clone()).or_default() += 1;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut ranked: Vec<(String, usize)> = per_person.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let people: std::collections::BTreeSet<String> = ranked
        .into_iter()
        .take(args.people)
        .map(|(p, _)| p)
        .collect();
    let mut case = seam_cases::Case::open(
        "C-bench".into(),
        seam_cases::case::CaseDraft {
            title: "timeline benchmark".into(),
            links: seam_cases::case::Links {
                people: people.clone(),
                ..Default::default()
            },
            ..Default::default()
        },
        Vec::new(),
        "bench",
        0,
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    case.span = Some((since.millis(), until.millis()));
    let mut times = Vec::new();
    let mut entries = 0;
    let mut events = 0;
    let mut cut = false;
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let (found, was_cut) = store
            .case_events(&case, since, until, 20_000)
            .map_err(store_error)?;
        let findings = store
            .list_findings(&FindingQuery {
                since: Some(since),
                until: Some(Ts(until.millis() + 1)),
                suppressed: SuppressedFilter::Include,
                limit: 10_000,
                ..FindingQuery::default()
            })
            .map_err(store_error)?;
        let event_entries: Vec<_> = found
            .iter()
            .filter_map(|(who, json)| seam_cases::timeline::event_entry(who.clone(), json))
            .collect();
        let finding_entries: Vec<_> = findings
            .findings
            .iter()
            .filter(|f| f.person.as_ref().is_some_and(|p| people.contains(p)))
            .filter_map(|f| serde_json::from_str::<serde_json::Value>(&f.json).ok())
            .filter_map(|v| seam_cases::timeline::finding_entry(&v))
            .collect();
        events = found.len();
        cut = was_cut;
        entries = seam_cases::timeline::merge(&case, event_entries, finding_entries).len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let report = serde_json::json!({
        "people": people.len(),
        "days": args.days,
        "events": events,
        "entries": entries,
        "truncated": cut,
        "rounds": args.rounds,
        "p50_ms": percentile(&times, 0.5),
        "p99_ms": percentile(&times, 0.99),
        "max_ms": times.last().copied().unwrap_or(0.0),
    });
    if args.json {
        say!("{report}");
    } else {
        say!(
            "timeline of {} people over {} days: {events} events, {entries} entries{}; p50 {:.1} ms, p99 {:.1} ms",
            people.len(),
            args.days,
            if cut { " (cut at 20,000 events)" } else { "" },
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    Ok(())
}
