//! nfdump's CSV export (`nfdump -r FILE -o csv`, or `-o fmt:…` with `-o csv` in 1.7):
//!
//! ```text
//! ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,…,ra,eng,exid,tr
//! 2026-03-02 10:20:00,2026-03-02 10:20:30,30.000,10.10.1.21,52.1.2.3,51514,443,TCP,.AP.SF,…
//! ```
//!
//! Columns are read by name from the header line, in any order and any subset, by nfdump
//! 1.6's short names (`te`, `sa`, `ibyt`) or 1.7's long ones (`lastSeen`, `srcAddr`,
//! `inBytes`). Times are nfdump's machine's local time, read in the source's zone (with or
//! without milliseconds), or epoch seconds (`%tsr`). The summary nfdump writes after the flows
//! (`Summary`, its header and totals; 1.7's `Summary: total flows: …` lines) is skipped.

use std::net::IpAddr;

use serde_json::{Map, Value};

use seam_model::{Activity, EventClass, Ts};

use crate::common::{self, Collector, Read, RecordResult};
use crate::netflow::elements;
use crate::{Batch, MAX_RECORD_BYTES, ParseContext, csv, timefmt};

const NAME: &str = "nfdump";

/// A flow of more bytes than this (a pebibyte) is a broken record.
const MAX_BYTES: u64 = 1 << 50;

const SUMMARY: &str = "nfdump's summary after the flows";

/// Where each column the event needs is, by its 1.6 or 1.7 name.
#[derive(Debug)]
struct Header {
    names: Vec<String>,
    start: Option<usize>,
    end: usize,
    src: usize,
    dst: usize,
    dst_port: Option<usize>,
    protocol: Option<usize>,
    bytes: Option<usize>,
    src_mac: Option<usize>,
}

impl Header {
    fn read(fields: &[String]) -> Result<Header, String> {
        let names: Vec<String> = fields.iter().map(|name| name.trim().to_string()).collect();
        let find = |aliases: &[&str]| {
            names
                .iter()
                .position(|name| aliases.iter().any(|alias| name.eq_ignore_ascii_case(alias)))
        };
        let required = |aliases: &[&str], what: &str| {
            find(aliases).ok_or_else(|| {
                format!(
                    "not an nfdump CSV header: no column for the {what} ({}); nfdump's CSV starts with `ts,te,td,sa,da,…`",
                    aliases
                        .iter()
                        .map(|alias| format!("`{alias}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            })
        };
        Ok(Header {
            end: required(&["te", "lastSeen"], "flow's end")?,
            src: required(&["sa", "srcAddr"], "source address")?,
            dst: required(&["da", "dstAddr"], "destination address")?,
            start: find(&["ts", "firstSeen"]),
            dst_port: find(&["dp", "dstPort"]),
            protocol: find(&["pr", "proto"]),
            bytes: find(&["ibyt", "inBytes", "bytes"]),
            src_mac: find(&["ismc", "inSrcMac"]),
            names,
        })
    }
}

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    let mut collector = Collector::new(ctx);
    let text = String::from_utf8_lossy(input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input));
    let mut header: Option<Result<Header, String>> = None;
    let mut in_summary = false;
    for record in csv::records(&text, ',') {
        let raw = record.text.as_bytes();
        if raw.len() > MAX_RECORD_BYTES {
            collector.reject_oversize(record.line, raw);
            continue;
        }
        let line = record.text.trim();
        if in_summary || is_summary(line) {
            // Everything after nfdump's summary starts is the summary.
            in_summary = true;
            collector.record(record.line, raw, Ok(Read::Skip(SUMMARY)));
            continue;
        }
        let fields = match record.fields {
            Ok(fields) => fields,
            Err(reason) => {
                collector.reject(record.line, raw, reason);
                continue;
            }
        };
        match &header {
            None => match Header::read(&fields) {
                Ok(read) => header = Some(Ok(read)),
                Err(reason) => {
                    collector.reject(record.line, raw, reason.clone());
                    header = Some(Err(reason));
                }
            },
            Some(Err(reason)) => {
                collector.reject(record.line, raw, format!("no usable header line: {reason}"))
            }
            Some(Ok(header)) if is_summary_totals(header, &fields) => {
                collector.record(record.line, raw, Ok(Read::Skip(SUMMARY)));
            }
            Some(Ok(header)) => {
                let result = row(header, &fields, raw, ctx);
                collector.record(record.line, raw, result);
            }
        }
    }
    collector.finish()
}

/// The lines nfdump writes after the flows: 1.6's `Summary` (then its own header and totals,
/// also recognized on their own) and 1.7's text lines.
fn is_summary(line: &str) -> bool {
    line == "Summary"
        || line.starts_with("Summary:")
        || line.starts_with("flows,bytes,packets,")
        || line.starts_with("Time window:")
        || line.starts_with("Total flows processed:")
        || line.starts_with("Sys:")
}

/// 1.6's summary totals on their own (a reader handing over one line at a time with the
/// header in front): six numbers, under a header of another width.
fn is_summary_totals(header: &Header, fields: &[String]) -> bool {
    fields.len() == 6
        && header.names.len() != 6
        && fields.iter().all(|field| {
            let field = field.trim();
            !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        })
}

fn row(header: &Header, fields: &[String], raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if fields.len() != header.names.len() {
        return Err(format!(
            "{} fields where the header has {}",
            fields.len(),
            header.names.len()
        ));
    }
    let field = |index: usize| fields.get(index).map_or("", |value| value.trim());
    let optional = |index: Option<usize>| index.map(field).filter(|value| !value.is_empty());
    let end = time(field(header.end), ctx).map_err(|error| format!("end time: {error}"))?;
    if let Some(text) = optional(header.start) {
        let start = time(text, ctx).map_err(|error| format!("start time: {error}"))?;
        if end < start {
            return Err(format!("the flow ends ({end}) before it starts ({start})"));
        }
    }
    let src = address(field(header.src), "source")?;
    let dst = address(field(header.dst), "destination")?;
    let (protocol_number, app) = match optional(header.protocol) {
        Some(text) => protocol(text),
        None => (None, None),
    };
    let dst_port = match optional(header.dst_port) {
        Some(text) if elements::has_ports(protocol_number) => Some(
            text.parse::<u16>()
                .map_err(|_| format!("invalid destination port `{}`", timefmt::shorten(text)))?,
        ),
        _ => None,
    };
    let bytes = optional(header.bytes).map(byte_count).transpose()?;
    let mut object = Map::new();
    for (name, value) in header.names.iter().zip(fields) {
        object
            .entry(name.clone())
            .or_insert_with(|| Value::String(value.trim().to_string()));
    }
    let uid = common::digest_uid(NAME, &[raw]);
    let mut event = common::new_event(
        ctx,
        uid,
        end,
        EventClass::NetworkActivity,
        Activity::Traffic,
    );
    event.subject.ip = src;
    event.src.ip = src;
    event.dst.ip = dst;
    event.dst.port = dst_port;
    event.bytes_out = bytes;
    event.app = app;
    event.subject.mac = optional(header.src_mac)
        .and_then(common::mac)
        .filter(|mac| mac != "00:00:00:00:00:00");
    event.raw = Some(Value::Object(object));
    Ok(Read::Event(event))
}

/// nfdump's local time (`2026-03-02 10:20:00`, `….123`) in the source's zone, or epoch
/// seconds with a fraction.
fn time(text: &str, ctx: &ParseContext) -> Result<Ts, String> {
    if text.contains('-') {
        timefmt::local(timefmt::civil(text)?, &ctx.timezone)
    } else {
        timefmt::epoch_seconds_text(text)
    }
}

/// An address; nfdump's `0.0.0.0` or `::` for none is none.
fn address(text: &str, what: &str) -> Result<Option<IpAddr>, String> {
    let address: IpAddr = text
        .parse()
        .map_err(|_| format!("invalid {what} address `{}`", timefmt::shorten(text)))?;
    Ok((!address.is_unspecified()).then_some(address))
}

/// The protocol's number where it is known, and its name for `app` as flow records name it
/// (`tcp`, `udp`, `icmp`, `icmpv6`, else the number): nfdump writes `TCP`, `UDP`, `ICMP`,
/// `ICMP6`, other names (`GRE`), or the number.
fn protocol(text: &str) -> (Option<u8>, Option<String>) {
    let number = match text.to_ascii_uppercase().as_str() {
        "ICMP" => Some(1),
        "IGMP" => Some(2),
        "IPIP" => Some(4),
        "TCP" => Some(6),
        "UDP" => Some(17),
        "IPV6" => Some(41),
        "RSVP" => Some(46),
        "GRE" => Some(47),
        "ESP" => Some(50),
        "AH" => Some(51),
        "ICMP6" | "ICMPV6" | "IPV6-ICMP" => Some(58),
        "OSPF" => Some(89),
        "PIM" => Some(103),
        "VRRP" => Some(112),
        "SCTP" => Some(132),
        other => other.parse::<u8>().ok(),
    };
    let name = match number {
        Some(number) => elements::protocol_name(number),
        None => text.to_ascii_lowercase(),
    };
    (number, Some(name))
}

fn byte_count(text: &str) -> Result<u64, String> {
    if text.starts_with('-') {
        return Err(format!(
            "a negative byte count `{}`",
            timefmt::shorten(text)
        ));
    }
    let bytes: u64 = text
        .parse()
        .map_err(|_| format!("invalid byte count `{}`", timefmt::shorten(text)))?;
    if bytes > MAX_BYTES {
        return Err(format!("a byte count of {bytes} is absurd for one flow"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::new("nfdump", Ts::parse("2026-03-02T12:00:00Z").unwrap())
            .with_timezone(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
    }

    #[test]
    fn columns_by_name_in_any_order() {
        let input = b"dp,da,lastSeen,srcAddr,inBytes,proto\n443,52.1.2.3,2026-03-02 10:00:00.500,10.10.1.21,1200,TCP\n";
        let batch = parse(input, &ctx());
        assert_eq!(batch.rejected, vec![]);
        let event = &batch.events[0];
        assert_eq!(event.time.to_string(), "2026-03-02T09:00:00.500Z");
        assert_eq!(event.dst.port, Some(443));
        assert_eq!(event.bytes_out, Some(1200));
        assert_eq!(event.app.as_deref(), Some("tcp"));
        assert_eq!(event.raw.as_ref().unwrap()["proto"], "TCP");
    }

    #[test]
    fn a_header_without_the_needed_columns_rejects_every_row() {
        let batch = parse(b"ts,te,sp,dp\n1,2,3,4\n", &ctx());
        assert_eq!(batch.rejected.len(), 2);
        assert!(batch.rejected[0].reason.starts_with(
            "not an nfdump CSV header: no column for the source address (`sa` or `srcAddr`)"
        ));
        assert!(
            batch.rejected[1]
                .reason
                .starts_with("no usable header line")
        );
    }

    /// `seam replay` hands over one line at a time with the header in front: the same
    /// events, rejections and skips as the whole file.
    #[test]
    fn line_by_line_with_the_header_in_front_reads_as_the_whole() {
        for fixture in [
            include_str!("../tests/fixtures/nfdump.csv"),
            include_str!("../tests/fixtures/nfdump-17.csv"),
        ] {
            let whole = parse(fixture.as_bytes(), &ctx());
            let mut lines = fixture.lines();
            let header = lines.next().unwrap();
            let (mut events, mut rejected, mut skipped) = (Vec::new(), 0, 0);
            for line in lines {
                let batch = parse(format!("{header}\n{line}").as_bytes(), &ctx());
                events.extend(batch.events);
                rejected += batch.rejected.len();
                skipped += batch.skipped;
            }
            assert_eq!(events, whole.events);
            assert_eq!((rejected, skipped), (whole.rejected.len(), whole.skipped));
        }
    }

    #[test]
    fn protocols_ports_and_counts() {
        assert_eq!(protocol("ICMP6"), (Some(58), Some("icmpv6".to_string())));
        assert_eq!(protocol("47"), (Some(47), Some("47".to_string())));
        assert_eq!(protocol("GRE"), (Some(47), Some("47".to_string())));
        assert_eq!(protocol("XTP"), (None, Some("xtp".to_string())));
        assert_eq!(byte_count("0"), Ok(0));
        assert!(byte_count("-1").unwrap_err().starts_with("a negative"));
        assert!(
            byte_count("1.2 M")
                .unwrap_err()
                .starts_with("invalid byte count")
        );
        assert!(
            byte_count("1152921504606846976")
                .unwrap_err()
                .ends_with("absurd for one flow")
        );
        let epoch = parse(
            b"te,sa,da,pr,dp\n1772445600.250,10.10.1.21,10.10.0.1,ICMP,8.0\n",
            &ctx(),
        );
        assert_eq!(epoch.events[0].time.to_string(), "2026-03-02T10:00:00.250Z");
        assert_eq!(epoch.events[0].dst.port, None, "ICMP's type and code");
    }
}
