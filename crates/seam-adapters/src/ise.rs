//! Cisco ISE remote syslog: RADIUS accounting (start, stop) and passed and failed
//! authentications, one message per line:
//!
//! ```text
//! <PRI>Mmm dd hh:mm:ss host CISE_<Category> <msg id> <segments> <segment> YYYY-MM-DD hh:mm:ss.ffffff ±hh:mm <seq> <code> <severity> <Class>: <text>, key=value, key=value, …
//! ```
//!
//! ISE splits a long message into segments; only the first carries the header, so later
//! segments are skipped (set the remote target's maximum length high enough to keep a
//! message whole: 8192 is ISE's maximum).

use seam_model::{Activity, EventClass, Medium, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog, timefmt};

const NAME: &str = "ise";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

/// The first segment of an ISE message, after the syslog header.
#[derive(Debug)]
struct Message<'a> {
    category: &'a str,
    time: Ts,
    pairs: Vec<(String, String)>,
}

impl Message<'_> {
    /// The first non-empty value of `key`.
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.trim())
            .find(|value| !value.is_empty())
    }

    /// A `cisco-av-pair` value: `cisco-av-pair=mdm-tlv=device-mac=…` holds `device-mac`.
    fn av_pair(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find_map(|(key, value)| {
            if key != "cisco-av-pair" {
                return None;
            }
            let value = value.strip_prefix("mdm-tlv=").unwrap_or(value);
            let (pair_name, pair_value) = value.split_once('=')?;
            (pair_name == name).then_some(pair_value.trim())
        })
    }
}

/// The message after the header; `Ok(None)` for a continuation segment.
fn split_message(rest: &str) -> Result<Option<Message<'_>>, String> {
    // The host may be missing (a relay rewrote the header): find the category token.
    let mut rest = rest;
    let category = loop {
        let (token, after) = syslog::next_token(rest);
        if token.is_empty() {
            return Err("no `CISE_` category: not a Cisco ISE message".to_string());
        }
        rest = after;
        if token.starts_with("CISE_") {
            break token;
        }
    };
    // RFC 5424's nil PROCID, MSGID and structured data.
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start();
    }
    let (_message_id, rest) = syslog::next_token(rest);
    let (_segments, rest) = syslog::next_token(rest);
    let (segment, rest) = syslog::next_token(rest);
    if segment != "0" {
        if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "segment number `{}` is not a number",
                timefmt::shorten(segment)
            ));
        }
        return Ok(None);
    }
    let (date, rest) = syslog::next_token(rest);
    let (clock, rest) = syslog::next_token(rest);
    let (offset, rest) = syslog::next_token(rest);
    let civil = timefmt::civil(&format!("{date} {clock}"))?;
    let offset = timefmt::offset(offset).ok_or_else(|| {
        format!(
            "invalid offset `{}` after the ISE timestamp",
            timefmt::shorten(offset)
        )
    })?;
    let time = offset
        .to_timestamp(civil)
        .map(|timestamp| Ts(timestamp.as_millisecond()))
        .map_err(|error| error.to_string())?;
    let (_sequence, rest) = syslog::next_token(rest);
    let (_code, rest) = syslog::next_token(rest);
    let (_severity, rest) = syslog::next_token(rest);
    // `Class: text, key=value, …`
    let (_, body) = rest
        .split_once(": ")
        .ok_or("no `Class: text` part after the ISE header")?;
    let mut pairs = Vec::new();
    for item in split_items(body) {
        if let Some((key, value)) = item.split_once('=')
            && !key.is_empty()
        {
            pairs.push((key.trim().to_string(), value.to_string()));
        }
    }
    Ok(Some(Message {
        category,
        time,
        pairs,
    }))
}

/// Splits `a=1, b=2\, still b, c={x; y, z}` at the commas ISE writes between pairs: a
/// backslash escapes a comma, braces hold commas of their own.
fn split_items(body: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current).trim().to_string());
            }
            _ => current.push(c),
        }
    }
    let last = current.trim();
    if !last.is_empty() {
        items.push(last.to_string());
    }
    items
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let header = syslog::header(line).ok_or("not a syslog line")?;
    let Some(message) = split_message(header.rest)? else {
        return Ok(Read::Skip(
            "a continuation segment of a multi-part ISE message",
        ));
    };
    let (activity, outcome) = match message.category {
        "CISE_RADIUS_Accounting" => match message.get("Acct-Status-Type") {
            Some("Start") => (Activity::Connect, Outcome::Success),
            Some("Stop") => (Activity::Disconnect, Outcome::Unknown),
            _ => return Ok(Read::Skip("RADIUS accounting other than a start or a stop")),
        },
        "CISE_Passed_Authentications" => (Activity::Connect, Outcome::Success),
        "CISE_Failed_Attempts" => (Activity::Connect, Outcome::Failure),
        _ => return Ok(Read::Skip("an ISE message category Seam does not read")),
    };
    let uid = common::digest_uid(NAME, &[raw]);
    let mut out = common::new_event(ctx, uid, message.time, EventClass::NetworkSession, activity);
    out.outcome = outcome;
    out.medium = medium(&message);
    out.reason = match outcome {
        Outcome::Failure => message.get("FailureReason").map(str::to_string),
        _ => message.get("Acct-Terminate-Cause").map(str::to_string),
    };

    let calling = message.get("Calling-Station-ID");
    out.subject.mac = calling
        .and_then(common::mac)
        .or_else(|| message.get("EndPointMACAddress").and_then(common::mac))
        .or_else(|| message.av_pair("device-mac").and_then(common::mac));
    out.subject.ip = common::ip(message.get("Framed-IP-Address"));
    let user_name = message.get("User-Name").or_else(|| message.get("UserName"));
    match user_name {
        // Machine authentication: `host/<name>[.domain]`.
        Some(name) if name.starts_with("host/") => {
            let host = name.trim_start_matches("host/");
            let host = host.split('.').next().unwrap_or(host);
            out.subject.device = common::clean(Some(host));
        }
        // MAB sends the MAC as the user name.
        Some(name) if common::mac(name).is_some() => {}
        Some(name) => {
            let resolved = message
                .get("AD-User-Resolved-Identities")
                .filter(|identity| identity.contains('@'));
            out.subject.user = common::clean(Some(resolved.unwrap_or(name)));
        }
        None => {}
    }
    match out.medium {
        Some(Medium::Wired) => {
            if let (Some(device), Some(port)) =
                (message.get("NetworkDeviceName"), message.get("NAS-Port-Id"))
            {
                out.switch_port = Some(format!("{device}:{}", short_interface(port)));
            }
        }
        Some(Medium::Wifi) => {
            // `AA-BB-CC-DD-EE-FF:SSID`: the AP radio's MAC, then the SSID.
            out.ap = message
                .get("Called-Station-ID")
                .and_then(|called| called.get(..17))
                .and_then(common::mac);
        }
        Some(Medium::Vpn) => {
            // The client's public address.
            out.src.ip = calling.and_then(|text| common::ip(Some(text))).or_else(|| {
                message
                    .get("Tunnel-Client-Endpoint")
                    .map(|text| text.trim_start_matches("(tag=0)"))
                    .and_then(|text| common::ip(Some(text)))
            });
        }
        None => {}
    }
    out.compliant = match message.get("PostureAssessmentStatus") {
        Some("Compliant") => Some(true),
        Some("NonCompliant") => Some(false),
        _ => None,
    };
    out.raw = Some(serde_json::Value::String(line.to_string()));
    Ok(Read::Event(out))
}

/// How the client reached the network: NAS-Port-Type first, then ISE's flow type.
fn medium(message: &Message<'_>) -> Option<Medium> {
    if message.get("ASA VPN") == Some("true") {
        return Some(Medium::Vpn);
    }
    match message.get("NAS-Port-Type") {
        Some(kind) if kind.starts_with("Ethernet") => return Some(Medium::Wired),
        Some(kind) if kind.starts_with("Wireless") => return Some(Medium::Wifi),
        Some("Virtual") => return Some(Medium::Vpn),
        _ => {}
    }
    match message.get("RadiusFlowType") {
        Some(flow) if flow.starts_with("Wired") => Some(Medium::Wired),
        Some(flow) if flow.starts_with("Wireless") => Some(Medium::Wifi),
        _ => None,
    }
}

/// `GigabitEthernet1/0/7` → `Gi1/0/7`, the form switch configurations and the estate use.
fn short_interface(port: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("hundredgige", "Hu"),
        ("fortygigabitethernet", "Fo"),
        ("twentyfivegige", "Twe"),
        ("tengigabitethernet", "Te"),
        ("twogigabitethernet", "Tw"),
        ("fivegigabitethernet", "Fi"),
        ("gigabitethernet", "Gi"),
        ("fastethernet", "Fa"),
    ];
    let lower = port.to_ascii_lowercase();
    for (long, short) in NAMES {
        if let Some(rest) = lower.strip_prefix(long)
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            let number = port.get(long.len()..).unwrap_or(rest);
            return format!("{short}{number}");
        }
    }
    port.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_respect_escapes_and_braces() {
        assert_eq!(
            split_items(
                "Authentication succeeded, a=1, b=x\\, y, Response={Class=C; k=v, w; }, c="
            ),
            vec![
                "Authentication succeeded",
                "a=1",
                "b=x, y",
                "Response={Class=C; k=v, w; }",
                "c="
            ]
        );
    }

    #[test]
    fn interface_names_are_shortened() {
        assert_eq!(short_interface("GigabitEthernet1/0/7"), "Gi1/0/7");
        assert_eq!(short_interface("gigabitEthernet1/0/1"), "Gi1/0/1");
        assert_eq!(short_interface("TenGigabitEthernet2/1/1"), "Te2/1/1");
        assert_eq!(short_interface("Gi1/0/7"), "Gi1/0/7");
        assert_eq!(short_interface("GigabitEthernetX"), "GigabitEthernetX");
    }

    #[test]
    fn a_continuation_segment_is_skipped_and_garbage_rejected() {
        let ctx = ParseContext::new("ise", Ts(1_772_442_000_000));
        let batch = parse(
            b"<181>Mar  2 08:52:00 ise01 CISE_Passed_Authentications 0000012345 2 1 Step=11001, Step=11017,\n\
              <181>Mar  2 08:52:00 ise01 something else\n",
            &ctx,
        );
        assert_eq!(batch.skipped, 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(
            batch.rejected[0].reason,
            "no `CISE_` category: not a Cisco ISE message"
        );
    }
}
