//! Measures subject access, erasure and retention on the PostgreSQL store, in a scratch
//! database that is dropped afterwards.
//!
//! `cargo run --release -p seam-postgres --example lifecycle_bench -- [events]` (default:
//! 100000 events; the server from `SEAM_TEST_POSTGRES` or
//! `postgres://postgres@127.0.0.1:5432/postgres`). One person in 20,000 is the subject, so
//! their events are spread over the whole table, as the embedded store's benchmark has them.

use std::error::Error;
use std::time::Instant;

use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::{Lifecycle, RetentionRequest, Store, StoredEvent, Ts};

const START_MS: i64 = 1_772_442_900_000;

struct Event {
    uid: String,
    person: String,
    time: i64,
    json: String,
}

/// A badge event of about 350 bytes, one every 37 ms.
fn event(number: usize) -> Event {
    let uid = format!("pacs-main-{number:012}");
    let person = format!("p-{:05}", number % 20_000);
    let time = START_MS + number as i64 * 37;
    let json = format!(
        concat!(
            r#"{{"uid":"{uid}","time":{time},"source":"pacs-main","class":"access_granted","#,
            r#""person":"{person}","site":"hq","zone":"floor-3-east","door":"d-{door:03}","#,
            r#""badge":"{badge}","raw":"{time},{badge},D{door:03},GRANTED,IN,card read ok""#,
            r#"}}"#
        ),
        uid = uid,
        time = time,
        person = person,
        door = number % 400,
        badge = 400_000 + number % 20_000,
    );
    Event {
        uid,
        person,
        time,
        json,
    }
}

fn stored(event: &Event) -> StoredEvent<'_> {
    StoredEvent {
        uid: &event.uid,
        time: Ts::from_millis(event.time),
        observed: Ts::from_millis(event.time + 120),
        source: "pacs-main",
        class: "access_granted",
        person: Some(&event.person),
        late: false,
        json: &event.json,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let total: usize = std::env::args()
        .nth(1)
        .map_or(Ok(100_000), |text| text.parse())?;
    let database = ScratchDatabase::create(&test_server_url(), "seam_bench")?;
    let mut store = PostgresStore::open(database.url())?;
    let started = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(10_000) {
        let events: Vec<Event> = chunk.iter().map(|number| event(*number)).collect();
        store.append_events(&events.iter().map(stored).collect::<Vec<_>>())?;
        store.commit()?;
    }
    println!(
        "{total} events appended in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let subject = vec!["p-00042".to_owned(), "420042".to_owned()];
    let started = Instant::now();
    let found = store.subject_records(&subject, usize::MAX)?;
    println!(
        "subject records: {} events in {:.2} s",
        found.events.len(),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let report = store.erase_subject(&subject, "bench")?;
    println!(
        "erasure: {} events tombstoned in {:.2} s (every table rewritten)",
        report.events,
        started.elapsed().as_secs_f64()
    );

    let half = Ts::from_millis(START_MS + (total as i64 / 2) * 37);
    let request = RetentionRequest {
        events_before: vec![(vec!["access_granted".to_owned()], half)],
        ..RetentionRequest::default()
    };
    let started = Instant::now();
    let dry = store.prune(&request, true)?;
    println!(
        "retention dry run: {} events in {:.2} s",
        dry.events.iter().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let report = store.prune(&request, false)?;
    println!(
        "retention: {} events tombstoned in {:.2} s",
        report.events.iter().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    store.prune(&request, false)?;
    println!(
        "retention again, nothing due: {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let report = store.erase_subject(&["p-00043".to_owned()], "bench")?;
    println!(
        "a second erasure: {} events in {:.2} s",
        report.events,
        started.elapsed().as_secs_f64()
    );
    drop(store);

    let started = Instant::now();
    let store = PostgresStore::open(database.url())?;
    println!(
        "reopen: {:.2} s, log ends at {}",
        started.elapsed().as_secs_f64(),
        store.log_position()?
    );
    Ok(())
}
