//! UHPPOTE access controller events as uhppoted-mqtt publishes them (topics
//! `uhppoted/gateway/events` and `…/events/live`), and as it answers `get-event`:
//!
//! ```json
//! {"message": {"event": {"device-id": 405419896, "event-id": 50, "event-type": 1,
//!   "access-granted": true, "door-id": 4, "direction": 1, "card-number": 8165538,
//!   "timestamp": "2026-03-02 08:50:00 CET", "event-reason": 1}}}
//! ```
//!
//! The event may also be bare, under `event`, or in a reply's `response`. Its reader is
//! `<device-id>:<door-id>` (list it among the door's readers in the estate). The controller
//! writes local time, sometimes with a zone abbreviation: it is read in the source's zone,
//! and an abbreviation must agree with it.

use serde::Deserialize;
use serde_json::Value;

use seam_model::{Activity, EventClass, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "uhppote";

/// Event reasons (uhppote-core's codes) that name their own activity.
const REASON_ANTI_PASSBACK: i64 = 0x08;
const REASON_PUSH_BUTTON: i64 = 0x14;
const REASON_DOOR_OPENED: i64 = 0x17;
const REASON_OPEN_TOO_LONG: i64 = 0x25;
const REASON_FORCED_OPEN: i64 = 0x26;
const EVENT_TYPE_SWIPE: i64 = 1;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    let mut sequences = Vec::new();
    let mut batch = common::parse_json(input, ctx, &[], |value, raw| {
        if let Some(sequence) = sequence_of(value) {
            sequences.push(sequence);
        }
        parse_record(value, raw, ctx)
    });
    batch.sequences = sequences;
    batch
}

/// A controller numbers its events: the stream is the controller, the number its event id.
fn sequence_of(value: &Value) -> Option<(String, u64)> {
    let event = find_event(value)?;
    let device = event.get("device-id")?.as_u64()?;
    let id = event.get("event-id")?.as_u64()?;
    Some((device.to_string(), id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
struct ControllerEvent {
    device_id: Option<u64>,
    event_id: Option<u64>,
    event_type: Option<i64>,
    event_reason: Option<i64>,
    event_reason_text: Option<String>,
    access_granted: Option<bool>,
    door_id: Option<u8>,
    card_number: Option<u64>,
    timestamp: Option<String>,
}

/// The event object wherever the envelope put it.
fn find_event(value: &Value) -> Option<&Value> {
    for pointer in [
        "/message/event",
        "/message/reply/response/event",
        "/message/reply/event",
        "/event",
        "/response/event",
    ] {
        if let Some(event) = value.pointer(pointer).filter(|event| event.is_object()) {
            return Some(event);
        }
    }
    value.get("event-type").is_some().then_some(value)
}

fn parse_record(value: &Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("a uhppoted message must be a JSON object".to_string());
    }
    let Some(event_value) = find_event(value) else {
        // The gateway's own requests and other replies share the topics.
        if value.pointer("/message/request").is_some() || value.pointer("/message/reply").is_some()
        {
            return Ok(Read::Skip(
                "a uhppoted gateway request or reply, not an event",
            ));
        }
        return Err("no `event` object: not a uhppoted event".to_string());
    };
    let event: ControllerEvent = common::typed(event_value)?;
    let reason = event.event_reason.unwrap_or(0);
    let activity = match reason {
        REASON_ANTI_PASSBACK => Activity::AntiPassback,
        REASON_PUSH_BUTTON => Activity::RequestToExit,
        REASON_DOOR_OPENED => Activity::DoorUsed,
        REASON_OPEN_TOO_LONG => Activity::HeldOpen,
        REASON_FORCED_OPEN => Activity::Forced,
        _ => {
            let card = event.card_number.unwrap_or(0);
            let swipe = event.event_type == Some(EVENT_TYPE_SWIPE) || card != 0;
            match (swipe, event.access_granted) {
                (true, Some(true)) => Activity::Granted,
                (true, Some(false)) => Activity::Denied,
                _ => {
                    return Ok(Read::Skip(
                        "a controller event that is neither a card swipe nor a door event",
                    ));
                }
            }
        }
    };
    let device = event.device_id.ok_or("no `device-id`")?;
    let door = event.door_id.ok_or("no `door-id`")?;
    let stamp = event.timestamp.as_deref().ok_or("no `timestamp`")?;
    let time = controller_time(stamp, ctx)?;
    let vendor_id = event.event_id.map(|id| format!("{device}-{id}"));
    let uid = common::uid_or_digest(vendor_id.as_deref(), NAME, raw);
    let mut out = common::new_event(ctx, uid, time, EventClass::PhysicalAccess, activity);
    out.reader = Some(format!("{device}:{door}"));
    out.subject.badge = event
        .card_number
        .filter(|card| *card != 0)
        .map(|card| card.to_string());
    if matches!(activity, Activity::Denied | Activity::AntiPassback) {
        out.reason = common::clean(event.event_reason_text.as_deref())
            .or_else(|| (reason != 0).then(|| format!("reason {reason}")));
    }
    out.raw = Some(value.clone());
    Ok(Read::Event(out))
}

/// `2026-03-02 08:50:00`, optionally followed by a zone abbreviation or an offset.
fn controller_time(stamp: &str, ctx: &ParseContext) -> Result<Ts, String> {
    let stamp = stamp.trim();
    let (civil_part, zone_part) = match stamp.get(19..) {
        Some(rest) if !rest.trim().is_empty() => (stamp.get(..19).unwrap_or(stamp), Some(rest)),
        _ => (stamp, None),
    };
    let datetime = timefmt::civil(civil_part)?;
    match zone_part {
        Some(zone) => timefmt::with_abbreviation(datetime, zone, &ctx.timezone),
        None => timefmt::local(datetime, &ctx.timezone),
    }
}
