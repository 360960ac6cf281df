//! Measures the workspace on the PostgreSQL store: appending findings (each triaged and
//! grouped in the same transaction) and listing them with filters, in a scratch database that
//! is dropped afterwards.
//!
//! `cargo run --release -p seam-postgres --example workspace_bench -- [findings]` (default:
//! 1000000; the server from `SEAM_TEST_POSTGRES` or
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::error::Error;
use std::time::Instant;

use seam_cases::Grouping;
use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::workspace::{Cursor, FindingQuery, SuppressedFilter, Workspace, WorkspaceSettings};
use seam_store::{Store, StoredFinding, Ts};

const START_MS: i64 = 1_772_442_900_000;
const BATCH: usize = 1_000;

/// A finding of about 600 bytes, one every 500 ms; 5,000 people, 200 zones on 4 sites.
fn finding(number: usize) -> StoredFinding {
    let uid = format!("f-{number:012}");
    let rule = format!("seam.rule-{}", number % 40);
    let person = format!("p-{:05}", number % 5_000);
    let zone = format!("site{}-zone{}", number % 4, number % 200);
    let time = START_MS + i64::try_from(number).unwrap_or(0) * 500;
    let severity = 1 + number % 5;
    let json = format!(
        concat!(
            r#"{{"time":{time},"severity_id":{severity},"severity":"x","#,
            r#""message":"{rule} raised for {person} in {zone}","#,
            r#""finding_info":{{"uid":"{uid}","title":"Title of {rule}","#,
            r#""analytic":{{"uid":"{rule}"}},"related_events":[{{"uid":"e-{uid}"}}]}},"#,
            r#""evidences":[{{"data":{{"zone.id":"{zone}","person.uid":"{person}"}}}}],"#,
            r#""unmapped":{{"rule_kind":"detection","count":1}}}}"#
        ),
        time = time,
        severity = severity,
        rule = rule,
        person = person,
        zone = zone,
        uid = uid,
    );
    StoredFinding {
        uid,
        rule,
        time: Ts::from_millis(time),
        person: Some(person),
        severity: "x".to_owned(),
        json,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 1_000_000,
    };
    let database = ScratchDatabase::create(&test_server_url(), "seam_bench")?;
    let mut store = PostgresStore::open(database.url())?;
    store.configure_workspace(WorkspaceSettings {
        grouping: Grouping::new(10 * 60_000)?,
        site_of: Some(std::sync::Arc::new(|facts: &seam_cases::FindingFacts| {
            facts
                .zone
                .as_deref()
                .and_then(|zone| zone.split_once('-'))
                .map(|(site, _)| site.to_owned())
        })),
    });
    let started = Instant::now();
    let mut number = 0;
    while number < count {
        let batch: Vec<StoredFinding> = (number..count.min(number + BATCH)).map(finding).collect();
        store.append_findings(&batch)?;
        store.commit()?;
        number += batch.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "appended {count} findings in {seconds:.1} s: {:.0} a second",
        count as f64 / seconds
    );
    let mut client = postgres::Client::connect(database.url(), postgres::NoTls)?;
    client.batch_execute("VACUUM ANALYZE")?;

    let page = |query: FindingQuery| FindingQuery { limit: 50, ..query };
    let middle = finding(count / 2);
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
                rule: Some("seam.rule-7".to_owned()),
                ..FindingQuery::default()
            }),
        ),
        (
            "person",
            page(FindingQuery {
                person: Some("p-00042".to_owned()),
                ..FindingQuery::default()
            }),
        ),
        (
            "zone",
            page(FindingQuery {
                zone: Some("site1-zone17".to_owned()),
                ..FindingQuery::default()
            }),
        ),
        (
            "one site",
            page(FindingQuery {
                sites: Some(vec!["site2".to_owned()]),
                ..FindingQuery::default()
            }),
        ),
        (
            "two sites",
            page(FindingQuery {
                sites: Some(vec!["site2".to_owned(), "site3".to_owned()]),
                ..FindingQuery::default()
            }),
        ),
        (
            "alert",
            page(FindingQuery {
                alert: Some(
                    store
                        .triaged(&middle.uid)?
                        .map(|finding| finding.alert)
                        .unwrap_or_default(),
                ),
                ..FindingQuery::default()
            }),
        ),
        (
            "assignee (none)",
            page(FindingQuery {
                assignee: Some("cy".to_owned()),
                ..FindingQuery::default()
            }),
        ),
        (
            "severity 5",
            page(FindingQuery {
                min_severity: Some(5),
                ..FindingQuery::default()
            }),
        ),
        (
            "time window",
            page(FindingQuery {
                since: Some(middle.time),
                until: Some(Ts::from_millis(middle.time.millis() + 3_600_000)),
                ..FindingQuery::default()
            }),
        ),
        (
            "text",
            page(FindingQuery {
                text: Some("rule-7 p-00042".to_owned()),
                ..FindingQuery::default()
            }),
        ),
        (
            "page after the middle",
            page(FindingQuery {
                after: Some(Cursor {
                    time: middle.time,
                    uid: middle.uid.clone(),
                }),
                ..FindingQuery::default()
            }),
        ),
        (
            "person and zone, suppressed included",
            page(FindingQuery {
                person: Some("p-00042".to_owned()),
                zone: Some("site2-zone42".to_owned()),
                suppressed: SuppressedFilter::Include,
                ..FindingQuery::default()
            }),
        ),
    ];
    for (name, query) in &queries {
        // The first run prepares the statement; the figure is the best of five after it.
        store.list_findings(query)?;
        let mut best = f64::MAX;
        let mut found = 0;
        for _ in 0..5 {
            let started = Instant::now();
            found = store.list_findings(query)?.findings.len();
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!("{name:>40}: {found:>3} findings in {:.2} ms", best * 1000.0);
    }
    Ok(())
}
