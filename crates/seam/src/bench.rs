//! `seam bench`: measured throughput and memory, on a synthetic workforce at the example estate.
//!
//! The workload is a working day per person (arrive, badge through two doors with door-used
//! signals, join the Wi-Fi, sign in, use the wiki, send some traffic, occasionally fail a
//! sign-in), interleaved across people in time order, through the full default rule pack.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use seam_engine::{Engine, EngineConfig, Output};
use seam_estate::{Estate, EstateFile};
use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

use crate::embedded;
use crate::error::CliError;
use crate::load;

/// 2026-03-02T00:00:00Z, a Monday.
const DAY_ZERO_MS: i64 = 1_772_409_600_000;
const DAY_MS: i64 = 86_400_000;

/// The example estate plus `people` generated employees of headquarters.
pub fn synthetic_estate(people: usize) -> Result<Estate, CliError> {
    let mut files = embedded::estate_files();
    let mut text = String::with_capacity(people * 420);
    for index in 0..people {
        let _ = write!(
            text,
            "[[person]]\nid = \"p{index}\"\nname = \"Person {index}\"\nkind = \"employee\"\n\
             status = [{{ status = \"active\", since = \"2024-01-01T00:00:00Z\" }}]\n\
             clearances = [\"hq-lobby\", \"hq-office\", \"hq-cafe\"]\nhome_site = \"hq\"\n\
             schedule = {{ days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], start = \"07:00\", end = \"19:00\" }}\n\
             identifiers = [{{ kind = \"badge\", value = \"b{index}\" }}, {{ kind = \"upn\", value = \"p{index}@example.com\" }}, \
             {{ kind = \"mac\", value = \"{}\" }}]\n\n",
            mac(index)
        );
    }
    files.push(EstateFile {
        path: "synthetic/people.toml".into(),
        text,
    });
    Estate::from_files(&files).map_err(|errors| {
        CliError::Estate(
            errors
                .iter()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

fn mac(index: usize) -> String {
    let bytes = (index as u64).to_be_bytes();
    format!(
        "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
        bytes[4], bytes[5], bytes[6], bytes[7]
    )
}

/// A small deterministic generator (xorshift), so every run sees the same workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// `events` events for `people` people, ordered by time.
pub fn synthetic_events(people: usize, events: usize) -> Vec<Event> {
    const PER_DAY: usize = 10;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<Event> = Vec::with_capacity(events + PER_DAY);
    let people = people.max(1);
    let mut day = 0i64;
    'days: loop {
        for person in 0..people {
            if out.len() >= events {
                break 'days;
            }
            // Arrive between 07:00 and 10:00 UTC.
            let arrive =
                DAY_ZERO_MS + day * DAY_MS + 7 * 3_600_000 + rng.below(3 * 3_600_000) as i64;
            let uid = |n: usize| format!("d{day}-p{person}-{n}");
            let badge = format!("b{person}");
            let user = format!("p{person}@example.com");
            let mut push =
                |n: usize, offset_ms: i64, class, activity, fill: &dyn Fn(&mut Event)| {
                    let mut event =
                        Event::new(uid(n), Ts(arrive + offset_ms), "bench", class, activity);
                    fill(&mut event);
                    out.push(event);
                };
            let door = |door: &'static str, badge: String| {
                move |e: &mut Event| {
                    e.subject.badge = Some(badge.clone());
                    e.door = Some(door.to_string());
                }
            };
            push(
                0,
                0,
                EventClass::PhysicalAccess,
                Activity::Granted,
                &door("hq-main", badge.clone()),
            );
            push(
                1,
                3_000,
                EventClass::PhysicalAccess,
                Activity::DoorUsed,
                &door("hq-main", badge.clone()),
            );
            push(
                2,
                60_000,
                EventClass::PhysicalAccess,
                Activity::Granted,
                &door("hq-office-door", badge.clone()),
            );
            push(
                3,
                63_000,
                EventClass::PhysicalAccess,
                Activity::DoorUsed,
                &door("hq-office-door", badge.clone()),
            );
            let device_mac = mac(person);
            push(
                4,
                120_000,
                EventClass::NetworkSession,
                Activity::Connect,
                &|e| {
                    e.outcome = Outcome::Success;
                    e.medium = Some(Medium::Wifi);
                    e.subject.mac = Some(device_mac.clone());
                    e.ap = Some("hq-ap-office".into());
                },
            );
            let failed = rng.below(50) == 0;
            push(
                5,
                180_000,
                EventClass::Authentication,
                Activity::Logon,
                &|e| {
                    e.outcome = if failed {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    e.subject.user = Some(user.clone());
                    e.src.ip = Some(std::net::IpAddr::from([198, 51, 100, 10]));
                },
            );
            push(
                6,
                600_000,
                EventClass::ResourceAccess,
                Activity::Read,
                &|e| {
                    e.subject.user = Some(user.clone());
                    e.src.ip = Some(std::net::IpAddr::from([10, 10, 7, 7]));
                    e.resource = Some("wiki".into());
                },
            );
            push(
                7,
                1_800_000,
                EventClass::NetworkActivity,
                Activity::Traffic,
                &|e| {
                    e.subject.user = Some(user.clone());
                    e.dst.ip = Some(std::net::IpAddr::from([203, 0, 113, 50]));
                    e.bytes_out = Some(250_000);
                },
            );
            push(
                8,
                3_600_000,
                EventClass::PhysicalAccess,
                Activity::Granted,
                &door("hq-cafe-door", badge.clone()),
            );
            push(
                9,
                3_603_000,
                EventClass::PhysicalAccess,
                Activity::DoorUsed,
                &door("hq-cafe-door", badge.clone()),
            );
        }
        day += 1;
    }
    out.truncate(events);
    out.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
    out
}

/// Resident memory of this process, from the kernel.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

pub fn engine(
    people: usize,
    events: usize,
    rules: Option<&std::path::Path>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let rules = load::rules(rules)?;
    let estate = Arc::new(synthetic_estate(people)?);
    let rss_with_estate = rss_bytes();
    let workload = synthetic_events(people, events);
    let count = workload.len();
    let config = EngineConfig {
        emit_events: false,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config);
    let mut out = Output::default();
    let mut findings = 0usize;
    let started = Instant::now();
    for event in workload {
        engine.push(event, &mut out);
        findings += out.findings.len();
        out.findings.clear();
    }
    engine.flush(&mut out);
    findings += out.findings.len();
    let seconds = started.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "benchmark": "engine",
        "people": people,
        "events": count,
        "rules": rules.set.rules().len(),
        "seconds": seconds,
        "events_per_sec": (count as f64 / seconds.max(1e-9)).round(),
        "findings": findings,
        "rss_bytes": rss_bytes(),
        // The process after loading the estate (directory and lookups), before any event exists.
        "rss_with_estate_bytes": rss_with_estate,
        // What the engine keeps for a person with no open windows: the dense per-person record
        // (its lists are empty and allocate nothing until used).
        "idle_state_bytes_per_person": std::mem::size_of::<seam_engine::state::PersonState>(),
        "state_bytes_after_run": engine.state_size_estimate(),
    });
    print_report(&report, json)
}

pub fn replay(people: usize, events: usize, json: bool) -> Result<ExitCode, CliError> {
    let rules = load::rules(None)?;
    let estate = Arc::new(synthetic_estate(people)?);
    let mut ndjson = Vec::with_capacity(events * 330);
    for event in synthetic_events(people, events) {
        serde_json::to_writer(&mut ndjson, &event).map_err(|e| CliError::Output(e.into()))?;
        ndjson.push(b'\n');
    }
    let options = crate::pipeline::Options {
        estate,
        rules: Arc::clone(&rules),
        data_dir: None,
        progress: false,
        config: EngineConfig {
            emit_events: false,
            ..EngineConfig::default()
        },
        batch: crate::pipeline::DEFAULT_BATCH,
        merge: false,
    };
    let input = crate::pipeline::Input::ndjson("bench", Box::new(std::io::Cursor::new(ndjson)));
    let mut sink = std::io::sink();
    let summary = crate::pipeline::run(vec![input], &options, &mut |finding| {
        serde_json::to_writer(&mut sink, finding).map_err(|e| CliError::Output(e.into()))
    })?;
    let seconds = summary.elapsed.as_secs_f64();
    let report = serde_json::json!({
        "benchmark": "replay",
        "people": people,
        "events": summary.events,
        "seconds": seconds,
        "events_per_sec": (summary.events as f64 / seconds.max(1e-9)).round(),
        "findings": summary.findings,
        "rss_bytes": rss_bytes(),
    });
    print_report(&report, json)
}

fn print_report(report: &serde_json::Value, json: bool) -> Result<ExitCode, CliError> {
    if json {
        say!("{report}");
    } else if let Some(fields) = report.as_object() {
        for (name, value) in fields {
            say!("{name:>30}  {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
