//! Measures the embedded store's event path: append + commit in batches, reopen, replay, read.
//!
//! `cargo run --release -p seam-store --example store_bench -- [events] [batch] [directory]`
//! (defaults: 1000000 events, batches of 1000, a fresh temporary directory).

use std::error::Error;
use std::time::Instant;

use seam_store::{EmbeddedStore, Store, StoredEvent, Ts};

struct Event {
    uid: String,
    person: String,
    json: String,
}

/// A normalized badge event of about 400 bytes, raw record included.
fn event(number: usize) -> Event {
    let uid = format!(
        "pacs-main-{number:012}-{:08x}",
        number.wrapping_mul(2_654_435_761) & 0xffff_ffff
    );
    let person = format!("p-{:05}", number % 20_000);
    let time = 1_772_442_900_000 + number as i64 * 37;
    let json = format!(
        concat!(
            r#"{{"uid":"{uid}","time":{time},"observed":{observed},"source":"pacs-main","#,
            r#""class":"access_granted","person":"{person}","site":"hq","zone":"floor-3-east","#,
            r#""door_name":"Building A, floor 3, east corridor door","#,
            r#""door":"d-{door:03}","reader":"r-{door:03}-in","badge":"{badge}","direction":"in","#,
            r#""raw":"{time},{badge},D{door:03},GRANTED,IN,card read ok,controller c-{controller:02}""#,
            r#","late":false}}"#
        ),
        uid = uid,
        time = time,
        observed = time + 120,
        person = person,
        door = number % 400,
        badge = 400_000 + number % 20_000,
        controller = number % 17,
    );
    Event { uid, person, json }
}

fn stored(event: &Event) -> StoredEvent<'_> {
    StoredEvent {
        uid: &event.uid,
        time: Ts::from_millis(1_772_442_900_000),
        observed: Ts::from_millis(1_772_442_900_120),
        source: "pacs-main",
        class: "access_granted",
        person: Some(&event.person),
        late: false,
        json: &event.json,
    }
}

fn per_second(count: usize, seconds: f64) -> f64 {
    count as f64 / seconds.max(f64::EPSILON)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut arguments = std::env::args().skip(1);
    let total: usize = arguments
        .next()
        .map_or(Ok(1_000_000), |text| text.parse())?;
    let batch: usize = arguments
        .next()
        .map_or(Ok(1_000), |text| text.parse())?
        .max(1);
    let temporary = tempfile::tempdir()?;
    let directory = arguments
        .next()
        .map_or_else(|| temporary.path().to_owned(), Into::into);

    let events: Vec<Event> = (0..total).map(event).collect();
    let bytes: usize = events.iter().map(|event| event.json.len()).sum();
    println!(
        "{total} events, {:.0} bytes of JSON each on average, batches of {batch}, in {}",
        bytes as f64 / total.max(1) as f64,
        directory.display()
    );

    let mut store = EmbeddedStore::open(&directory)?;
    let started = Instant::now();
    let mut committing = 0.0;
    for chunk in events.chunks(batch) {
        let stored: Vec<StoredEvent<'_>> = chunk.iter().map(stored).collect();
        let outcome = store.append_events(&stored)?;
        assert_eq!(
            outcome.inserted,
            chunk.len(),
            "the bench appends new uids only"
        );
        let commit_started = Instant::now();
        store.commit()?;
        committing += commit_started.elapsed().as_secs_f64();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "append + commit: {:.0} events/s ({:.1} MB/s of JSON, {:.2} s, of which {:.2} s in commit)",
        per_second(total, seconds),
        bytes as f64 / seconds / 1e6,
        seconds,
        committing
    );
    drop(store);

    let started = Instant::now();
    let mut store = EmbeddedStore::open(&directory)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "reopen (verify log, rebuild uid index): {seconds:.2} s, {:.0} events/s",
        per_second(total, seconds)
    );

    let started = Instant::now();
    let mut duplicates = 0;
    for chunk in events.chunks(batch) {
        let stored: Vec<StoredEvent<'_>> = chunk.iter().map(stored).collect();
        duplicates += store.append_events(&stored)?.duplicates;
        store.commit()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(duplicates, total, "a replay stores nothing new");
    println!(
        "replay of the same events (all duplicates): {:.0} events/s",
        per_second(total, seconds)
    );

    let started = Instant::now();
    let mut position = 0;
    let mut read = 0;
    loop {
        let (page, next) = store.read_events(position, 10_000)?;
        if page.is_empty() {
            break;
        }
        read += page.len();
        position = next;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(read, total, "every event reads back");
    println!(
        "read back in pages of 10000: {:.0} events/s",
        per_second(read, seconds)
    );
    Ok(())
}
