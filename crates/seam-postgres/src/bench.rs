//! Throughput of the event path for `seam bench`: append and commit in batches.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use seam_store::{Store, StoreError, StoredEvent, Ts};

use crate::PostgresStore;

/// What [`bench_append`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchFigures {
    /// Events appended, all of them new.
    pub events: u64,
    /// Events per append, each batch committed before the next.
    pub batch: usize,
    /// Bytes of event JSON appended.
    pub json_bytes: u64,
    /// Time spent appending and committing; making the synthetic events is not counted.
    pub seconds: f64,
    /// Of which committing.
    pub commit_seconds: f64,
    pub events_per_second: f64,
}

/// Appends `events` synthetic events (badge reads of about 600 bytes of JSON each) to the
/// store in the database `url`, in appends of `batch` events, committing after each, and
/// times it. The events go after whatever the database holds; their uids carry the run's start
/// time, so that every one is new even in a database used before.
pub fn bench_append(url: &str, events: u64, batch: usize) -> Result<BenchFigures, StoreError> {
    let batch = batch.max(1);
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros());
    let mut store = PostgresStore::open(url)?;
    let mut working = Duration::ZERO;
    let mut committing = Duration::ZERO;
    let mut json_bytes = 0u64;
    let mut made = 0u64;
    while made < events {
        let count = u64::try_from(batch).unwrap_or(u64::MAX).min(events - made);
        let synthetic: Vec<SyntheticEvent> = (made..made + count)
            .map(|number| SyntheticEvent::new(run, number))
            .collect();
        let stored: Vec<StoredEvent<'_>> = synthetic.iter().map(SyntheticEvent::stored).collect();
        json_bytes += synthetic
            .iter()
            .map(|event| event.json.len() as u64)
            .sum::<u64>();
        let started = Instant::now();
        store.append_events(&stored)?;
        let appended = Instant::now();
        store.commit()?;
        committing += appended.elapsed();
        working += started.elapsed();
        made += count;
    }
    let seconds = working.as_secs_f64();
    Ok(BenchFigures {
        events,
        batch,
        json_bytes,
        seconds,
        commit_seconds: committing.as_secs_f64(),
        events_per_second: events as f64 / seconds.max(f64::EPSILON),
    })
}

/// A normalized badge read, raw record included, as an adapter would hand it to the store.
struct SyntheticEvent {
    uid: String,
    person: String,
    time: i64,
    json: String,
}

impl SyntheticEvent {
    fn new(run: u128, number: u64) -> SyntheticEvent {
        let uid = format!(
            "pacs-main-{run:x}-{number:012}-{:08x}",
            number.wrapping_mul(2_654_435_761) & 0xffff_ffff
        );
        let person = format!("p-{:05}", number % 20_000);
        let time = 1_772_442_900_000 + i64::try_from(number).unwrap_or(0).saturating_mul(37);
        let door = number % 400;
        let badge = 400_000 + number % 20_000;
        let json = format!(
            concat!(
                r#"{{"uid":"{uid}","time":{time},"observed":{observed},"source":"pacs-main","#,
                r#""class":"access_granted","person":"{person}","site":"hq","zone":"floor-3-east","#,
                r#""door_name":"Building A, floor 3, east corridor door","#,
                r#""door":"d-{door:03}","reader":"r-{door:03}-in","badge":"{badge}","direction":"in","#,
                r#""identifiers":{{"badge":"{badge}","employee_id":"e-{employee:06}"}},"#,
                r#""controller":{{"id":"c-{controller:02}","firmware":"4.12.7","site_code":117}},"#,
                r#""raw":"{time},{badge},D{door:03},GRANTED,IN,card read ok,controller c-{controller:02},"#,
                r#"reader r-{door:03}-in,facility 117,format H10301 26-bit""#,
                r#","late":false}}"#
            ),
            uid = uid,
            time = time,
            observed = time + 120,
            person = person,
            door = door,
            badge = badge,
            employee = number % 20_000,
            controller = number % 17,
        );
        SyntheticEvent {
            uid,
            person,
            time,
            json,
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(self.time),
            observed: Ts::from_millis(self.time + 120),
            source: "pacs-main",
            class: "access_granted",
            person: Some(&self.person),
            late: false,
            json: &self.json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_event_is_about_six_hundred_bytes_and_unique() {
        let first = SyntheticEvent::new(1, 0);
        let second = SyntheticEvent::new(1, 1);
        assert!(
            (550..=650).contains(&first.json.len()),
            "{}",
            first.json.len()
        );
        assert_ne!(first.uid, second.uid);
        assert_ne!(SyntheticEvent::new(2, 0).uid, first.uid);
    }
}
