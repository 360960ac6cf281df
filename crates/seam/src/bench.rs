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

/// One synthetic event before it is built: 24 bytes, so a run of millions can be planned in
/// order up front and its events built a batch at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    time: i64,
    day: u32,
    person: u32,
    /// The step of the person's day (0-9).
    step: u8,
    /// Step 5's sign-in fails.
    failed: bool,
}

/// The offset of each step of a day from the arrival, in ms.
const STEP_OFFSETS_MS: [i64; 10] = [
    0, 3_000, 60_000, 63_000, 120_000, 180_000, 600_000, 1_800_000, 3_600_000, 3_603_000,
];

impl PlannedEvent {
    fn uid(&self) -> String {
        format!("d{}-p{}-{}", self.day, self.person, self.step)
    }

    /// The normalized event.
    pub fn build(&self) -> Event {
        let person = self.person as usize;
        let badge = || Some(format!("b{person}"));
        let user = || Some(format!("p{person}@example.com"));
        let (class, activity) = match self.step {
            0 | 2 | 8 => (EventClass::PhysicalAccess, Activity::Granted),
            1 | 3 | 9 => (EventClass::PhysicalAccess, Activity::DoorUsed),
            4 => (EventClass::NetworkSession, Activity::Connect),
            5 => (EventClass::Authentication, Activity::Logon),
            6 => (EventClass::ResourceAccess, Activity::Read),
            _ => (EventClass::NetworkActivity, Activity::Traffic),
        };
        let mut event = Event::new(self.uid(), Ts(self.time), "bench", class, activity);
        match self.step {
            0 | 1 => {
                event.subject.badge = badge();
                event.door = Some("hq-main".into());
            }
            2 | 3 => {
                event.subject.badge = badge();
                event.door = Some("hq-office-door".into());
            }
            8 | 9 => {
                event.subject.badge = badge();
                event.door = Some("hq-cafe-door".into());
            }
            4 => {
                event.outcome = Outcome::Success;
                event.medium = Some(Medium::Wifi);
                event.subject.mac = Some(mac(person));
                event.ap = Some("hq-ap-office".into());
            }
            5 => {
                event.outcome = if self.failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                event.subject.user = user();
                event.src.ip = Some(std::net::IpAddr::from([198, 51, 100, 10]));
            }
            6 => {
                event.subject.user = user();
                event.src.ip = Some(std::net::IpAddr::from([10, 10, 7, 7]));
                event.resource = Some("wiki".into());
            }
            _ => {
                event.subject.user = user();
                event.dst.ip = Some(std::net::IpAddr::from([203, 0, 113, 50]));
                event.bytes_out = Some(250_000);
            }
        }
        event
    }
}

/// The plan of `events` events for `people` people, ordered by time (then uid).
pub fn synthetic_plan(people: usize, events: usize) -> Vec<PlannedEvent> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<PlannedEvent> = Vec::with_capacity(events + STEP_OFFSETS_MS.len());
    let people = u32::try_from(people.max(1)).unwrap_or(u32::MAX);
    let mut day = 0u32;
    'days: loop {
        for person in 0..people {
            if out.len() >= events {
                break 'days;
            }
            // Arrive between 07:00 and 10:00 UTC.
            let arrive = DAY_ZERO_MS
                + i64::from(day) * DAY_MS
                + 7 * 3_600_000
                + rng.below(3 * 3_600_000) as i64;
            let failed = rng.below(50) == 0;
            for (step, offset) in (0u8..).zip(STEP_OFFSETS_MS) {
                out.push(PlannedEvent {
                    time: arrive + offset,
                    day,
                    person,
                    step,
                    failed,
                });
            }
        }
        day += 1;
    }
    out.truncate(events);
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.uid().cmp(&b.uid())));
    out
}

/// `events` events for `people` people, ordered by time.
pub fn synthetic_events(people: usize, events: usize) -> Vec<Event> {
    synthetic_plan(people, events)
        .iter()
        .map(PlannedEvent::build)
        .collect()
}

/// Resident memory of this process, from the kernel.
/// Nanoseconds this thread has spent on a CPU (Linux's schedstat), or `None` elsewhere. Unlike
/// the wall clock, it leaves out time spent waiting for a core that another process holds.
pub fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

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

/// Events built per batch outside the clock: about what the service's writer hands the engine
/// at once, and small enough to stay in the cache the way freshly parsed events do.
const BENCH_BATCH: usize = 4096;

pub fn engine(
    people: usize,
    events: usize,
    rules: Option<&std::path::Path>,
    prebuilt: bool,
    json: bool,
) -> Result<ExitCode, CliError> {
    let rules = load::rules(rules)?;
    let estate = Arc::new(synthetic_estate(people)?);
    let rss_with_estate = rss_bytes();
    let plan = synthetic_plan(people, events);
    let count = plan.len();
    let config = EngineConfig {
        emit_events: false,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config);
    let mut out = Output::default();
    let mut findings = 0usize;
    let mut elapsed = std::time::Duration::ZERO;
    let batches: Box<dyn Iterator<Item = Vec<Event>>> = if prebuilt {
        Box::new(std::iter::once(
            plan.iter().map(PlannedEvent::build).collect(),
        ))
    } else {
        Box::new(
            plan.chunks(BENCH_BATCH)
                .map(|chunk| chunk.iter().map(PlannedEvent::build).collect()),
        )
    };
    let mut cpu_ns = Some(0u64);
    let mut timed =
        |engine: &mut Engine, out: &mut Output, work: &mut dyn FnMut(&mut Engine, &mut Output)| {
            let cpu_before = thread_cpu_ns();
            let started = Instant::now();
            work(engine, out);
            elapsed += started.elapsed();
            cpu_ns = cpu_ns
                .zip(cpu_before.zip(thread_cpu_ns()))
                .map(|(sum, (before, after))| sum + after.saturating_sub(before));
        };
    for batch in batches {
        let mut batch = batch;
        timed(&mut engine, &mut out, &mut |engine, out| {
            engine.push_batch(&mut batch, out);
        });
        findings += out.findings.len();
        out.findings.clear();
    }
    timed(&mut engine, &mut out, &mut |engine, out| engine.flush(out));
    findings += out.findings.len();
    let seconds = elapsed.as_secs_f64();
    let report = serde_json::json!({
        "benchmark": "engine",
        "events_built": if prebuilt {
            "all before the clock starts".to_string()
        } else {
            format!("in batches of {BENCH_BATCH}, outside the clock")
        },
        "people": people,
        "events": count,
        "rules": rules.set.rules().len(),
        "seconds": seconds,
        "events_per_sec": (count as f64 / seconds.max(1e-9)).round(),
        // The same per second that the engine's thread was on a CPU: steadier than the wall
        // clock on a machine that is running something else too.
        "events_per_cpu_sec": cpu_ns.map(|ns| (count as f64 / (ns as f64 / 1e9).max(1e-9)).round()),
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

/// Parses the lines of `file` through adapter `name`, repeated up to `records` records, in
/// batches of 1,000 lines; reports records per CPU-second.
pub fn adapter(
    name: &str,
    file: &std::path::Path,
    records: usize,
    json: bool,
) -> Result<ExitCode, CliError> {
    let adapter =
        seam_adapters::Adapter::from_name(name).map_err(|e| CliError::Failed(e.to_string()))?;
    let text = std::fs::read(file).map_err(|source| CliError::Io {
        path: file.display().to_string(),
        source,
    })?;
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .collect();
    if lines.is_empty() {
        return Err(CliError::Failed(format!(
            "{} has no records",
            file.display()
        )));
    }
    const BATCH: usize = 1000;
    let mut batches: Vec<Vec<u8>> = Vec::new();
    let mut batch = Vec::new();
    for index in 0..BATCH.max(lines.len()) {
        if let Some(line) = lines.get(index % lines.len()) {
            batch.extend_from_slice(line);
            batch.push(b'\n');
        }
    }
    batches.push(std::mem::take(&mut batch));
    let mut context = seam_adapters::ParseContext::new(name.to_string(), seam_model::Ts(0));
    context.max_ahead_ms = i64::MAX;
    context.max_behind_ms = i64::MAX;
    let per_batch = BATCH.max(lines.len());
    let rounds = records.div_ceil(per_batch).max(1);
    let (mut events, mut rejected, mut skipped) = (0usize, 0usize, 0usize);
    let cpu_start = thread_cpu_ns();
    let started = Instant::now();
    for _ in 0..rounds {
        for input in &batches {
            let parsed = adapter
                .parse(input, &context)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            events += parsed.events.len();
            rejected += parsed.rejected.len();
            skipped += parsed.skipped;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(start), Some(end)) => end.saturating_sub(start) as f64 / 1e9,
        _ => wall,
    };
    let parsed = rounds * per_batch;
    let report = serde_json::json!({
        "adapter": name,
        "records": parsed,
        "events": events,
        "rejected": rejected,
        "skipped": skipped,
        "cpu_seconds": cpu,
        "records_per_cpu_sec": (parsed as f64 / cpu.max(1e-9)).round(),
        "records_per_sec": (parsed as f64 / wall.max(1e-9)).round(),
    });
    print_report(&report, json)
}

/// Decodes `flows` flows of NetFlow `version` (5, 9, 10) from a synthetic exporter on one
/// core, through one `FlowDecoder` as a listener keeps it; reports flows per CPU-second, then
/// the same with each event serialized to JSON as the service does before storing it.
pub fn flows(
    version: u16,
    flows: usize,
    flows_per_datagram: usize,
    json: bool,
) -> Result<ExitCode, CliError> {
    // A thousand datagrams, decoded over and over: the template comes again with the first,
    // which refreshes it without a change.
    const DATAGRAMS: usize = 1000;
    let export = Ts(DAY_ZERO_MS + 12 * 3_600_000);
    let datagrams =
        seam_adapters::synthetic_flow_datagrams(version, DATAGRAMS, flows_per_datagram, export);
    let bytes: usize = datagrams.iter().map(Vec::len).sum();
    let context = seam_adapters::ParseContext::new("netflow", Ts(export.0 + 1000));
    let exporter = std::net::IpAddr::from([10, 0, 0, 1]);
    let mut decoder = seam_adapters::FlowDecoder::new();
    let per_round = decoder_round(&mut decoder, exporter, &datagrams, &context, false)?;
    if per_round == 0 {
        return Err(CliError::Failed(
            "the synthetic export gave no flows".into(),
        ));
    }
    let rounds = flows.div_ceil(per_round).max(1);
    let measure = |serialize: bool,
                   decoder: &mut seam_adapters::FlowDecoder|
     -> Result<(usize, f64, f64), CliError> {
        let cpu_start = thread_cpu_ns();
        let started = Instant::now();
        let mut decoded = 0usize;
        for _ in 0..rounds {
            decoded += decoder_round(decoder, exporter, &datagrams, &context, serialize)?;
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = match (cpu_start, thread_cpu_ns()) {
            (Some(start), Some(end)) => end.saturating_sub(start) as f64 / 1e9,
            _ => wall,
        };
        Ok((decoded, cpu, wall))
    };
    let (decoded, cpu, wall) = measure(false, &mut decoder)?;
    let (serialized, json_cpu, _) = measure(true, &mut decoder)?;
    let report = serde_json::json!({
        "benchmark": "flows",
        "version": version,
        "flows_per_datagram": per_round / DATAGRAMS,
        "datagram_bytes": bytes / DATAGRAMS,
        "flows": decoded,
        "cpu_seconds": cpu,
        "flows_per_cpu_sec": (decoded as f64 / cpu.max(1e-9)).round(),
        "flows_per_sec": (decoded as f64 / wall.max(1e-9)).round(),
        "datagrams_per_cpu_sec": ((decoded / per_round * DATAGRAMS) as f64 / cpu.max(1e-9)).round(),
        "flows_per_cpu_sec_with_json": (serialized as f64 / json_cpu.max(1e-9)).round(),
    });
    print_report(&report, json)
}

/// Decodes every datagram once; the flows decoded. With `serialize`, each event is written as
/// JSON too.
fn decoder_round(
    decoder: &mut seam_adapters::FlowDecoder,
    exporter: std::net::IpAddr,
    datagrams: &[Vec<u8>],
    context: &seam_adapters::ParseContext,
    serialize: bool,
) -> Result<usize, CliError> {
    let mut decoded = 0;
    for datagram in datagrams {
        let batch = decoder.decode(exporter, datagram, context);
        if let Some(rejected) = batch.rejected.first() {
            return Err(CliError::Failed(format!(
                "the synthetic export was rejected: {}",
                rejected.reason
            )));
        }
        decoded += batch.events.len();
        if serialize {
            for event in &batch.events {
                let json = serde_json::to_string(event).map_err(|e| CliError::Output(e.into()))?;
                std::hint::black_box(json);
            }
        }
        std::hint::black_box(&batch.events);
    }
    Ok(decoded)
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
        store: None,
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

/// Directory changes through the engine: `changes` provisioning events (new people with a
/// badge and an account, then every existing person's badge reissued and status restated, in
/// turn) at a directory of `people`, in batches as the service hands them over. Reports
/// changes per CPU-second and what an identity lookup costs afterwards.
pub fn directory(people: usize, changes: usize, json: bool) -> Result<ExitCode, CliError> {
    use seam_model::{Activity, DeltaIdentifier, DirectoryDelta, EventClass};
    let rules = load::rules(None)?;
    let estate = Arc::new(synthetic_estate(people)?);
    let config = EngineConfig {
        emit_events: false,
        allowed_lateness_ms: 0,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config);
    let mut out = Output::default();
    let start = Ts::parse("2026-03-02T00:00:00Z").unwrap_or(Ts(0)).millis();
    let identifier = |kind: &str, value: String| DeltaIdentifier {
        kind: kind.to_owned(),
        value,
        from: None,
        until: None,
    };
    let change = |index: usize| -> Event {
        let (delta, activity) = if index.is_multiple_of(2) {
            let n = index / 2;
            let mut delta = DirectoryDelta::for_person(format!("new{n}"));
            delta.name = Some(format!("New Person {n}"));
            delta.identifiers = vec![
                identifier("badge", format!("nb{n}")),
                identifier("upn", format!("new{n}@example.com")),
            ];
            delta.replaces = vec!["badge".into(), "upn".into()];
            (delta, Activity::PersonCreated)
        } else {
            let n = (index / 2) % people.max(1);
            let mut delta = DirectoryDelta::for_person(format!("p{n}"));
            delta.status = Some("active".into());
            delta.identifiers = vec![identifier("badge", format!("rb{index}"))];
            delta.replaces = vec!["badge".into()];
            (delta, Activity::PersonUpdated)
        };
        let at = Ts(start + i64::try_from(index).unwrap_or(0) * 10);
        let mut event = Event::new(
            format!("scim-{index}"),
            at,
            "scim",
            EventClass::Directory,
            activity,
        );
        event.directory = Some(Box::new(delta));
        event
    };
    let mut cpu_ns = 0u64;
    let started = Instant::now();
    let mut index = 0;
    while index < changes {
        let end = (index + BENCH_BATCH).min(changes);
        let mut batch: Vec<Event> = (index..end).map(change).collect();
        let before = thread_cpu_ns();
        engine.push_batch(&mut batch, &mut out);
        cpu_ns += before
            .zip(thread_cpu_ns())
            .map_or(0, |(before, after)| after.saturating_sub(before));
        out.findings.clear();
        index = end;
    }
    let before = thread_cpu_ns();
    engine.flush(&mut out);
    cpu_ns += before
        .zip(thread_cpu_ns())
        .map_or(0, |(before, after)| after.saturating_sub(before));
    let seconds = started.elapsed().as_secs_f64();
    let counters = engine.counters();
    let report = serde_json::json!({
        "benchmark": "directory",
        "people_before": people,
        "people_after": engine.estate().people().len(),
        "changes": changes,
        "applied": counters.directory_changes,
        "refused": counters.directory_refused,
        "seconds": seconds,
        "changes_per_cpu_sec": (changes as f64 / (cpu_ns as f64 / 1e9).max(1e-9)).round(),
        "rss_bytes": rss_bytes(),
    });
    print_report(&report, json)
}

/// SCIM provisioning against a service started here on loopback with a fresh store: `users`
/// creates (a full resync of that many users) over `connections` connections, then one
/// PATCH per user (a deactivation, as Okta sends it). Each request is answered only once its
/// directory change is durable.
pub fn scim(users: usize, connections: usize, json: bool) -> Result<ExitCode, CliError> {
    use seam_serve::client::HttpClient;
    const TOKEN: &str = "bench-scim-token-0123456789abcdef";
    let data_dir = std::env::temp_dir().join(format!("seam-bench-scim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = seam_serve::ServeConfig::defaults(&seam_serve::Overrides {
        data_dir: Some(data_dir.clone()),
        http: Some("127.0.0.1:0".into()),
        ..seam_serve::Overrides::default()
    })
    .map_err(|e| CliError::Failed(e.to_string()))?;
    config.directory.scim = Some(seam_serve::ScimSettings {
        token: seam_serve::Secret::new(TOKEN),
        mapping: None,
        base_url: None,
    });
    let server = seam_serve::Server::start(&config, load::estate(None)?, load::rules(None)?)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if !server.wait_ready(std::time::Duration::from_secs(60)) {
        return Err(CliError::Failed("the service did not become ready".into()));
    }
    let addr = server.addresses().http;
    let auth = format!("Bearer {TOKEN}");
    let connections = connections.clamp(1, 64);
    let (create_seconds, ids) = {
        let started = Instant::now();
        let ids = std::sync::Mutex::new(Vec::with_capacity(users));
        let failures = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for worker in 0..connections {
                let (ids, failures, auth) = (&ids, &failures, &auth);
                scope.spawn(move || {
                    let mut client = HttpClient::new(addr);
                    let headers = [
                        ("authorization", auth.as_str()),
                        ("content-type", "application/scim+json"),
                    ];
                    for n in (worker..users).step_by(connections) {
                        let body = serde_json::json!({
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": format!("user{n}@bench.example"),
                            "externalId": format!("00u{n:08}"),
                            "name": {"givenName": "User", "familyName": format!("{n}")},
                            "emails": [{"value": format!("user{n}@bench.example"), "type": "work", "primary": true}],
                            "active": true
                        })
                        .to_string();
                        let created = client
                            .request("POST", "/scim/v2/Users", &headers, body.as_bytes())
                            .ok()
                            .filter(|r| r.status == 201)
                            .and_then(|r| r.json().get("id")?.as_str().map(str::to_string));
                        match (created, ids.lock()) {
                            (Some(id), Ok(mut ids)) => ids.push(id),
                            _ => {
                                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                });
            }
        });
        let failed = failures.load(std::sync::atomic::Ordering::Relaxed);
        if failed > 0 {
            return Err(CliError::Failed(format!("{failed} SCIM creates failed")));
        }
        (
            started.elapsed().as_secs_f64(),
            ids.into_inner().unwrap_or_default(),
        )
    };
    let patch_seconds = {
        let ids = ids.clone();
        let started = Instant::now();
        let failures = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for worker in 0..connections {
                let (ids, failures, auth) = (&ids, &failures, &auth);
                scope.spawn(move || {
                    let mut client = HttpClient::new(addr);
                    let headers = [
                        ("authorization", auth.as_str()),
                        ("content-type", "application/scim+json"),
                    ];
                    let body = serde_json::json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "value": {"active": false}}]
                    })
                    .to_string();
                    for id in ids.iter().skip(worker).step_by(connections) {
                        let ok = client
                            .request(
                                "PATCH",
                                &format!("/scim/v2/Users/{id}"),
                                &headers,
                                body.as_bytes(),
                            )
                            .is_ok_and(|r| r.status < 300);
                        if !ok {
                            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let failed = failures.load(std::sync::atomic::Ordering::Relaxed);
        if failed > 0 {
            return Err(CliError::Failed(format!(
                "{failed} SCIM patch requests failed"
            )));
        }
        started.elapsed().as_secs_f64()
    };
    let _ = server.shutdown();
    let _ = std::fs::remove_dir_all(&data_dir);
    let report = serde_json::json!({
        "benchmark": "scim",
        "users": users,
        "connections": connections,
        "create_seconds": create_seconds,
        "creates_per_sec": (users as f64 / create_seconds.max(1e-9)).round(),
        "patch_seconds": patch_seconds,
        "patches_per_sec": (ids.len() as f64 / patch_seconds.max(1e-9)).round(),
        "durable": "each answer after its directory change was committed",
    });
    print_report(&report, json)
}

/// One service of the authentication benchmark: open (no account exists) or with accounts.
struct AuthBenchService {
    server: seam_serve::Server,
    data_dir: std::path::PathBuf,
    /// `Authorization` values: integration, admin, analyst (empty for the open service).
    integration: Option<String>,
    admin: Option<String>,
    analyst: Option<String>,
}

fn auth_bench_service(with_accounts: bool) -> Result<AuthBenchService, CliError> {
    use seam_store::Store as _;
    let failed = |e: &dyn std::fmt::Display| CliError::Failed(e.to_string());
    let data_dir = std::env::temp_dir().join(format!(
        "seam-bench-auth-{}-{with_accounts}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut bearers = Vec::new();
    if with_accounts {
        let mut store = seam_store::EmbeddedStore::open(&data_dir).map_err(|e| failed(&e))?;
        let mut tokens = seam_access::Tokens::new();
        let mut writes = Vec::new();
        for role in [
            seam_access::Role::Integration,
            seam_access::Role::Admin,
            seam_access::Role::SocAnalyst,
        ] {
            let (record, secret) = tokens
                .create(
                    seam_access::NewToken {
                        name: role.as_str(),
                        roles: &[role],
                        sites: None,
                        expires: None,
                    },
                    Ts(crate::wall_clock().millis()),
                    &mut seam_access::OsRandom,
                )
                .map_err(|e| failed(&e))?;
            writes.push(seam_store::DocumentWrite {
                collection: seam_access::TOKENS_COLLECTION.into(),
                id: record.id.clone(),
                json: Some(record.to_document().map_err(|e| failed(&e))?),
            });
            bearers.push(format!("Bearer {}", secret.expose()));
        }
        store.write_documents(&writes).map_err(|e| failed(&e))?;
        store.commit().map_err(|e| failed(&e))?;
    }
    let config = seam_serve::ServeConfig::defaults(&seam_serve::Overrides {
        data_dir: Some(data_dir.clone()),
        http: Some("127.0.0.1:0".into()),
        ..seam_serve::Overrides::default()
    })
    .map_err(|e| failed(&e))?;
    let server = seam_serve::Server::start(&config, load::estate(None)?, load::rules(None)?)
        .map_err(|e| failed(&e))?;
    if !server.wait_ready(std::time::Duration::from_secs(60)) {
        return Err(CliError::Failed("the service did not become ready".into()));
    }
    let mut bearers = bearers.into_iter();
    Ok(AuthBenchService {
        server,
        data_dir,
        integration: bearers.next(),
        admin: bearers.next(),
        analyst: bearers.next(),
    })
}

/// One ingest request of 100 events; its time in ms.
fn auth_bench_ingest(
    client: &mut seam_serve::client::HttpClient,
    auth: Option<&str>,
    label: &str,
) -> Result<f64, CliError> {
    let mut headers = vec![("content-type", "application/x-ndjson")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    let time = crate::wall_clock();
    let mut body = String::with_capacity(100 * 240);
    for n in 0..100 {
        let _ = writeln!(
            body,
            "{{\"uid\":\"auth-{label}-{n}\",\"time\":\"{time}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"alice@example.com\"}},\"src\":{{\"ip\":\"198.51.100.{}\"}},\"app\":\"wiki\"}}",
            n + 1
        );
    }
    let started = Instant::now();
    let response = client
        .request("POST", "/v1/ingest/ndjson", &headers, body.as_bytes())
        .map_err(|e| CliError::Failed(format!("ingest: {e}")))?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if response.status != 200 {
        return Err(CliError::Failed(format!(
            "ingest answered {}: {}",
            response.status,
            response.text()
        )));
    }
    Ok(elapsed)
}

/// One findings query (100 findings); its time in ms.
fn auth_bench_query(
    client: &mut seam_serve::client::HttpClient,
    auth: Option<&str>,
) -> Result<f64, CliError> {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let started = Instant::now();
    let response = client
        .request("GET", "/v1/findings?limit=100", &headers, b"")
        .map_err(|e| CliError::Failed(format!("findings: {e}")))?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if response.status != 200 {
        return Err(CliError::Failed(format!(
            "findings answered {}",
            response.status
        )));
    }
    Ok(elapsed)
}

fn median_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// What authentication costs the HTTP edge: ingest throughput without credentials (no account
/// exists) against the same with an integration token, and a findings query's latency open
/// against an admin's token (the cost of authentication alone) and an analyst's (with
/// pseudonyms). Two services on loopback, measured in interleaved rounds.
pub fn auth(rounds: usize, requests: usize, json: bool) -> Result<ExitCode, CliError> {
    let open = auth_bench_service(false)?;
    let guarded = auth_bench_service(true)?;
    let (open_addr, guarded_addr) = (
        open.server.addresses().http,
        guarded.server.addresses().http,
    );
    // Findings to query: a suspended person's sign-ins, the same on both.
    for service in [&open, &guarded] {
        let mut client = seam_serve::client::HttpClient::new(service.server.addresses().http);
        let mut headers = vec![("content-type", "application/x-ndjson")];
        if let Some(auth) = &service.integration {
            headers.push(("authorization", auth.as_str()));
        }
        let time = crate::wall_clock();
        let body: String = (0..200)
            .map(|n| format!("{{\"uid\":\"auth-finding-{n}\",\"time\":\"{time}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"heidi@example.com\"}},\"src\":{{\"ip\":\"198.51.100.{}\"}},\"app\":\"wiki\"}}\n", n % 200 + 1))
            .collect();
        client
            .request("POST", "/v1/ingest/ndjson", &headers, body.as_bytes())
            .map_err(|e| CliError::Failed(format!("ingest: {e}")))?;
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    // Interleaved request by request, so that whatever else the machine does falls on both.
    // Ingest: the same service and source, without credentials (the source's own, none on
    // loopback) and with an integration token. Queries: the open service, then an admin's
    // and an analyst's token on the guarded one.
    let mut ingest_open = Vec::new();
    let mut ingest_token = Vec::new();
    let mut query_open = Vec::new();
    let mut query_admin = Vec::new();
    let mut query_analyst = Vec::new();
    let mut guarded_client = seam_serve::client::HttpClient::new(guarded_addr);
    let mut open_client = seam_serve::client::HttpClient::new(open_addr);
    for round in 0..rounds.max(1) {
        for request in 0..requests {
            let label = format!("{round}-{request}");
            ingest_open.push(auth_bench_ingest(
                &mut guarded_client,
                None,
                &format!("{label}-open"),
            )?);
            ingest_token.push(auth_bench_ingest(
                &mut guarded_client,
                guarded.integration.as_deref(),
                &format!("{label}-token"),
            )?);
            query_open.push(auth_bench_query(&mut open_client, None)?);
            query_admin.push(auth_bench_query(
                &mut guarded_client,
                guarded.admin.as_deref(),
            )?);
            query_analyst.push(auth_bench_query(
                &mut guarded_client,
                guarded.analyst.as_deref(),
            )?);
        }
    }
    let (ingest_open, ingest_token) = (median_of(&mut ingest_open), median_of(&mut ingest_token));
    let (query_open, query_admin, query_analyst) = (
        median_of(&mut query_open),
        median_of(&mut query_admin),
        median_of(&mut query_analyst),
    );
    for service in [open, guarded] {
        let _ = service.server.shutdown();
        let _ = std::fs::remove_dir_all(&service.data_dir);
    }
    let percent = |base: f64, with: f64| ((with - base) / base.max(1e-9) * 1000.0).round() / 10.0;
    let round3 = |ms: f64| (ms * 1000.0).round() / 1000.0;
    let report = serde_json::json!({
        "benchmark": "auth",
        "rounds": rounds.max(1),
        "requests_per_round": requests,
        "ingest_request_ms_no_credentials": round3(ingest_open),
        "ingest_request_ms_token": round3(ingest_token),
        "ingest_events_per_sec_no_credentials": (100.0 / ingest_open.max(1e-9) * 1000.0).round(),
        "ingest_events_per_sec_token": (100.0 / ingest_token.max(1e-9) * 1000.0).round(),
        "ingest_change_percent": percent(ingest_open, ingest_token),
        "findings_query_ms_open": round3(query_open),
        "findings_query_ms_admin_token": round3(query_admin),
        "findings_query_ms_analyst_token": round3(query_analyst),
        "query_change_percent_admin": percent(query_open, query_admin),
        "query_change_percent_analyst": percent(query_open, query_analyst),
        "note": "medians of requests interleaved one by one, 100 events or findings each; the analyst's answer also replaces names by pseudonyms",
    });
    print_report(&report, json)
}
