#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Vendor formats against the real adapters: every simulated event rendered as its source's
//! record reads back as the same event, on every field the format carries, with the uid the
//! rendering announced; and rendering is deterministic and total on hostile events.

use std::collections::{BTreeMap, HashMap, HashSet};

use seam_adapters::{Adapter, Batch, ParseContext, ZoneMap};
use seam_estate::Estate;
use seam_model::{Activity, Event, EventClass, Medium, Outcome, Subject, Ts};
use seam_twin::calendar::DEFAULT_START_MS;
use seam_twin::vendor::{self, Rendered, VendorRecord, VendorUid};
use seam_twin::world::{WorldSpec, generate};
use seam_twin::{RunSummary, SimSpec, Twin, simulate};

/// Three weekdays of 300 people on three sites, one attack of each kind.
fn simulation() -> (Vec<Event>, RunSummary, ZoneMap) {
    let days = 3;
    let files = generate(&WorldSpec {
        people: 300,
        sites: 3,
        days,
        seed: 11,
        start_ms: DEFAULT_START_MS,
    });
    let estate = Estate::from_files(&files).unwrap();
    let twin = Twin::of(&estate);
    let spec = SimSpec {
        seed: 11,
        days,
        start_ms: DEFAULT_START_MS,
        attacks_per_kind: 1,
    };
    let mut events = Vec::new();
    let summary = simulate(&twin, &spec, 2, |file| {
        for line in file.lines() {
            events.push(serde_json::from_str::<Event>(line).unwrap());
        }
        Ok::<_, ()>(())
    })
    .unwrap();
    // Each occupancy sensor is named after its zone.
    let zones = twin
        .zone_ids
        .iter()
        .map(|zone| (zone.clone(), zone.clone()))
        .collect();
    (events, summary, zones)
}

fn adapter_of(record: &VendorRecord, zones: &ZoneMap) -> Adapter {
    if record.adapter == "zigbee2mqtt" {
        Adapter::Zigbee2Mqtt(zones.clone())
    } else {
        Adapter::from_name(record.adapter).unwrap()
    }
}

fn read_back(event: &Event, record: &VendorRecord, zones: &ZoneMap) -> Batch {
    let mut ctx = ParseContext::new(event.source.as_str(), event.time);
    if let Some(topic) = &record.topic {
        ctx = ctx.with_topic(topic.as_str());
    }
    let mut input = Vec::new();
    if let Some(header) = vendor::header(record.adapter) {
        input.extend_from_slice(header);
        input.push(b'\n');
    }
    input.extend_from_slice(&record.bytes);
    adapter_of(record, zones).parse(&input, &ctx).unwrap()
}

/// The event as the format brings it back: the original, less what the format cannot carry
/// (the losses each renderer documents), with the uid the rendering announced.
fn expected(original: &Event, record: &VendorRecord, read: &Event) -> Event {
    let mut event = original.clone();
    event.raw = None;
    event.observed = None;
    event.uid = match &record.uid {
        VendorUid::Kept => original.uid.clone(),
        VendorUid::Becomes(uid) => uid.clone(),
        VendorUid::Digest => {
            let digest = read
                .uid
                .strip_prefix(record.adapter)
                .and_then(|rest| rest.strip_prefix('-'))
                .unwrap_or_else(|| panic!("{} is not a {} digest", read.uid, record.adapter));
            assert!(
                digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}",
                read.uid
            );
            read.uid.clone()
        }
    };
    let connect = event.activity == Activity::Connect;
    match record.adapter {
        // The MFA context is not read on a logon; an MFA event is `mfa: true` by its type.
        "okta" => event.mfa = (event.activity == Activity::Mfa).then_some(true),
        "meraki" => {
            event.outcome = match (connect, event.outcome) {
                (true, Outcome::Failure) => Outcome::Failure,
                (true, _) => Outcome::Success,
                (false, _) => Outcome::Unknown,
            };
            let code = event
                .reason
                .as_deref()
                .is_some_and(|reason| reason.starts_with("802.11 reason "));
            if connect || !code {
                event.reason = None;
            }
        }
        "ise" => {
            event.outcome = match (connect, event.outcome) {
                (true, Outcome::Failure) => Outcome::Failure,
                (true, _) => Outcome::Success,
                (false, _) => Outcome::Unknown,
            };
        }
        "globalprotect" => {
            if !connect {
                event.outcome = Outcome::Unknown;
            }
            if connect && event.outcome != Outcome::Failure {
                event.reason = None;
            }
        }
        "pacs-verkada" => {
            event.reason = None;
            event.site = None;
            event.outcome = Outcome::Unknown;
        }
        // Badge and site stay in `raw` only.
        "envoy" => {
            event.subject = Subject {
                user: event.subject.user.clone(),
                ..Subject::default()
            };
            event.site = None;
        }
        "dhcp" | "zigbee2mqtt" | "linux-auth" | "servicenow" | "nfdump" => {}
        other => panic!("no expectation for adapter {other}"),
    }
    event
}

#[test]
fn every_simulated_event_reads_back_through_its_adapter() {
    let (events, summary, zones) = simulation();
    assert!(events.len() > 5_000, "{}", events.len());
    let mut per_adapter: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept: BTreeMap<&str, usize> = BTreeMap::new();
    let mut uid_kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut new_uid: HashMap<String, String> = HashMap::new();
    for event in &events {
        let rendered = vendor::render(event);
        *per_adapter.entry(rendered.adapter()).or_default() += 1;
        let record = match rendered {
            Rendered::Vendor(record) => record,
            Rendered::Ndjson { why } => {
                *kept.entry(why).or_default() += 1;
                new_uid.insert(event.uid.clone(), event.uid.clone());
                continue;
            }
        };
        assert!(!record.bytes.contains(&b'\n'), "{record:?}");
        let batch = read_back(event, &record, &zones);
        let text = String::from_utf8_lossy(&record.bytes);
        assert!(
            batch.rejected.is_empty() && batch.skipped == 0 && batch.events.len() == 1,
            "{text}\n{batch:?}"
        );
        let mut read = batch.events.into_iter().next().unwrap();
        assert_eq!(read.observed, Some(event.time));
        assert_eq!(read.source, event.source);
        assert!(read.raw.is_some());
        read.raw = None;
        read.observed = None;
        assert_eq!(read, expected(event, &record, &read), "{text}");
        *uid_kinds
            .entry(match record.uid {
                VendorUid::Kept => "kept",
                VendorUid::Becomes(_) => "becomes",
                VendorUid::Digest => "digest",
            })
            .or_default() += 1;
        new_uid.insert(event.uid.clone(), read.uid);
    }
    eprintln!("records per adapter: {per_adapter:?}");
    eprintln!("kept as NDJSON: {kept:?}");
    eprintln!("uids: {uid_kinds:?}");
    for adapter in vendor::ADAPTERS {
        assert!(
            per_adapter.get(adapter).is_some_and(|n| *n > 0),
            "no {adapter} record in {per_adapter:?}"
        );
    }
    // Read-back uids stay unique (no two records digest alike), so the ground truth, rewritten
    // through the old → new map, still names one event per uid.
    let distinct: HashSet<&String> = new_uid.values().collect();
    assert_eq!(distinct.len(), events.len());
    for scenario in &summary.scenarios {
        for uid in &scenario.events {
            assert!(new_uid.contains_key(uid), "{}: {uid}", scenario.scenario);
        }
    }
}

/// One source's records written as one file, with the uid each read as alone.
struct VendorFile {
    bytes: Vec<u8>,
    uids: Vec<String>,
    latest: Ts,
}

#[test]
fn a_file_of_records_reads_as_the_records_one_by_one() {
    let (events, _, zones) = simulation();
    let mut files: BTreeMap<(&str, &str), VendorFile> = BTreeMap::new();
    for event in &events {
        let Rendered::Vendor(record) = vendor::render(event) else {
            continue;
        };
        if record.topic.is_some() {
            continue; // one MQTT message per call
        }
        let alone = read_back(event, &record, &zones).events.remove(0).uid;
        let file = files
            .entry((record.adapter, event.source.as_str()))
            .or_insert_with(|| VendorFile {
                bytes: vendor::header(record.adapter).unwrap_or_default().to_vec(),
                uids: Vec::new(),
                latest: event.time,
            });
        if !file.bytes.is_empty() {
            file.bytes.push(b'\n');
        }
        file.bytes.extend_from_slice(&record.bytes);
        file.uids.push(alone);
        file.latest = file.latest.max(event.time);
    }
    assert!(files.len() >= 7, "{:?}", files.keys().collect::<Vec<_>>());
    for ((adapter, source), file) in &files {
        let ctx = ParseContext::new(*source, file.latest);
        let batch = Adapter::from_name(adapter)
            .unwrap()
            .parse(&file.bytes, &ctx)
            .unwrap();
        assert!(batch.rejected.is_empty(), "{adapter}: {:?}", batch.rejected);
        let read: Vec<&String> = batch.events.iter().map(|event| &event.uid).collect();
        assert_eq!(
            read,
            file.uids.iter().collect::<Vec<_>>(),
            "{adapter} {source}"
        );
    }
}

// ------------------------------------------------------------------------------- hostile

const TEXTS: &[&str] = &[
    "",
    " ",
    "x",
    "a'b",
    "a,b",
    "a\"b",
    "line\nbreak\r",
    "tab\there",
    "{brace, comma}",
    "back\\slash",
    "EXAMPLE\\trailing\\",
    "ünïcødé ✓",
    ",GLOBALPROTECT,",
    "bridge/state",
    "zone/set",
    "host/x.example.com",
    "anonymous@example.com",
    "3c:22:fb:00:00:01",
    "3C-22-FB-00-00-0A",
    "Gi1/0/1",
    "sw1:Gi1/0/1",
    ":",
    "- - -",
    "CISE_Passed_Authentications 1 0",
    "DHCPACK on 10.0.0.1 to 3c:22:fb:00:00:01",
    "type=association",
    "802.11 reason 8",
    "802.11 reason x",
    "a-b",
    "-",
    "sim-001-0000001",
];

const SOURCES: &[&str] = &[
    "okta",
    "meraki",
    "ise",
    "globalprotect",
    "dhcp",
    "pacs-hq",
    "pacs-",
    "visitors",
    "bms",
    "rooms",
    "mdm",
    "netflow",
    "fileserver",
    "linux-auth",
];

const TIMES: &[i64] = &[
    i64::MIN,
    -1,
    0,
    999,
    1_772_442_303_042,
    1_772_442_303_999,
    253_402_300_799_999,
    253_402_300_800_000,
    i64::MAX,
];

/// A small deterministic generator, so the hostile events are the same on every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn text(&mut self) -> Option<String> {
        match self.next() % 5 {
            0 => None,
            1 => Some("é,'\"{}\n".repeat(2_000)),
            _ => Some((*self.pick(TEXTS)).to_string()),
        }
    }

    fn number(&mut self) -> Option<f64> {
        *self.pick(&[
            None,
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(-90.0),
            Some(44.43),
            Some(1e300),
            Some(-0.0),
        ])
    }
}

fn hostile_events() -> Vec<Event> {
    let mut draw = Draw(0x5ea3);
    let mut events = Vec::new();
    for source in SOURCES {
        for class in EventClass::ALL {
            // Most draws go to the classes the source has a vendor format for.
            let vendor_class = match *source {
                "okta" => Some(EventClass::Authentication),
                "meraki" | "ise" | "globalprotect" => Some(EventClass::NetworkSession),
                "dhcp" => Some(EventClass::Dhcp),
                "visitors" => Some(EventClass::Visitor),
                "bms" => Some(EventClass::Occupancy),
                pacs if pacs.starts_with("pacs-") => Some(EventClass::PhysicalAccess),
                _ => None,
            };
            let draws = if vendor_class == Some(*class) { 150 } else { 4 };
            for activity in Activity::ALL.iter().filter(|a| class.admits(**a)) {
                for _ in 0..draws {
                    let uid = draw.text().unwrap_or_else(|| "u".to_string());
                    let time = Ts(*draw.pick(TIMES));
                    let mut event = Event::new(uid, time, *source, *class, *activity);
                    event.outcome = *draw.pick(Outcome::ALL);
                    event.reason = draw.text();
                    event.subject.badge = draw.text();
                    event.subject.user = draw.text();
                    event.subject.idp_id = draw.text();
                    event.subject.device = draw.text();
                    event.subject.mac = draw.text();
                    event.subject.ip = draw
                        .pick(&[None, Some("10.0.0.1"), Some("0.0.0.0"), Some("2001:db8::7")])
                        .and_then(|ip| ip.parse().ok());
                    event.src.ip = draw
                        .pick(&[None, Some("198.51.100.7"), Some("::1")])
                        .and_then(|ip| ip.parse().ok());
                    event.src.city = draw.text();
                    event.src.country = draw.text();
                    event.src.lat = draw.number();
                    event.src.lon = draw.number();
                    event.site = draw.text();
                    event.zone = draw.text();
                    event.door = draw.text();
                    event.reader = draw.text();
                    event.ap = draw.text();
                    event.switch_port = draw.text();
                    event.app = draw.text();
                    event.medium = *draw.pick(&[
                        None,
                        Some(Medium::Wifi),
                        Some(Medium::Wired),
                        Some(Medium::Vpn),
                    ]);
                    event.count = *draw.pick(&[None, Some(-1), Some(0), Some(7), Some(i64::MAX)]);
                    event.mfa = *draw.pick(&[None, Some(true), Some(false)]);
                    event.compliant = *draw.pick(&[None, Some(true), Some(false)]);
                    event.until = draw
                        .pick(&[
                            None,
                            Some(-5_000),
                            Some(1_000),
                            Some(43_200_000),
                            Some(i64::MAX),
                        ])
                        .map(|delta: i64| time.plus_millis(delta));
                    events.push(event);
                }
            }
        }
    }
    events
}

#[test]
fn rendering_is_deterministic_total_and_one_line_on_hostile_events() {
    let events = hostile_events();
    let zones: ZoneMap = TEXTS
        .iter()
        .map(|text| (text.to_string(), "z".to_string()))
        .collect();
    let mut vendor_records = 0;
    let mut read = 0;
    for event in &events {
        let rendered = vendor::render(event);
        assert_eq!(rendered, vendor::render(event), "{event:?}");
        let Rendered::Vendor(record) = rendered else {
            continue;
        };
        vendor_records += 1;
        assert!(
            !record.bytes.contains(&b'\n') && !record.bytes.contains(&b'\r'),
            "{record:?}"
        );
        assert!(std::str::from_utf8(&record.bytes).is_ok());
        // The adapter reads it as one event, whatever the values.
        let batch = read_back(event, &record, &zones);
        assert_eq!(
            batch.events.len(),
            1,
            "{}\n{batch:?}",
            String::from_utf8_lossy(&record.bytes)
        );
        // With the uid the rendering announced.
        let uid = &batch.events[0].uid;
        match &record.uid {
            VendorUid::Kept => assert_eq!(uid, &event.uid),
            VendorUid::Becomes(announced) => assert_eq!(uid, announced),
            VendorUid::Digest => assert!(uid.starts_with(&format!("{}-", record.adapter))),
        }
        read += 1;
    }
    eprintln!(
        "{} hostile events, {vendor_records} vendor records, {read} read back",
        events.len()
    );
    assert!(vendor_records > 1_000, "{vendor_records}");
}
