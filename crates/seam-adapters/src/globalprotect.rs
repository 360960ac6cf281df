//! PAN-OS GlobalProtect logs over syslog: a syslog header, then the CSV record of the
//! `GLOBALPROTECT` log type (PAN-OS 9.1 and later):
//!
//! ```text
//! FUTURE_USE, Receive Time, Serial, Type, Subtype, FUTURE_USE, Generated Time, Virtual System,
//! Event ID, Stage, Auth Method, Tunnel Type, Source User, Source Region, Machine Name,
//! Public IP, Public IPv6, Private IP, Private IPv6, Host ID, Serial Number, Client Version,
//! Client OS, Client OS Version, Repeat Count, Reason, Error, Description, Status, Location,
//! Login Duration, Connect Method, Error Code, Portal, Sequence Number, Action Flags,
//! High Res Timestamp, …
//! ```
//!
//! Every stage is kept (see [`stage`]): the sign-ins to the portal and the gateway are
//! authentication, a failed gateway sign-in also a failed VPN connect; fetching the gateway's
//! configuration, registering and setting up the tunnel are a VPN connect (the session the
//! rules see, even where a firewall logs no `gateway-connected`); logging out and releasing the
//! configuration a disconnect; the host information checks are device posture. Tunnel latency
//! and agent messages carry nothing about the session and are skipped, each with its reason.

use seam_model::{Activity, EventClass, Medium, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, csv, timefmt};

const NAME: &str = "globalprotect";

const GENERATED_TIME: usize = 6;
const EVENT_ID: usize = 8;
const SOURCE_USER: usize = 12;
const SOURCE_REGION: usize = 13;
const MACHINE_NAME: usize = 14;
const PUBLIC_IP: usize = 15;
const PUBLIC_IPV6: usize = 16;
const PRIVATE_IP: usize = 17;
const PRIVATE_IPV6: usize = 18;
const REASON: usize = 25;
const ERROR: usize = 26;
const DESCRIPTION: usize = 27;
const STATUS: usize = 28;
const SERIAL: usize = 2;
const SEQUENCE: usize = 34;
const HIGH_RES_TIME: usize = 36;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

/// The CSV record inside the line: it starts two fields before `,GLOBALPROTECT,`, at the
/// token that follows the syslog header (the receive time holds a space, so the start is
/// found from the type field backwards).
fn csv_part(line: &str) -> Option<&str> {
    let type_at = line.find(",GLOBALPROTECT,")?;
    let before = line.get(..type_at)?;
    let serial_comma = before.rfind(',')?;
    let receive_comma = before.get(..serial_comma)?.rfind(',')?;
    let head = before.get(..receive_comma)?;
    let start = head.rfind(' ').map_or(0, |space| space + 1);
    line.get(start..)
}

/// Reads one GlobalProtect line; `panos` reads its `GLOBALPROTECT` lines through this too.
pub(crate) fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let record = csv_part(line).ok_or("no `GLOBALPROTECT` record in the line")?;
    let fields = csv::split_line(record, ',')?;
    let field = |index: usize| {
        fields
            .get(index)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    if fields.len() <= STATUS {
        return Err(format!(
            "a GlobalProtect record has at least {} fields, this one {}",
            STATUS + 1,
            fields.len()
        ));
    }
    let event_id = field(EVENT_ID).unwrap_or_default();
    let status = field(STATUS).unwrap_or_default();
    let outcome = match status {
        "success" => Outcome::Success,
        "failure" => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let (class, activity) = match stage(event_id, outcome) {
        Ok(kind) => kind,
        Err(reason) => return Ok(Read::Skip(reason)),
    };
    let outcome = if activity == Activity::Disconnect {
        Outcome::Unknown
    } else {
        outcome
    };
    let time = time(field(HIGH_RES_TIME), field(GENERATED_TIME), ctx)?;
    let vendor_id = match (field(SERIAL), field(SEQUENCE)) {
        (Some(serial), Some(sequence)) => Some(format!("{serial}-{sequence}")),
        _ => None,
    };
    let uid = common::uid_or_digest(vendor_id.as_deref(), NAME, raw);
    let mut event = common::new_event(ctx, uid, time, class, activity);
    event.outcome = outcome;
    match class {
        EventClass::NetworkSession => event.medium = Some(Medium::Vpn),
        EventClass::Authentication => event.app = Some(format!("globalprotect-{event_id}")),
        EventClass::DeviceInventory if event_id == "gateway-hip-check" => {
            event.compliant = match outcome {
                Outcome::Success => Some(true),
                Outcome::Failure => Some(false),
                Outcome::Unknown => None,
            };
        }
        _ => {}
    }
    // `DOMAIN\user` → `user`: the directory knows people by user name or UPN.
    event.subject.user = field(SOURCE_USER)
        .map(|user| user.rsplit('\\').next().unwrap_or(user))
        .and_then(|user| common::clean(Some(user)));
    event.subject.device = field(MACHINE_NAME).map(str::to_string);
    event.subject.ip = common::ip(field(PRIVATE_IP)).or_else(|| common::ip(field(PRIVATE_IPV6)));
    event.src.ip = common::ip(field(PUBLIC_IP)).or_else(|| common::ip(field(PUBLIC_IPV6)));
    // The source region is a country code, or an address range for private addresses.
    event.src.country = field(SOURCE_REGION)
        .filter(|region| region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_string);
    if event.outcome == Outcome::Failure || activity == Activity::Disconnect {
        event.reason = field(ERROR)
            .or(field(REASON))
            .or(field(DESCRIPTION))
            .map(str::to_string);
    }
    event.raw = Some(serde_json::Value::String(line.to_string()));
    Ok(Read::Event(event))
}

/// What a GlobalProtect stage (the log's Event ID) is, or why it is skipped.
fn stage(event_id: &str, outcome: Outcome) -> Result<(EventClass, Activity), &'static str> {
    use Activity as A;
    use EventClass as C;
    Ok(match event_id {
        // A failed gateway sign-in is a failed VPN connect, as rules on VPN failures expect.
        "gateway-auth" if outcome == Outcome::Failure => (C::NetworkSession, A::Connect),
        "portal-auth" | "gateway-auth" => (C::Authentication, A::Logon),
        "portal-prelogin" | "gateway-prelogin" | "portal-getconfig" => {
            (C::Authentication, A::AuthOther)
        }
        "gateway-getconfig"
        | "gateway-register"
        | "gateway-connected"
        | "gateway-setup-ipsec"
        | "gateway-setup-ssl"
        | "gateway-switch-to-ssl"
        | "gateway-ip-change" => (C::NetworkSession, A::Connect),
        "gateway-logout" | "gateway-config-release" => (C::NetworkSession, A::Disconnect),
        "gateway-hip-report" | "gateway-hip-check" => (C::DeviceInventory, A::Posture),
        "gateway-tunnel-latency" => return Err("a GlobalProtect tunnel latency measurement"),
        "gateway-agent-msg" => return Err("a GlobalProtect agent message"),
        "" => return Err("a GlobalProtect record without an Event ID"),
        _ => return Err("a GlobalProtect stage Seam does not know"),
    })
}

/// The high-resolution timestamp (with its offset) when the firewall filled it in, else the
/// generated time: `YYYY/MM/DD hh:mm:ss` in the firewall's zone, or RFC 3339.
pub(crate) fn time(
    high_res: Option<&str>,
    generated: Option<&str>,
    ctx: &ParseContext,
) -> Result<Ts, String> {
    if let Some(ts) = high_res.and_then(|text| timefmt::rfc3339(text).ok())
        && ts.0 > 86_400_000
    {
        return Ok(ts);
    }
    let generated = generated.ok_or("no generated time")?;
    if let Ok(ts) = timefmt::rfc3339(generated) {
        return Ok(ts);
    }
    timefmt::pattern("%Y/%m/%d %H:%M:%S", generated, &ctx.timezone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_found_after_any_header() {
        for line in [
            "Mar  2 08:00:00 1,2026/03/02 08:00:00,0123,GLOBALPROTECT,0",
            "<14>Mar  2 08:00:00 fw01 1,2026/03/02 08:00:00,0123,GLOBALPROTECT,0",
            "<14>1 2026-03-02T08:00:00+01:00 fw01 - - - - 1,2026/03/02 08:00:00,0123,GLOBALPROTECT,0",
        ] {
            assert_eq!(
                csv_part(line),
                Some("1,2026/03/02 08:00:00,0123,GLOBALPROTECT,0"),
                "{line}"
            );
        }
        assert_eq!(csv_part("Mar  2 08:00:00 fw01 1,2,3,TRAFFIC,0"), None);
    }
}
