//! Every source adapter on arbitrary bytes: the first byte picks the adapter, the rest is the
//! input. Rejections are fine; a panic, or an event that fails validation, is not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_adapters::{Adapter, ParseContext, ZoneMap};
use seam_model::Ts;

const NAMES: &[&str] = &[
    "okta",
    "linux-auth",
    "servicenow",
    "entra",
    "ise",
    "meraki",
    "globalprotect",
    "dhcp",
    "pacs-onvif",
    "pacs-sia",
    "pacs-verkada",
    "pacs-report-csv",
    "uhppote",
    "envoy",
    "zigbee2mqtt",
    "ocsf",
    "ndjson",
    "windows",
    "panos",
    "netflow",
    "nfdump",
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, input)) = data.split_first() else { return };
    let name = NAMES[usize::from(*selector) % NAMES.len()];
    let adapter = if name == "zigbee2mqtt" {
        Adapter::Zigbee2Mqtt(ZoneMap::from([("pir".to_string(), "hq-server".to_string())]))
    } else {
        Adapter::from_name(name).expect("a known adapter")
    };
    let ctx = ParseContext::new(name, Ts(1_772_452_800_000))
        .with_timezone(seam_adapters::timezone("Europe/Amsterdam").expect("a bundled zone"))
        .with_topic("zigbee2mqtt/pir");
    let batch = adapter.parse(input, &ctx).expect("fuzz inputs are small");
    for event in &batch.events {
        assert_eq!(event.validate(), Ok(()));
        assert_eq!(event.source, name);
    }
});
