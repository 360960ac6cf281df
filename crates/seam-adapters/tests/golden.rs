//! Golden tests: every adapter reads its fixture (made-up people of the example estate, in
//! each vendor's real record shapes) and the normalized output must equal the checked-in
//! file under `tests/golden/`. Rerun with `SEAM_UPDATE_GOLDEN=1` to accept a change.
//!
//! Every batch also goes through one shared contract check, whatever the adapter: events
//! valid, stamped with the source and receive time, raw kept, uids unique, times in bounds,
//! and the same input giving the same batch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use seam_adapters::{Adapter, Batch, ParseContext, ZoneMap};
use seam_model::Ts;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// Noon UTC on the demo day; vendor local times are Amsterdam's.
fn context(source: &str) -> ParseContext {
    ParseContext::new(source, Ts::parse("2026-03-02T12:00:00Z").unwrap())
        .with_timezone(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
}

fn zones() -> ZoneMap {
    ZoneMap::from([
        ("hq-server-pir".to_string(), "hq-server".to_string()),
        ("hq-server-radar".to_string(), "hq-server".to_string()),
    ])
}

/// The contract every adapter keeps, checked on every golden batch.
fn check_contract(adapter: &Adapter, input: &[u8], ctx: &ParseContext, batch: &Batch) {
    let mut uids = BTreeSet::new();
    for event in &batch.events {
        assert_eq!(event.validate(), Ok(()), "{}: {event:?}", adapter.name());
        assert_eq!(event.source, ctx.source);
        if let Some(classes) = adapter.classes() {
            assert!(
                classes.contains(&event.class),
                "{} yields {} but does not declare it",
                adapter.name(),
                event.class
            );
        }
        assert_eq!(event.observed, Some(ctx.observed));
        // Seam's own NDJSON is already normalized: its `raw` is whatever the event carried.
        if !matches!(adapter, Adapter::Ndjson) {
            assert!(
                event.raw.is_some(),
                "{}: no raw in {}",
                adapter.name(),
                event.uid
            );
        }
        assert!(
            uids.insert(event.uid.clone()),
            "duplicate uid {}",
            event.uid
        );
        assert!(event.time <= ctx.observed.plus_millis(ctx.max_ahead_ms));
        assert!(event.time >= ctx.observed.minus_millis(ctx.max_behind_ms));
    }
    for rejected in &batch.rejected {
        assert!(rejected.index >= 1);
        assert!(!rejected.reason.is_empty());
    }
    // Every skip has its reason, and the reasons account for every skip.
    assert_eq!(
        batch.skip_reasons.values().sum::<usize>(),
        batch.skipped,
        "{}: skips without a reason",
        adapter.name()
    );
    assert!(batch.skip_reasons.keys().all(|reason| !reason.is_empty()));
    let again = adapter.parse(input, ctx).unwrap();
    assert_eq!(&again, batch, "{} is not deterministic", adapter.name());
}

/// The batch as NDJSON: events, then dead letters, then the skipped count.
fn render(batch: &Batch) -> String {
    let mut out = String::new();
    for event in &batch.events {
        out.push_str(&serde_json::to_string(event).unwrap());
        out.push('\n');
    }
    for rejected in &batch.rejected {
        let line = serde_json::json!({
            "rejected": {"index": rejected.index, "reason": rejected.reason}
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.push_str(
        &serde_json::json!({ "skipped": batch.skipped, "because": batch.skip_reasons }).to_string(),
    );
    out.push('\n');
    out
}

fn compare(golden_name: &str, found: &str) {
    let path = dir("golden").join(format!("{golden_name}.ndjson"));
    if std::env::var_os("SEAM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, found).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with SEAM_UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        found, golden,
        "{golden_name} output changed; rerun with SEAM_UPDATE_GOLDEN=1 if intended"
    );
}

fn golden(adapter: Adapter, fixture: &str) -> Batch {
    let input = std::fs::read(dir("fixtures").join(fixture)).unwrap();
    let ctx = context(adapter.name());
    let batch = adapter.parse(&input, &ctx).unwrap();
    check_contract(&adapter, &input, &ctx, &batch);
    let golden_name = fixture.split('.').next().unwrap();
    compare(golden_name, &render(&batch));
    batch
}

fn counts(batch: &Batch) -> (usize, usize, usize) {
    (batch.events.len(), batch.rejected.len(), batch.skipped)
}

#[test]
fn okta_system_log() {
    let batch = golden(Adapter::Okta, "okta.jsonl");
    // Every event type is kept: the profile update is an account change.
    assert_eq!(counts(&batch), (6, 2, 0));
    let failure = batch
        .events
        .iter()
        .find(|e| e.reason.as_deref() == Some("INVALID_CREDENTIALS"))
        .unwrap();
    assert_eq!(failure.subject.user.as_deref(), Some("carol@example.com"));
    assert_eq!(failure.src.city.as_deref(), Some("Bucharest"));
    assert_eq!(failure.reason.as_deref(), Some("INVALID_CREDENTIALS"));
}

#[test]
fn okta_event_hook() {
    let batch = golden(Adapter::Okta, "okta-hook.json");
    assert_eq!(counts(&batch), (2, 0, 0));
}

#[test]
fn entra_azure_monitor_export() {
    let batch = golden(Adapter::Entra, "entra-monitor.jsonl");
    // The audit record on the same hub is kept (a directory audit), not skipped.
    assert_eq!(counts(&batch), (4, 0, 0));
    assert_eq!(batch.events[0].mfa, Some(true));
    assert_eq!(batch.events[0].time.to_string(), "2026-03-02T07:56:02.123Z");
    assert_eq!(
        batch.events[1].outcome,
        seam_model::Outcome::Unknown,
        "an interrupt"
    );
}

#[test]
fn entra_graph_sign_ins() {
    let batch = golden(Adapter::Entra, "entra-graph.json");
    assert_eq!(counts(&batch), (1, 1, 0));
}

#[test]
fn cisco_ise() {
    use seam_model::EventClass;
    let batch = golden(Adapter::Ise, "ise.log");
    // Every category that reports something is an event: network sessions, a switch's
    // accounting going off and on, administrators signing in to ISE and
    // changing its configuration, the guest and My Devices portals, TACACS+ device
    // administration, posture, the profiler, ISE's own operations and alarms. A bad offset,
    // an audit record cut before its class and an alarm without a name are rejected; a
    // continuation segment, an interim accounting update (its session's start said it all),
    // system statistics, RADIUS diagnostics, posture diagnostics without a status and
    // accounting of an unknown status type are skipped.
    assert_eq!(counts(&batch), (36, 3, 6));
    let classes: BTreeSet<EventClass> = batch.events.iter().map(|e| e.class).collect();
    assert_eq!(
        classes,
        [
            EventClass::Authentication,
            EventClass::NetworkSession,
            EventClass::DeviceInventory,
            EventClass::DeviceStatus,
            EventClass::EntityManagement,
            EventClass::ApiActivity,
        ]
        .into()
    );
    assert_eq!(
        batch
            .skip_reasons
            .get("interim accounting update: the session was reported at its start"),
        Some(&1)
    );
    assert_eq!(
        batch.events[0].switch_port.as_deref(),
        Some("hq-sw1:Gi1/0/7")
    );
    assert_eq!(
        batch.events[0].subject.device.as_deref(),
        Some("hq-ws-alice")
    );
}

#[test]
fn meraki() {
    use seam_model::{Activity, EventClass, Outcome};
    let batch = golden(Adapter::Meraki, "meraki.log");
    // Every feed is read: Wi-Fi and VPN sessions, DHCP, flows and firewall decisions, a NAT
    // flow, URLs, IDS alerts, scanned files, Air Marshal, splash pages, switch ports and
    // uplinks, AnyConnect sign-ins, ARP inspection. Rejected: a line cut inside a quote (twice),
    // a line that is not syslog, an IDS alert without its message, a URL record without its
    // request. Skipped: a tunnel added within an AnyConnect session, a load-balancing notice
    // and a summary that name no client, a site-to-site negotiation step, an unknown type.
    assert_eq!(counts(&batch), (42, 5, 5));
    let traffic: Vec<&seam_model::Event> = batch
        .events
        .iter()
        .filter(|e| e.class == EventClass::NetworkActivity)
        .collect();
    assert_eq!(traffic.len(), 15);
    // Meraki's traffic records carry no byte counts.
    assert!(traffic.iter().all(|e| e.bytes_out.is_none()));
    let denied = traffic.iter().find(|e| e.dst.port == Some(3389)).unwrap();
    assert_eq!(
        (denied.activity, denied.outcome, denied.subject.ip),
        (Activity::Traffic, Outcome::Failure, denied.src.ip)
    );
}

#[test]
fn globalprotect() {
    let batch = golden(Adapter::GlobalProtect, "globalprotect.log");
    // Every stage is kept: the gateway sign-in and the portal's pre-login too.
    assert_eq!(counts(&batch), (6, 2, 0));
    assert_eq!(batch.events[1].time.to_string(), "2026-03-02T02:00:00.000Z");
}

#[test]
fn entra_directory_audits() {
    use seam_model::{Activity, EventClass};
    let batch = golden(Adapter::Entra, "entra-audit.json");
    assert_eq!(counts(&batch), (4, 0, 0));
    let kinds: Vec<(EventClass, Activity)> =
        batch.events.iter().map(|e| (e.class, e.activity)).collect();
    assert_eq!(
        kinds,
        [
            (EventClass::AccountChange, Activity::PasswordReset),
            (EventClass::AccountChange, Activity::PolicyAttached),
            (EventClass::EntityManagement, Activity::EntityCreated),
            (EventClass::AccountChange, Activity::AccountDeleted),
        ]
    );
    // An account change names the account changed; the administrator stays in the record.
    assert_eq!(
        batch.events[0].subject.user.as_deref(),
        Some("alice@example.com")
    );
    let monitor = golden(Adapter::Entra, "entra-audit-monitor.jsonl");
    assert_eq!(counts(&monitor), (1, 0, 1));
    assert_eq!(monitor.events[0].activity, Activity::AccountDisabled);
}

#[test]
fn linux_auth() {
    let batch = golden(Adapter::LinuxAuth, "linux-auth.log");
    // 14 events (a console session at hq-db1 among them); the connection closed before
    // authentication and the login program's own note are skipped; cron and a line that is not
    // syslog are rejected.
    assert_eq!(counts(&batch), (14, 2, 2));
    assert!(batch.events.iter().all(|e| e.asset.is_some()));
}

#[test]
fn dhcp() {
    let batch = golden(Adapter::Dhcp, "dhcp.log");
    assert_eq!(counts(&batch), (6, 2, 3));
}

#[test]
fn pacs_onvif() {
    let batch = golden(
        Adapter::from_name("pacs-onvif").unwrap(),
        "pacs-onvif.ndjson",
    );
    assert_eq!(counts(&batch), (7, 2, 1));
}

#[test]
fn pacs_sia() {
    let batch = golden(Adapter::from_name("pacs-sia").unwrap(), "pacs-sia.csv");
    assert_eq!(counts(&batch), (8, 2, 1));
}

#[test]
fn pacs_verkada() {
    let batch = golden(
        Adapter::from_name("pacs-verkada").unwrap(),
        "pacs-verkada.json",
    );
    assert_eq!(counts(&batch), (4, 1, 1));
}

#[test]
fn pacs_report_csv() {
    let batch = golden(
        Adapter::from_name("pacs-report-csv").unwrap(),
        "pacs-report-csv.csv",
    );
    assert_eq!(counts(&batch), (6, 2, 1));
}

#[test]
fn uhppote() {
    let batch = golden(Adapter::Uhppote, "uhppote.json");
    assert_eq!(counts(&batch), (6, 2, 2));
}

#[test]
fn envoy() {
    let batch = golden(Adapter::Envoy, "envoy.json");
    assert_eq!(counts(&batch), (2, 1, 1));
}

#[test]
fn ocsf() {
    let batch = golden(Adapter::Ocsf, "ocsf.ndjson");
    assert_eq!(counts(&batch), (6, 2, 1));
}

#[test]
fn ndjson() {
    let batch = golden(Adapter::Ndjson, "ndjson.ndjson");
    assert_eq!(counts(&batch), (2, 3, 0));
}

#[test]
fn netflow_pcap() {
    use seam_model::{Activity, EventClass};
    let batch = golden(Adapter::Netflow, "netflow.pcap");
    // v5: 3 flows; v9: 2 after the template; IPFIX: 2. The data before its template, the
    // flow from the future, the set without a template, the fragment and the DNS packet are
    // dead letters; ARP, TCP and the options record are skipped.
    assert_eq!(counts(&batch), (7, 5, 3));
    assert!(
        batch
            .events
            .iter()
            .all(|e| e.class == EventClass::NetworkActivity
                && e.activity == Activity::Traffic
                && e.subject.ip == e.src.ip)
    );
    let streams: std::collections::BTreeSet<&str> = batch
        .sequences
        .iter()
        .map(|(stream, _)| stream.as_str())
        .collect();
    assert_eq!(
        streams,
        ["10.10.0.1/0/v5", "10.20.0.1/1/v9", "10.30.0.1/5/v10"].into()
    );
}

#[test]
fn nfdump_csv() {
    let batch = golden(Adapter::Nfdump, "nfdump.csv");
    // Five flows (TCP, UDP, ICMP, IPv6, GRE); a bad address, an end before the start, a
    // negative byte count and a short row rejected; the summary's three lines skipped.
    assert_eq!(counts(&batch), (5, 4, 3));
    assert_eq!(batch.events[0].time.to_string(), "2026-03-02T09:20:30.000Z");
    assert_eq!(batch.events[0].bytes_out, Some(95_000));
    assert_eq!(batch.events[0].subject.mac, None);
    assert_eq!(
        batch.events[1].subject.mac.as_deref(),
        Some("3c:22:fb:00:00:01")
    );
    assert_eq!(batch.events[4].dst.port, None, "GRE has no ports");
    let newer = golden(Adapter::Nfdump, "nfdump-17.csv");
    // 1.7's long names in another order: two flows; a byte count past u64, an absurd one and
    // a zero time rejected; the four lines of the text summary skipped.
    assert_eq!(counts(&newer), (2, 3, 4));
    assert_eq!(newer.events[0].time.to_string(), "2026-03-02T09:46:30.750Z");
}

/// MQTT: one payload per message, its topic beside it (`topic<TAB>payload` per fixture line).
#[test]
fn zigbee2mqtt() {
    let adapter = Adapter::Zigbee2Mqtt(zones());
    let text = std::fs::read_to_string(dir("fixtures").join("zigbee2mqtt.tsv")).unwrap();
    let mut all = Batch::default();
    for (number, line) in text.lines().enumerate() {
        let (topic, payload) = line.split_once('\t').unwrap();
        let ctx = context("zigbee2mqtt").with_topic(topic);
        let batch = adapter.parse(payload.as_bytes(), &ctx).unwrap();
        check_contract(&adapter, payload.as_bytes(), &ctx, &batch);
        all.events.extend(batch.events);
        all.rejected
            .extend(batch.rejected.into_iter().map(|mut rejected| {
                rejected.index = number + 1;
                rejected
            }));
        all.skipped += batch.skipped;
        for (reason, count) in batch.skip_reasons {
            *all.skip_reasons.entry(reason).or_default() += count;
        }
    }
    compare("zigbee2mqtt", &render(&all));
    assert_eq!(counts(&all), (3, 2, 2));
}

#[test]
fn servicenow_change_requests() {
    use seam_model::Activity;
    let batch = golden(Adapter::ServiceNow, "servicenow.json");
    // An end before the start, an unknown state and a string are dead letters; a record of
    // another table is skipped.
    assert_eq!(counts(&batch), (5, 3, 1));
    let activities: Vec<Activity> = batch.events.iter().map(|e| e.activity).collect();
    assert_eq!(
        activities,
        [
            Activity::ChangeScheduled,
            Activity::ChangeScheduled,
            Activity::ChangePending,
            Activity::ChangeClosed,
            Activity::ChangeCancelled
        ]
    );
}

#[test]
fn windows_winlogbeat() {
    use seam_model::Activity;
    let batch = golden(Adapter::Windows, "windows.jsonl");
    // The desktop window manager, a service account's and SYSTEM's service logons and SYSTEM's
    // privileges are skipped as noise, with a process creation and a System-log record; a
    // record without its user, one with a garbled event id and a cut line are rejected.
    assert_eq!(counts(&batch), (14, 3, 6));
    assert_eq!(batch.skip_reasons.get("service or system logon"), Some(&4));
    // A machine account stays a machine account.
    assert!(
        batch
            .events
            .iter()
            .any(|e| e.subject.user.as_deref() == Some("HQ-WS-DAN$"))
    );
    // Only the special-privileges record is privileged.
    let privileged: Vec<&str> = batch
        .events
        .iter()
        .filter(|e| e.privileged)
        .map(|e| e.uid.as_str())
        .collect();
    assert_eq!(privileged, ["windows-hq-db1.corp.example-5528302"]);
    assert!(
        batch
            .events
            .iter()
            .any(|e| e.activity == Activity::AccountLocked)
    );
}

#[test]
fn windows_xml() {
    let batch = golden(Adapter::Windows, "windows-xml.xml");
    // A record cut short, one with mismatched tags, a line that is not XML and a sign-in
    // without its user are rejected, each on the line it starts on; SYSTEM's service logon
    // and the log-cleared record are skipped.
    assert_eq!(counts(&batch), (8, 4, 2));
    let lines: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, [12, 13, 14, 15]);
    // The same record read from Winlogbeat and from XML has the same uid.
    let json = Adapter::Windows
        .parse(
            &std::fs::read(dir("fixtures").join("windows.jsonl")).unwrap(),
            &context("windows"),
        )
        .unwrap();
    let uid = "windows-hq-db1.corp.example-5528301";
    let from_xml = batch.events.iter().find(|e| e.uid == uid).unwrap();
    let from_json = json.events.iter().find(|e| e.uid == uid).unwrap();
    assert_eq!(
        (
            from_xml.time,
            &from_xml.subject,
            &from_xml.src,
            &from_xml.app
        ),
        (
            from_json.time,
            &from_json.subject,
            &from_json.src,
            &from_json.app
        )
    );
}

#[test]
fn panos() {
    let batch = golden(Adapter::Panos, "panos.log");
    // SYSTEM and CONFIG records are skipped; a cut TRAFFIC line, a line that is not PAN-OS and
    // a record with an impossible time are rejected.
    assert_eq!(counts(&batch), (10, 3, 2));
    // Only the end of a session counts bytes.
    let with_bytes: Vec<u64> = batch.events.iter().filter_map(|e| e.bytes_out).collect();
    assert_eq!(with_bytes, [812, 734_003_200]);
    // The GlobalProtect line reads exactly as the `globalprotect` adapter reads it.
    let text = std::fs::read_to_string(dir("fixtures").join("panos.log")).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(",GLOBALPROTECT,"))
        .unwrap();
    let ctx = context("panos");
    let mut expected = Adapter::GlobalProtect
        .parse(line.as_bytes(), &ctx)
        .unwrap()
        .events;
    let from_panos: Vec<_> = batch
        .events
        .iter()
        .filter(|e| e.uid == expected[0].uid)
        .cloned()
        .collect();
    expected[0].source = "panos".to_string();
    assert_eq!(from_panos, expected);
}
