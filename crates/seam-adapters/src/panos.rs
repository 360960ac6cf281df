//! PAN-OS firewall logs over syslog: a syslog header, then the CSV record, its fields in the
//! order PAN-OS 10.x and 11.x document (later versions only add fields at the end):
//!
//! ```text
//! TRAFFIC: FUTURE_USE, Receive Time, Serial, Type, Subtype, FUTURE_USE, Generated Time,
//!   Source Address, Destination Address, NAT Source IP, NAT Destination IP, Rule Name,
//!   Source User, Destination User, Application, Virtual System, Source Zone, Destination Zone,
//!   Inbound Interface, Outbound Interface, Log Action, FUTURE_USE, Session ID, Repeat Count,
//!   Source Port, Destination Port, NAT Source Port, NAT Destination Port, Flags, Protocol,
//!   Action, Bytes, Bytes Sent, Bytes Received, Packets, Start Time, Elapsed Time, Category,
//!   FUTURE_USE, Sequence Number, Action Flags, Source Country, Destination Country,
//!   FUTURE_USE, Packets Sent, Packets Received, Session End Reason, … (103rd: High Res
//!   Timestamp)
//! THREAT: … the same up to Action, then URL/Filename, Threat ID, Category, Severity,
//!   Direction, Sequence Number, Action Flags, Source Country, Destination Country, …
//!   (108th: High Res Timestamp)
//! ```
//!
//! TRAFFIC and THREAT records are network activity; `GLOBALPROTECT` records are read exactly
//! as the `globalprotect` adapter reads them; the other log types are skipped.

use std::borrow::Cow;

use seam_model::{Activity, EventClass, Outcome};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, csv, globalprotect};

const NAME: &str = "panos";

// Positions shared by TRAFFIC and THREAT.
const SERIAL: usize = 2;
const TYPE: usize = 3;
const SUBTYPE: usize = 4;
const GENERATED_TIME: usize = 6;
const SOURCE_ADDRESS: usize = 7;
const DESTINATION_ADDRESS: usize = 8;
const SOURCE_USER: usize = 12;
const APPLICATION: usize = 14;
const DESTINATION_PORT: usize = 25;
const ACTION: usize = 30;

/// Where the fields that differ between TRAFFIC and THREAT are.
struct Layout {
    log_type: &'static str,
    sequence: usize,
    source_country: usize,
    high_res_time: usize,
    /// Records with fewer fields are rejected: the last field read must be there.
    min_fields: usize,
}

const TRAFFIC: Layout = Layout {
    log_type: "traffic",
    sequence: 39,
    source_country: 41,
    high_res_time: 102,
    min_fields: SESSION_END_REASON + 1,
};
const BYTES_SENT: usize = 32;
const SESSION_END_REASON: usize = 46;

const THREAT: Layout = Layout {
    log_type: "threat",
    sequence: 36,
    source_country: 38,
    high_res_time: 107,
    min_fields: 40,
};
const URL_OR_FILENAME: usize = 31;
const THREAT_ID: usize = 32;
const CATEGORY: usize = 33;
const SEVERITY: usize = 34;

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let record = csv_part(line).ok_or("not a PAN-OS log: no Receive Time field")?;
    let fields = split(record)?;
    let log_type = fields
        .get(TYPE)
        .map(|value| value.trim())
        .unwrap_or_default();
    let layout = match log_type {
        "TRAFFIC" => &TRAFFIC,
        "THREAT" => &THREAT,
        "GLOBALPROTECT" => return globalprotect::parse_line(line, raw, ctx),
        _ => return Ok(Read::Skip("log type not read by panos")),
    };
    if fields.len() < layout.min_fields {
        return Err(format!(
            "a {log_type} record has at least {} fields, this one {}",
            layout.min_fields,
            fields.len()
        ));
    }
    let field = |index: usize| {
        fields
            .get(index)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let time = globalprotect::time(field(layout.high_res_time), field(GENERATED_TIME), ctx)?;
    let vendor_id = match (field(SERIAL), field(layout.sequence)) {
        (Some(serial), Some(sequence)) => {
            Some(format!("{NAME}-{serial}-{}-{sequence}", layout.log_type))
        }
        _ => None,
    };
    let uid = common::uid_or_digest(vendor_id.as_deref(), NAME, raw);
    let mut event = common::new_event(
        ctx,
        uid,
        time,
        EventClass::NetworkActivity,
        Activity::Traffic,
    );
    let action = field(ACTION).unwrap_or_default();
    let subtype = field(SUBTYPE).unwrap_or_default();
    event.outcome = outcome(action);
    let source = common::ip(field(SOURCE_ADDRESS));
    event.subject.ip = source;
    event.src.ip = source;
    // `DOMAIN\user` → `user`, as the directory knows people.
    event.subject.user = field(SOURCE_USER)
        .map(|user| user.rsplit('\\').next().unwrap_or(user))
        .and_then(|user| common::clean(Some(user)));
    // A country code, or for private addresses a range (`10.0.0.0-10.255.255.255`).
    event.src.country = field(layout.source_country)
        .filter(|region| region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_string);
    event.dst.ip = common::ip(field(DESTINATION_ADDRESS));
    event.dst.port = field(DESTINATION_PORT)
        .and_then(|port| port.parse::<u16>().ok())
        .filter(|port| *port != 0);
    event.app = field(APPLICATION).map(str::to_string);
    if layout.log_type == TRAFFIC.log_type {
        // Only the end of a session counts its bytes: a start record's counts are partial and
        // would be counted again at its end.
        if subtype == "end" {
            event.bytes_out = field(BYTES_SENT).and_then(|bytes| bytes.parse().ok());
        }
        event.reason = Some(match field(SESSION_END_REASON).filter(|r| *r != "n/a") {
            Some(end) => format!("{action}: {end}"),
            None => action.to_string(),
        });
    } else {
        let severity = field(SEVERITY).unwrap_or("unknown");
        event.reason = Some(if subtype == "url" {
            // A URL record's threat id is the placeholder `(9999)`; its category says why.
            format!("url: {} ({severity})", field(CATEGORY).unwrap_or("unknown"))
        } else {
            format!(
                "threat: {} ({severity})",
                field(THREAT_ID).unwrap_or("unknown")
            )
        });
        if matches!(
            subtype,
            "url" | "file" | "virus" | "wildfire" | "wildfire-virus" | "data"
        ) {
            event.resource = field(URL_OR_FILENAME).map(str::to_string);
        }
    }
    event.raw = Some(serde_json::Value::String(line.to_string()));
    Ok(Read::Event(event))
}

/// The CSV record inside the line. Its second field is the Receive Time
/// (`YYYY/MM/DD hh:mm:ss`, with a space), so the record starts at the token before that
/// field, after the syslog header's last space.
fn csv_part(line: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(found) = line.get(from..)?.find(',') {
        let comma = from + found;
        if line.get(comma + 1..).is_some_and(starts_with_receive_time) {
            let head = line.get(..comma)?;
            let start = head.rfind(' ').map_or(0, |space| space + 1);
            return line.get(start..);
        }
        from = comma + 1;
    }
    None
}

/// `YYYY/MM/DD hh:mm:ss,` at the start of `text`.
fn starts_with_receive_time(text: &str) -> bool {
    const SHAPE: &[u8] = b"0000/00/00 00:00:00,";
    text.as_bytes().get(..SHAPE.len()).is_some_and(|head| {
        head.iter().zip(SHAPE).all(|(byte, shape)| match shape {
            b'0' => byte.is_ascii_digit(),
            _ => byte == shape,
        })
    })
}

/// The record's fields, borrowed from the line unless a field is quoted (a URL or a client
/// OS with a comma in it).
fn split(record: &str) -> Result<Vec<Cow<'_, str>>, String> {
    if !record.contains('"') {
        // TRAFFIC and THREAT records of PAN-OS 10 and 11 have 110 to 130 fields.
        let mut fields = Vec::with_capacity(128);
        fields.extend(record.split(',').map(Cow::Borrowed));
        return Ok(fields);
    }
    Ok(csv::split_line(record, ',')?
        .into_iter()
        .map(Cow::Owned)
        .collect())
}

/// Whether the firewall let the session through: allowed or only alerted is a success;
/// denied, dropped, reset, blocked or sinkholed a failure.
fn outcome(action: &str) -> Outcome {
    match action {
        "allow" | "alert" | "continue" | "override" => Outcome::Success,
        "deny" | "sinkhole" | "random-drop" | "override-lockout" => Outcome::Failure,
        _ if action.starts_with("drop")
            || action.starts_with("reset")
            || action.starts_with("block") =>
        {
            Outcome::Failure
        }
        _ => Outcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TRAFFIC record with every position filled with its own index, then the values given.
    fn numbered(count: usize, values: &[(usize, &str)]) -> String {
        let mut fields: Vec<String> = (0..count).map(|index| format!("f{index}")).collect();
        for (index, value) in values {
            fields[*index] = value.to_string();
        }
        fields.join(",")
    }

    fn ctx() -> ParseContext {
        ParseContext::new(
            "panos",
            crate::timefmt::rfc3339("2026-03-02T12:00:00Z").unwrap(),
        )
    }

    #[test]
    fn the_record_is_found_after_any_header() {
        for line in [
            "1,2026/03/02 08:00:00,0123,TRAFFIC,end",
            "<14>Mar  2 08:00:00 pa-fw01 1,2026/03/02 08:00:00,0123,TRAFFIC,end",
            "<14>1 2026-03-02T08:00:00+01:00 pa-fw01 - - - - 1,2026/03/02 08:00:00,0123,TRAFFIC,end",
        ] {
            assert_eq!(
                csv_part(line),
                Some("1,2026/03/02 08:00:00,0123,TRAFFIC,end"),
                "{line}"
            );
        }
        assert_eq!(csv_part("Mar  2 08:00:00 fw 1,2,3,TRAFFIC,end"), None);
        assert_eq!(csv_part("1,2026/03/02 08:00"), None);
    }

    #[test]
    fn traffic_fields_are_read_from_their_positions() {
        let record = numbered(
            103,
            &[
                (0, "1"),
                (1, "2026/03/02 08:00:00"),
                (SERIAL, "013201009876"),
                (TYPE, "TRAFFIC"),
                (SUBTYPE, "end"),
                (GENERATED_TIME, "2026/03/02 07:59:58"),
                (SOURCE_ADDRESS, "10.10.1.24"),
                (DESTINATION_ADDRESS, "198.51.100.200"),
                (SOURCE_USER, "example\\dan"),
                (APPLICATION, "ssl"),
                (DESTINATION_PORT, "443"),
                (ACTION, "allow"),
                (BYTES_SENT, "734003200"),
                (TRAFFIC.sequence, "880001"),
                (TRAFFIC.source_country, "10.0.0.0-10.255.255.255"),
                (SESSION_END_REASON, "tcp-fin"),
                (TRAFFIC.high_res_time, "2026-03-02T07:59:58.417+01:00"),
            ],
        );
        let batch = parse(record.as_bytes(), &ctx());
        assert_eq!(batch.rejected, []);
        let event = &batch.events[0];
        assert_eq!(event.uid, "panos-013201009876-traffic-880001");
        assert_eq!(event.time.to_string(), "2026-03-02T06:59:58.417Z");
        assert_eq!(event.subject.user.as_deref(), Some("dan"));
        assert_eq!(event.src.ip, "10.10.1.24".parse().ok());
        assert_eq!(event.src.country, None);
        assert_eq!(event.dst.ip, "198.51.100.200".parse().ok());
        assert_eq!(event.dst.port, Some(443));
        assert_eq!(event.bytes_out, Some(734_003_200));
        assert_eq!(event.app.as_deref(), Some("ssl"));
        assert_eq!(event.reason.as_deref(), Some("allow: tcp-fin"));
        assert_eq!(event.outcome, Outcome::Success);
    }

    #[test]
    fn threat_fields_are_read_from_their_positions() {
        let record = numbered(
            40,
            &[
                (0, "1"),
                (1, "2026/03/02 08:00:00"),
                (TYPE, "THREAT"),
                (SUBTYPE, "virus"),
                (GENERATED_TIME, "2026/03/02 07:59:58"),
                (SOURCE_ADDRESS, "198.51.100.200"),
                (DESTINATION_ADDRESS, "10.10.1.21"),
                (ACTION, "reset-both"),
                (URL_OR_FILENAME, "invoice.zip"),
                (THREAT_ID, "Eicar File Detected(39040)"),
                (SEVERITY, "medium"),
                (THREAT.source_country, "US"),
            ],
        );
        let batch = parse(record.as_bytes(), &ctx());
        let event = &batch.events[0];
        // Serial `f2` and sequence `f36` are there: the uid is theirs.
        assert_eq!(event.uid, "panos-f2-threat-f36");
        // No high-resolution time: the generated time, in the context's zone (UTC here).
        assert_eq!(event.time.to_string(), "2026-03-02T07:59:58.000Z");
        assert_eq!(event.outcome, Outcome::Failure);
        assert_eq!(
            event.reason.as_deref(),
            Some("threat: Eicar File Detected(39040) (medium)")
        );
        assert_eq!(event.resource.as_deref(), Some("invoice.zip"));
        assert_eq!(event.src.country.as_deref(), Some("US"));
        assert_eq!(event.bytes_out, None);
    }

    #[test]
    fn short_records_are_rejected_and_other_types_skipped() {
        let short = numbered(30, &[(1, "2026/03/02 08:00:00"), (TYPE, "TRAFFIC")]);
        let batch = parse(short.as_bytes(), &ctx());
        assert_eq!(
            batch.rejected[0].reason,
            "a TRAFFIC record has at least 47 fields, this one 30"
        );
        let system = numbered(30, &[(1, "2026/03/02 08:00:00"), (TYPE, "SYSTEM")]);
        let batch = parse(system.as_bytes(), &ctx());
        assert_eq!(
            batch.skip_reasons.get("log type not read by panos"),
            Some(&1)
        );
    }

    #[test]
    fn actions_give_the_outcome() {
        for action in ["allow", "alert", "continue"] {
            assert_eq!(outcome(action), Outcome::Success, "{action}");
        }
        for action in [
            "deny",
            "drop",
            "drop-icmp",
            "drop-all-packets",
            "reset-client",
            "reset-both",
            "block-url",
            "block-ip",
            "sinkhole",
        ] {
            assert_eq!(outcome(action), Outcome::Failure, "{action}");
        }
        assert_eq!(outcome("something-new"), Outcome::Unknown);
    }
}
