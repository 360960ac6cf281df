//! OCSF events (1.x) of the classes Seam has, passed through to the normalized event:
//!
//! | class_uid | activity_id | Seam |
//! |---|---|---|
//! | 3002 Authentication | 1 Logon, 2 Logoff | `authentication` `logon`, `logoff` |
//! | 4001 Network Activity | 1 Open, 2 Close, 4 Fail, 5 Refuse, 6 Traffic | `network_session` `connect` (failed for 4, 5), `disconnect`; `network_activity` `traffic` |
//! | 4004 DHCP Activity | 1 Assign, 2 Renew, 3 Release | `dhcp` `assign`, `release` |
//! | 5001 Device Inventory Info | any | `device_inventory` `posture` |
//! | 6006 File Hosting Activity | 2 Download, 9 Preview, 14 Open; 1 Upload, 3 Update, 5 Rename, 6 Copy, 7 Move, 8 Restore; 4 Delete | `resource_access` `read`; `write`; `delete` |
//!
//! Other classes and activities are skipped. `time` is epoch milliseconds (or `time_dt`).

use serde_json::Value;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, timefmt};

const NAME: &str = "ocsf";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_json(input, ctx, &[], |value, raw| parse_record(value, raw, ctx))
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(common::scalar_text)
}

fn number(value: &Value, pointer: &str) -> Option<f64> {
    value.pointer(pointer).and_then(Value::as_f64)
}

fn integer(value: &Value, pointer: &str) -> Result<Option<i64>, String> {
    match value.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(found) => found.as_i64().map(Some).ok_or_else(|| {
            format!(
                "`{}` is not a whole number",
                pointer.trim_start_matches('/').replace('/', ".")
            )
        }),
    }
}

fn flag(value: &Value, pointer: &str) -> Option<bool> {
    value.pointer(pointer).and_then(Value::as_bool)
}

fn class_and_activity(
    class_uid: i64,
    activity_id: i64,
) -> Option<(EventClass, Activity, Option<Outcome>)> {
    use Activity as A;
    use EventClass as C;
    Some(match (class_uid, activity_id) {
        (3002, 1) => (C::Authentication, A::Logon, None),
        (3002, 2) => (C::Authentication, A::Logoff, None),
        (4001, 1) => (C::NetworkSession, A::Connect, None),
        (4001, 2) => (C::NetworkSession, A::Disconnect, None),
        (4001, 4 | 5) => (C::NetworkSession, A::Connect, Some(Outcome::Failure)),
        (4001, 6) => (C::NetworkActivity, A::Traffic, None),
        (4004, 1 | 2) => (C::Dhcp, A::Assign, None),
        (4004, 3) => (C::Dhcp, A::Release, None),
        (5001, _) => (C::DeviceInventory, A::Posture, None),
        (6006, 2 | 9 | 14) => (C::ResourceAccess, A::Read, None),
        (6006, 1 | 3 | 5 | 6 | 7 | 8) => (C::ResourceAccess, A::Write, None),
        (6006, 4) => (C::ResourceAccess, A::Delete, None),
        _ => return None,
    })
}

fn parse_record(value: &Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if !value.is_object() {
        return Err("an OCSF event must be a JSON object".to_string());
    }
    let class_uid = integer(value, "/class_uid")?.ok_or("no `class_uid`: not an OCSF event")?;
    let activity_id = integer(value, "/activity_id")?.ok_or("no `activity_id`")?;
    let Some((class, activity, forced_outcome)) = class_and_activity(class_uid, activity_id) else {
        return Ok(Read::Skip(
            "an OCSF class or activity Seam has no class for",
        ));
    };
    let time = match integer(value, "/time")? {
        Some(millis) => timefmt::epoch_millis(millis)?,
        None => {
            let text = text(value, "/time_dt").ok_or("no `time` or `time_dt`")?;
            timefmt::rfc3339(&text)?
        }
    };
    let uid = common::uid_or_digest(text(value, "/metadata/uid").as_deref(), NAME, raw);
    let mut event = common::new_event(ctx, uid, time, class, activity);
    event.outcome = forced_outcome.unwrap_or(match integer(value, "/status_id")? {
        Some(1) => Outcome::Success,
        Some(2) => Outcome::Failure,
        _ => Outcome::Unknown,
    });
    event.reason = text(value, "/status_detail").or_else(|| {
        (event.outcome == Outcome::Failure)
            .then(|| text(value, "/status"))
            .flatten()
    });

    // The subject: `user` (Authentication), else the actor's user.
    let user_at = if value.pointer("/user").is_some() {
        "/user"
    } else {
        "/actor/user"
    };
    event.subject.user = text(value, &format!("{user_at}/email_addr"))
        .or_else(|| text(value, &format!("{user_at}/name")));
    event.subject.idp_id = text(value, &format!("{user_at}/uid"));

    let src_ip = common::ip(text(value, "/src_endpoint/ip").as_deref());
    event.src.city = text(value, "/src_endpoint/location/city");
    event.src.country = text(value, "/src_endpoint/location/country");
    let lat = common::coordinate(number(value, "/src_endpoint/location/lat"), 90.0);
    let lon = common::coordinate(number(value, "/src_endpoint/location/long"), 180.0);
    if lat.is_some() && lon.is_some() {
        event.src.lat = lat;
        event.src.lon = lon;
    }
    event.dst.ip = common::ip(text(value, "/dst_endpoint/ip").as_deref());
    event.dst.host = text(value, "/dst_endpoint/hostname");
    event.dst.port = integer(value, "/dst_endpoint/port")?
        .map(|port| u16::try_from(port).map_err(|_| format!("port {port} is out of range")))
        .transpose()?;

    match class {
        EventClass::Authentication => {
            event.src.ip = src_ip;
            event.mfa = flag(value, "/is_mfa");
            event.app = text(value, "/service/name");
        }
        EventClass::NetworkSession | EventClass::NetworkActivity => {
            event.src.ip = src_ip;
            event.subject.mac = text(value, "/src_endpoint/mac").and_then(|mac| common::mac(&mac));
            if class == EventClass::NetworkActivity {
                event.bytes_out = integer(value, "/traffic/bytes_out")?
                    .map(|bytes| {
                        u64::try_from(bytes).map_err(|_| format!("bytes_out {bytes} is negative"))
                    })
                    .transpose()?;
            }
        }
        EventClass::Dhcp => {
            // The client is the source endpoint; the address is the one leased.
            event.subject.ip = src_ip;
            event.subject.mac = text(value, "/src_endpoint/mac").and_then(|mac| common::mac(&mac));
            if activity == Activity::Assign {
                event.until = integer(value, "/lease_dur")?
                    .filter(|seconds| *seconds > 0)
                    .map(|seconds| time.plus_millis(seconds.saturating_mul(1000)));
            }
        }
        EventClass::DeviceInventory => {
            event.subject.device =
                text(value, "/device/hostname").or_else(|| text(value, "/device/name"));
            event.subject.mac = text(value, "/device/mac").and_then(|mac| common::mac(&mac));
            event.subject.ip = common::ip(text(value, "/device/ip").as_deref());
            event.compliant = flag(value, "/device/is_compliant");
        }
        EventClass::ResourceAccess => {
            event.src.ip = src_ip;
            event.resource = text(value, "/share").or_else(|| text(value, "/file/name"));
        }
        _ => {}
    }
    event.raw = Some(value.clone());
    Ok(Read::Event(event))
}
