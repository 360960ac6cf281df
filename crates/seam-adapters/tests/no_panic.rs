//! No adapter panics, whatever the bytes: arbitrary input, and the fixtures with random
//! damage (which reaches far deeper into each parser than random bytes do).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use seam_adapters::{Adapter, ParseContext, ZoneMap};
use seam_model::Ts;

const FIXTURES: &[(&str, &[u8])] = &[
    ("okta", include_bytes!("fixtures/okta.jsonl")),
    ("okta", include_bytes!("fixtures/okta-hook.json")),
    ("entra", include_bytes!("fixtures/entra-monitor.jsonl")),
    ("entra", include_bytes!("fixtures/entra-graph.json")),
    ("entra", include_bytes!("fixtures/entra-audit.json")),
    (
        "entra",
        include_bytes!("fixtures/entra-audit-monitor.jsonl"),
    ),
    ("ise", include_bytes!("fixtures/ise.log")),
    ("meraki", include_bytes!("fixtures/meraki.log")),
    (
        "globalprotect",
        include_bytes!("fixtures/globalprotect.log"),
    ),
    ("dhcp", include_bytes!("fixtures/dhcp.log")),
    ("pacs-onvif", include_bytes!("fixtures/pacs-onvif.ndjson")),
    ("pacs-sia", include_bytes!("fixtures/pacs-sia.csv")),
    ("pacs-verkada", include_bytes!("fixtures/pacs-verkada.json")),
    (
        "pacs-report-csv",
        include_bytes!("fixtures/pacs-report-csv.csv"),
    ),
    ("uhppote", include_bytes!("fixtures/uhppote.json")),
    ("envoy", include_bytes!("fixtures/envoy.json")),
    (
        "zigbee2mqtt",
        br#"{"occupancy":true,"people":3,"last_seen":"2026-03-02T09:30:10Z"}"#,
    ),
    ("ocsf", include_bytes!("fixtures/ocsf.ndjson")),
    ("ndjson", include_bytes!("fixtures/ndjson.ndjson")),
    ("linux-auth", include_bytes!("fixtures/linux-auth.log")),
    ("windows", include_bytes!("fixtures/windows.jsonl")),
    ("windows", include_bytes!("fixtures/windows-xml.xml")),
    ("panos", include_bytes!("fixtures/panos.log")),
    ("netflow", include_bytes!("fixtures/netflow.pcap")),
    ("nfdump", include_bytes!("fixtures/nfdump.csv")),
    ("nfdump", include_bytes!("fixtures/nfdump-17.csv")),
];

fn adapter(name: &str) -> Adapter {
    match name {
        "zigbee2mqtt" => Adapter::Zigbee2Mqtt(ZoneMap::from([(
            "hq-server-pir".to_string(),
            "hq-server".to_string(),
        )])),
        _ => Adapter::from_name(name).unwrap(),
    }
}

fn context(name: &str) -> ParseContext {
    ParseContext::new(name, Ts(1_772_452_800_000))
        .with_timezone(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .with_topic("zigbee2mqtt/hq-server-pir")
}

/// Parses and checks the little that must hold for any input.
fn parse_any(name: &str, input: &[u8]) {
    let adapter = adapter(name);
    let batch = adapter.parse(input, &context(name)).unwrap();
    for event in &batch.events {
        assert_eq!(event.validate(), Ok(()));
        // The engine trusts the declaration to decide which rules a slow source holds back.
        if let Some(classes) = adapter.classes() {
            assert!(classes.contains(&event.class), "{name}: {}", event.class);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(which in 0..FIXTURES.len(), bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_any(FIXTURES[which].0, &bytes);
    }

    #[test]
    fn damaged_fixtures(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..24),
        cut in any::<usize>(),
    ) {
        let (name, fixture) = FIXTURES[which];
        let mut input = fixture.to_vec();
        for (position, byte) in edits {
            let position = position % input.len();
            // Mostly structural characters: they break parsers in the interesting places.
            input[position] = match byte % 8 {
                0 => b'"',
                1 => b',',
                2 => b'\n',
                3 => b'{',
                4 => b'=',
                5 => b' ',
                6 => b'\'',
                _ => byte,
            };
        }
        input.truncate(cut % (input.len() + 1));
        parse_any(name, &input);
    }
}

/// Every adapter on the empty input: nothing, and no error.
#[test]
fn empty_input_gives_an_empty_batch() {
    for (name, _) in FIXTURES {
        let batch = adapter(name).parse(b"", &context(name)).unwrap();
        assert!(
            batch.events.is_empty() && batch.rejected.is_empty(),
            "{name}"
        );
    }
}

/// A record over the size limit is rejected on its own, keeping only its first bytes, and
/// its neighbours still come through.
#[test]
fn an_oversize_record_is_rejected_alone() {
    let good = b"<30>Mar  2 08:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32 to 3c:22:fb:00:00:02 via eth1";
    let mut input = good.to_vec();
    input.push(b'\n');
    input.extend(std::iter::repeat_n(
        b'x',
        seam_adapters::MAX_RECORD_BYTES + 1,
    ));
    input.push(b'\n');
    input.extend_from_slice(good);
    let batch = Adapter::Dhcp.parse(&input, &context("dhcp")).unwrap();
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 2);
    assert_eq!(
        batch.rejected[0].raw.len(),
        seam_adapters::MAX_REJECTED_RAW_BYTES
    );
    assert!(
        batch.rejected[0]
            .reason
            .ends_with("is larger than the limit of 1048576 bytes")
    );

    let mut json = br#"[{"uid":"a","time":"2026-03-02T09:00:00Z","source":"s","class":"occupancy","activity":"count","zone":"z","count":1},"#.to_vec();
    json.push(b'"');
    json.extend(std::iter::repeat_n(b'y', seam_adapters::MAX_RECORD_BYTES));
    json.extend_from_slice(b"\"]");
    let batch = Adapter::Ndjson.parse(&json, &context("ndjson")).unwrap();
    assert_eq!((batch.events.len(), batch.rejected.len()), (1, 1));
    assert_eq!(batch.rejected[0].index, 2);
}
