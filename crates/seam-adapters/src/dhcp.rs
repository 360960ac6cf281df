//! DHCP leases from ISC dhcpd (syslog) and Kea (its own log lines, or the same through
//! syslog):
//!
//! ```text
//! <30>Mar  2 07:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32 to 3c:22:fb:00:00:02 (bob-phone) via eth0
//! <30>Mar  2 17:58:02 dhcp1 dhcpd[812]: DHCPRELEASE of 10.10.1.32 from 3c:22:fb:00:00:02 (bob-phone) via eth0 (found)
//! 2026-03-02 08:41:30.112 INFO  [kea-dhcp4.leases/4181.1400] DHCP4_LEASE_ALLOC [hwtype=1 3c:22:fb:00:00:02], cid=[no info], tid=0x5e1f: lease 10.10.1.32 has been allocated for 43200 seconds
//! 2026-03-02 18:58:02.500 INFO  [kea-dhcp4.leases/4181.1400] DHCP4_RELEASE [hwtype=1 3c:22:fb:00:00:02], cid=[no info], tid=0x77a1: address 10.10.1.32 was released properly.
//! ```
//!
//! Kea's own stamps and BSD syslog stamps are wall-clock times in the source's zone. Other
//! DHCP messages (DISCOVER, OFFER, REQUEST, INFORM, NAK, advertisements) are skipped.

use seam_model::{Activity, EventClass};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog, timefmt};

const NAME: &str = "dhcp";

/// Leases longer than this are "infinite" in practice (Kea writes 4294967295): no `until`.
const MAX_LEASE_SECONDS: i64 = 366 * 86_400;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let (time, message) = match kea_stamp(line) {
        Some((datetime, rest)) => (timefmt::local(datetime, &ctx.timezone)?, rest),
        None => {
            let header = syslog::header(line).ok_or("neither a syslog line nor a Kea log line")?;
            (header.time(ctx)?, header.rest)
        }
    };
    let lease = if let Some(at) = message.find("DHCPACK on ") {
        isc_ack(message.get(at + "DHCPACK on ".len()..).unwrap_or_default())?
    } else if let Some(at) = message.find("DHCPRELEASE of ") {
        isc_release(
            message
                .get(at + "DHCPRELEASE of ".len()..)
                .unwrap_or_default(),
        )?
    } else if let Some(at) = message.find("DHCP4_LEASE_ALLOC ") {
        kea(message.get(at..).unwrap_or_default(), Activity::Assign)?
    } else if let Some(at) = message.find("DHCP4_RELEASE ") {
        kea(message.get(at..).unwrap_or_default(), Activity::Release)?
    } else {
        return Ok(Read::Skip(
            "a DHCP message other than a lease or its release",
        ));
    };
    let uid = common::digest_uid(NAME, &[raw]);
    let mut event = common::new_event(ctx, uid, time, EventClass::Dhcp, lease.activity);
    event.subject.ip = Some(lease.ip);
    event.subject.mac = Some(lease.mac);
    event.subject.device = lease.host;
    event.until = lease
        .seconds
        .filter(|seconds| (1..=MAX_LEASE_SECONDS).contains(seconds))
        .map(|seconds| time.plus_millis(seconds * 1000));
    event.raw = Some(serde_json::Value::String(line.to_string()));
    Ok(Read::Event(event))
}

struct Lease {
    activity: Activity,
    ip: std::net::IpAddr,
    mac: String,
    host: Option<String>,
    seconds: Option<i64>,
}

/// Kea's own line start: `YYYY-MM-DD hh:mm:ss.fff ` and the rest.
fn kea_stamp(line: &str) -> Option<(jiff::civil::DateTime, &str)> {
    let (date, rest) = syslog::next_token(line);
    let (clock, rest) = syslog::next_token(rest);
    if date.len() != 10 || date.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    let datetime = timefmt::civil(&format!("{date} {clock}")).ok()?;
    Some((datetime, rest))
}

fn address(text: &str, what: &str) -> Result<std::net::IpAddr, String> {
    text.parse()
        .map_err(|_| format!("`{}` is not an IP address ({what})", timefmt::shorten(text)))
}

fn mac_of(text: &str) -> Result<String, String> {
    common::mac(text).ok_or_else(|| format!("`{}` is not a MAC address", timefmt::shorten(text)))
}

/// The host name in parentheses, when the next token is one.
fn host_name(rest: &str) -> Option<String> {
    let (token, _) = syslog::next_token(rest);
    let name = token.strip_prefix('(')?.strip_suffix(')')?;
    common::clean(Some(name))
}

/// `10.10.1.32 to 3c:22:fb:00:00:02 (bob-phone) via eth0 [… lease-duration 600 …]`
fn isc_ack(text: &str) -> Result<Lease, String> {
    let (ip, rest) = syslog::next_token(text);
    let (to, rest) = syslog::next_token(rest);
    if to != "to" {
        return Err("expected `DHCPACK on <ip> to <mac>`".to_string());
    }
    let (mac, rest) = syslog::next_token(rest);
    let seconds = rest
        .split_once("lease-duration ")
        .and_then(|(_, after)| syslog::next_token(after).0.parse().ok());
    Ok(Lease {
        activity: Activity::Assign,
        ip: address(ip, "leased address")?,
        mac: mac_of(mac)?,
        host: host_name(rest),
        seconds,
    })
}

/// `10.10.1.32 from 3c:22:fb:00:00:02 (bob-phone) via eth0 (found)`
fn isc_release(text: &str) -> Result<Lease, String> {
    let (ip, rest) = syslog::next_token(text);
    let (from, rest) = syslog::next_token(rest);
    if from != "from" {
        return Err("expected `DHCPRELEASE of <ip> from <mac>`".to_string());
    }
    let (mac, rest) = syslog::next_token(rest);
    Ok(Lease {
        activity: Activity::Release,
        ip: address(ip, "released address")?,
        mac: mac_of(mac)?,
        host: host_name(rest),
        seconds: None,
    })
}

/// `DHCP4_LEASE_ALLOC [hwtype=1 <mac>], cid=[…], tid=…: lease <ip> has been allocated for
/// <n> seconds` and `DHCP4_RELEASE [hwtype=1 <mac>], …: address <ip> was released properly.`
fn kea(text: &str, activity: Activity) -> Result<Lease, String> {
    let hardware = text
        .split_once("[hwtype=")
        .and_then(|(_, after)| after.split_once(']'))
        .map(|(inside, _)| inside)
        .ok_or("no `[hwtype=… <mac>]` in the Kea message")?;
    let (_, mac) = syslog::next_token(hardware);
    let (_, detail) = text
        .split_once(": ")
        .ok_or("no lease detail after `: ` in the Kea message")?;
    let (ip, seconds) = match activity {
        Activity::Assign => {
            let rest = detail
                .strip_prefix("lease ")
                .ok_or("expected `lease <ip> has been allocated`")?;
            let (ip, rest) = syslog::next_token(rest);
            let seconds = rest
                .split_once("allocated for ")
                .and_then(|(_, after)| syslog::next_token(after).0.parse().ok());
            (ip, seconds)
        }
        _ => {
            let rest = detail
                .strip_prefix("address ")
                .ok_or("expected `address <ip> was released`")?;
            (syslog::next_token(rest).0, None)
        }
    };
    Ok(Lease {
        activity,
        ip: address(ip, "lease address")?,
        mac: mac_of(mac.trim())?,
        host: None,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::Ts;

    fn ctx() -> ParseContext {
        ParseContext::new("dhcp", Ts(1_772_442_000_000))
            .with_timezone(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
    }

    #[test]
    fn kea_alloc_sets_the_lease_end_in_the_source_zone() {
        let line = b"2026-03-02 08:41:30.112 INFO  [kea-dhcp4.leases/4181.1400] DHCP4_LEASE_ALLOC [hwtype=1 3c:22:fb:00:00:02], cid=[no info], tid=0x5e1f: lease 10.10.1.32 has been allocated for 43200 seconds";
        let batch = parse(line, &ctx());
        let event = &batch.events[0];
        assert_eq!(event.time.to_string(), "2026-03-02T07:41:30.112Z");
        assert_eq!(event.until.unwrap().to_string(), "2026-03-02T19:41:30.112Z");
        assert_eq!(event.subject.mac.as_deref(), Some("3c:22:fb:00:00:02"));
    }

    #[test]
    fn malformed_acks_are_rejected_with_what_was_expected() {
        let batch = parse(
            b"Mar  2 08:41:30 dhcp1 dhcpd[1]: DHCPACK on 10.10.1.32 to nobody via eth0\n\
              Mar  2 08:41:30 dhcp1 dhcpd[1]: DHCPACK on 10.10.1 to 3c:22:fb:00:00:02 via eth0\n\
              Mar  2 08:41:31 dhcp1 dhcpd[1]: DHCPREQUEST for 10.10.1.32 from 3c:22:fb:00:00:02 via eth0\n",
            &ctx(),
        );
        assert_eq!(
            batch
                .rejected
                .iter()
                .map(|r| r.reason.as_str())
                .collect::<Vec<_>>(),
            [
                "`nobody` is not a MAC address",
                "`10.10.1` is not an IP address (leased address)"
            ]
        );
        assert_eq!(batch.skipped, 1);
    }
}
