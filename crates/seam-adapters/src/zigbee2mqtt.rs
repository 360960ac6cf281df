//! Zigbee2MQTT occupancy and presence sensors: the device's state object on
//! `<base topic>/<friendly name>` (`zigbee2mqtt/hq-server-pir` → `{"occupancy":true,…}`).
//!
//! A people count (`people_count`, `people`, `count`: a whole number) is taken as it is; a
//! boolean `occupancy` or `presence` becomes a count of 1 (someone is there) or 0. State
//! updates without either (battery, illuminance) are skipped. The zone comes from the
//! configured map of friendly names; a device without one is rejected. The time is the
//! payload's `last_seen` when Zigbee2MQTT adds it (ISO 8601 or epoch milliseconds), else the
//! receive time.

use serde_json::Value;

use seam_model::{Activity, EventClass};

use crate::common::{self, Collector, Read};
use crate::{Batch, MAX_RECORD_BYTES, ParseContext, ZoneMap, timefmt};

const NAME: &str = "zigbee2mqtt";

/// Counts above this are a sensor fault, not people.
const MAX_COUNT: i64 = 100_000;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext, zones: &ZoneMap) -> Batch {
    let mut collector = Collector::new(ctx);
    let payload = input.trim_ascii();
    if payload.is_empty() {
        return collector.finish();
    }
    if payload.len() > MAX_RECORD_BYTES {
        collector.reject_oversize(1, payload);
        return collector.finish();
    }
    let result = parse_message(payload, ctx, zones);
    collector.record(1, payload, result);
    collector.finish()
}

/// The friendly name in the topic: everything after the base topic; `None` for the bridge's
/// own topics and for command and availability topics.
fn friendly_name(topic: &str) -> Option<&str> {
    let (_, name) = topic.split_once('/')?;
    if name.is_empty() || name.starts_with("bridge/") || name == "bridge" {
        return None;
    }
    for suffix in ["/set", "/get", "/availability"] {
        if name.ends_with(suffix) {
            return None;
        }
    }
    Some(name)
}

fn parse_message(payload: &[u8], ctx: &ParseContext, zones: &ZoneMap) -> Result<Read, String> {
    let topic = ctx
        .topic
        .as_deref()
        .ok_or("no MQTT topic: the caller must pass the topic with the payload")?;
    let Some(device) = friendly_name(topic) else {
        return Ok(Read::Skip("a Zigbee2MQTT bridge topic, not a device"));
    };
    let value: Value =
        serde_json::from_slice(payload).map_err(|error| format!("invalid JSON: {error}"))?;
    let Value::Object(state) = &value else {
        // Some devices publish plain values on sub-topics (`…/occupancy` → `true`).
        return Ok(Read::Skip("a plain value on a device's sub-topic"));
    };
    let count = match people_count(state)? {
        Some(count) => count,
        None => match ["occupancy", "presence"]
            .iter()
            .find_map(|key| state.get(*key).and_then(Value::as_bool))
        {
            Some(occupied) => i64::from(occupied),
            None => return Ok(Read::Skip("a device message without occupancy")),
        },
    };
    let zone = zones.get(device).ok_or_else(|| {
        format!(
            "device `{}` has no zone in the configuration",
            timefmt::shorten(device)
        )
    })?;
    let time = match state.get("last_seen") {
        None | Some(Value::Null) => ctx.observed,
        Some(Value::String(text)) => timefmt::rfc3339(text)?,
        Some(Value::Number(number)) => {
            let millis = number
                .as_i64()
                .ok_or("`last_seen` is not whole milliseconds")?;
            timefmt::epoch_millis(millis)?
        }
        Some(_) => return Err("`last_seen` is neither a time nor epoch milliseconds".to_string()),
    };
    // The same state is published again and again: the time belongs in the digest.
    let uid = common::digest_uid(
        NAME,
        &[topic.as_bytes(), time.0.to_string().as_bytes(), payload],
    );
    let mut event = common::new_event(ctx, uid, time, EventClass::Occupancy, Activity::Count);
    event.zone = Some(zone.clone());
    event.count = Some(count);
    event.raw = Some(serde_json::json!({ "topic": topic, "payload": value }));
    Ok(Read::Event(event))
}

fn people_count(state: &serde_json::Map<String, Value>) -> Result<Option<i64>, String> {
    for key in ["people_count", "people", "count"] {
        if let Some(value) = state.get(key) {
            let count = value
                .as_i64()
                .filter(|count| (0..=MAX_COUNT).contains(count))
                .ok_or_else(|| {
                    format!("`{key}` is not a people count between 0 and {MAX_COUNT}")
                })?;
            return Ok(Some(count));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::Ts;

    fn zones() -> ZoneMap {
        ZoneMap::from([("hq-server-pir".to_string(), "hq-server".to_string())])
    }

    fn ctx(topic: Option<&str>) -> ParseContext {
        let ctx = ParseContext::new("zigbee2mqtt", Ts(1_772_442_000_000));
        match topic {
            Some(topic) => ctx.with_topic(topic),
            None => ctx,
        }
    }

    #[test]
    fn occupancy_becomes_a_count_at_the_receive_time() {
        let batch = parse(
            br#"{"occupancy":true,"battery":97}"#,
            &ctx(Some("zigbee2mqtt/hq-server-pir")),
            &zones(),
        );
        let event = &batch.events[0];
        assert_eq!(event.count, Some(1));
        assert_eq!(event.zone.as_deref(), Some("hq-server"));
        assert_eq!(event.time, Ts(1_772_442_000_000));
    }

    #[test]
    fn the_same_state_at_another_time_is_another_event() {
        let first = parse(
            br#"{"occupancy":false}"#,
            &ctx(Some("zigbee2mqtt/hq-server-pir")),
            &zones(),
        );
        let mut later = ctx(Some("zigbee2mqtt/hq-server-pir"));
        later.observed = later.observed.plus_millis(60_000);
        let second = parse(br#"{"occupancy":false}"#, &later, &zones());
        assert_ne!(first.events[0].uid, second.events[0].uid);
    }

    #[test]
    fn topics_devices_and_values_are_checked() {
        let no_topic = parse(br#"{"occupancy":true}"#, &ctx(None), &zones());
        assert_eq!(
            no_topic.rejected[0].reason,
            "no MQTT topic: the caller must pass the topic with the payload"
        );
        let unknown = parse(
            br#"{"occupancy":true}"#,
            &ctx(Some("zigbee2mqtt/lobby-pir")),
            &zones(),
        );
        assert_eq!(
            unknown.rejected[0].reason,
            "device `lobby-pir` has no zone in the configuration"
        );
        let bridge = parse(
            br#"{"state":"online"}"#,
            &ctx(Some("zigbee2mqtt/bridge/state")),
            &zones(),
        );
        assert_eq!(bridge.skipped, 1);
        let battery = parse(
            br#"{"battery":40}"#,
            &ctx(Some("zigbee2mqtt/hq-server-pir")),
            &zones(),
        );
        assert_eq!(battery.skipped, 1);
        let negative = parse(
            br#"{"people":-2}"#,
            &ctx(Some("zigbee2mqtt/hq-server-pir")),
            &zones(),
        );
        assert_eq!(
            negative.rejected[0].reason,
            "`people` is not a people count between 0 and 100000"
        );
    }
}
