//! Cisco Meraki syslog, the `events` feed:
//!
//! ```text
//! <134>1 <epoch.nanos> <device name> events type=association client_mac='…' …
//! <134>1 <epoch.nanos> <device name> events client_vpn_connect user id '…' local ip … connected from …
//! ```
//!
//! Read: Wi-Fi association and disassociation, 802.1X authentication, client VPN and
//! AnyConnect sessions, DHCP leases handed out by an MX. Other event types and the other
//! feeds (`urls`, `flows`, …) are skipped.

use std::collections::BTreeMap;

use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog};

const NAME: &str = "meraki";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let header = syslog::header(line).ok_or("not a syslog line")?;
    let time = header.time(ctx)?;
    let (device, rest) = syslog::next_token(header.rest);
    let (feed, body) = syslog::next_token(rest);
    if device.is_empty() || feed.is_empty() {
        return Err("no device name and feed after the Meraki timestamp".to_string());
    }
    if feed != "events" {
        return Ok(Read::Skip(
            "a Meraki feed other than `events` (flows, URLs, IDS alerts)",
        ));
    }
    let draft = Draft {
        ctx,
        raw,
        line,
        time,
    };
    if body.starts_with("type=") {
        let pairs = pairs(body)?;
        return Ok(wireless_or_session(&draft, device, &pairs).map_or(
            Read::Skip("a Meraki event type Seam does not read"),
            Read::Event,
        ));
    }
    Ok(free_text(&draft, body).map_or(
        Read::Skip("a Meraki free-text event Seam does not read"),
        Read::Event,
    ))
}

struct Draft<'a> {
    ctx: &'a ParseContext,
    raw: &'a [u8],
    line: &'a str,
    time: Ts,
}

impl Draft<'_> {
    fn event(&self, class: EventClass, activity: Activity) -> Event {
        let uid = common::digest_uid(NAME, &[self.raw]);
        let mut event = common::new_event(self.ctx, uid, self.time, class, activity);
        event.raw = Some(serde_json::Value::String(self.line.to_string()));
        event
    }
}

/// `type=association radio='1' client_mac='…'`: values bare or in single quotes (which may
/// hold spaces); `msg= '…'` has a space after the `=`.
fn pairs(body: &str) -> Result<BTreeMap<&str, &str>, String> {
    let mut pairs = BTreeMap::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| {
            format!(
                "expected `key=value` at `{}`",
                crate::timefmt::shorten(rest)
            )
        })?;
        if key.is_empty() || key.contains(' ') {
            return Err(format!(
                "expected `key=value` at `{}`",
                crate::timefmt::shorten(rest)
            ));
        }
        let after = after.trim_start_matches(' ');
        let (value, after) = if let Some(quoted) = after.strip_prefix('\'') {
            let end = quoted
                .find('\'')
                .ok_or_else(|| format!("the value of `{key}` has no closing quote"))?;
            (
                quoted.get(..end).unwrap_or_default(),
                quoted.get(end + 1..).unwrap_or_default(),
            )
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or_default(),
                after.get(end..).unwrap_or_default(),
            )
        };
        pairs.entry(key).or_insert(value);
        rest = after.trim_start();
    }
    Ok(pairs)
}

/// An 802.1X identity that names a person: not the anonymous outer identity.
fn identity(pairs: &BTreeMap<&str, &str>) -> Option<String> {
    let identity = common::clean(pairs.get("identity").copied())?;
    (!identity.to_ascii_lowercase().starts_with("anonymous")).then_some(identity)
}

fn wireless_or_session(
    draft: &Draft<'_>,
    device: &str,
    pairs: &BTreeMap<&str, &str>,
) -> Option<Event> {
    let kind = pairs.get("type").copied().unwrap_or_default();
    let (activity, outcome) = match kind {
        "association" | "8021x_auth" | "wpa_auth" | "8021x_client_auth" => {
            (Activity::Connect, Outcome::Success)
        }
        "8021x_eap_failure" | "wpa_auth_failure" => (Activity::Connect, Outcome::Failure),
        "disassociation" | "wpa_deauth" | "8021x_deauth" | "8021x_client_deauth" => {
            (Activity::Disconnect, Outcome::Unknown)
        }
        "anyconnect_vpn_session_manager" => return anyconnect_session(draft, pairs),
        _ => return None,
    };
    let mut event = draft.event(EventClass::NetworkSession, activity);
    event.outcome = outcome;
    event.medium = Some(Medium::Wifi);
    event.ap = Some(device.to_string());
    event.subject.mac = pairs.get("client_mac").and_then(|mac| common::mac(mac));
    event.subject.ip = ["client_ip", "last_known_client_ip", "ip_src"]
        .iter()
        .find_map(|key| common::ip(pairs.get(key).copied()));
    event.subject.user = identity(pairs);
    if activity == Activity::Disconnect {
        event.reason = pairs
            .get("reason")
            .map(|code| format!("802.11 reason {code}"));
    }
    Some(event)
}

/// `msg= 'Sess-ID[369] Peer IP=… User[name]: Session disconnected. … Reason: …'`
fn anyconnect_session(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Option<Event> {
    let message = pairs.get("msg").copied().unwrap_or_default();
    if !message.contains("Session disconnected") {
        return None;
    }
    let mut event = draft.event(EventClass::NetworkSession, Activity::Disconnect);
    event.medium = Some(Medium::Vpn);
    event.subject.user = between(message, "User[", "]").and_then(|user| common::clean(Some(user)));
    event.src.ip = between(message, "Peer IP=", " ").and_then(|ip| common::ip(Some(ip)));
    event.reason = message
        .split_once("Reason: ")
        .and_then(|(_, reason)| common::clean(Some(reason)));
    Some(event)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, after) = text.split_once(start)?;
    Some(after.split_once(end).map_or(after, |(inside, _)| inside))
}

/// The free-text events: client VPN sessions and MX DHCP leases.
fn free_text(draft: &Draft<'_>, body: &str) -> Option<Event> {
    let (kind, rest) = syslog::next_token(body);
    match kind {
        "client_vpn_connect" | "anyconnect_vpn_connect" => vpn(draft, rest, Activity::Connect),
        "client_vpn_disconnect" | "anyconnect_vpn_disconnect" => {
            vpn(draft, rest, Activity::Disconnect)
        }
        "dhcp" if rest.starts_with("lease of ip ") => dhcp_lease(draft, rest),
        _ => None,
    }
}

/// `user id 'alice@example.com' local ip 10.99.0.41 connected from 192.0.2.60`
fn vpn(draft: &Draft<'_>, rest: &str, activity: Activity) -> Option<Event> {
    let mut event = draft.event(EventClass::NetworkSession, activity);
    event.medium = Some(Medium::Vpn);
    if activity == Activity::Connect {
        event.outcome = Outcome::Success;
    }
    event.subject.user = between(rest, "user id '", "'").and_then(|user| common::clean(Some(user)));
    event.subject.ip = between(rest, "local ip ", " ").and_then(|ip| common::ip(Some(ip)));
    event.src.ip = rest
        .split_once(" from ")
        .and_then(|(_, from)| common::ip(Some(syslog::next_token(from).0)));
    Some(event)
}

/// `lease of ip 10.0.2.213 from mx mac … for client mac E0:CB:… from router … on subnet …`
fn dhcp_lease(draft: &Draft<'_>, rest: &str) -> Option<Event> {
    let mut event = draft.event(EventClass::Dhcp, Activity::Assign);
    event.subject.ip = between(rest, "lease of ip ", " ").and_then(|ip| common::ip(Some(ip)));
    event.subject.mac = between(rest, "for client mac ", " ").and_then(common::mac);
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_quotes_spaces_and_bare_values() {
        let parsed =
            pairs("type=anyconnect_vpn_session_manager msg= 'Sess-ID[1] User[a b]: x' radio=1")
                .unwrap();
        assert_eq!(parsed["type"], "anyconnect_vpn_session_manager");
        assert_eq!(parsed["msg"], "Sess-ID[1] User[a b]: x");
        assert_eq!(parsed["radio"], "1");
        assert!(pairs("type=x client_mac='unclosed").is_err());
        assert!(pairs("type=x stray").is_err());
    }

    #[test]
    fn other_feeds_are_skipped_and_garbage_rejected() {
        let ctx = ParseContext::new("meraki", Ts(1_772_442_000_000));
        let batch = parse(
            b"<134>1 1772437800.1 hq-mx urls src=10.0.0.1:1 dst=1.1.1.1:443 mac=AA:BB:CC:DD:EE:FF request: GET https://example.com\n\
              <134>1 1772437800.1\n\
              hello\n",
            &ctx,
        );
        assert_eq!(batch.skipped, 1);
        assert_eq!(
            batch
                .rejected
                .iter()
                .map(|r| (r.index, r.reason.as_str()))
                .collect::<Vec<_>>(),
            [
                (2, "no device name and feed after the Meraki timestamp"),
                (3, "not a syslog line")
            ]
        );
    }
}
