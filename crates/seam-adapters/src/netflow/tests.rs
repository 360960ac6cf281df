//! Packets built byte by byte: NetFlow v5, v9, IPFIX, and the pcap files around them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;

// ------------------------------------------------------------------------------ builders

/// Receive time: noon UTC on the demo day.
const OBSERVED: i64 = 1_772_452_800_000;
/// Export time of the test datagrams: a minute before it.
const EXPORT: u32 = 1_772_452_740;
/// The exporter's sysUpTime at export (about 5.8 days).
const UPTIME: u32 = 500_000_000;

fn ctx() -> ParseContext {
    ParseContext::new("netflow", Ts(OBSERVED))
}

fn exporter() -> IpAddr {
    "10.0.0.1".parse().unwrap()
}

/// `value` big-endian in its last `len` bytes (reduced-size encoding when shorter).
fn n(value: u64, len: usize) -> Vec<u8> {
    value.to_be_bytes()[8 - len..].to_vec()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    cat(&[&n(id.into(), 2), &n(body.len() as u64 + 4, 2), body])
}

/// A template record (v9 and IPFIX alike, enterprise 0 only).
fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut out = cat(&[&n(id.into(), 2), &n(fields.len() as u64, 2)]);
    for (element, length) in fields {
        out.extend(n((*element).into(), 2));
        out.extend(n((*length).into(), 2));
    }
    out
}

/// An IPFIX template record with enterprise elements: (element, length, enterprise).
fn template_e(id: u16, fields: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut out = cat(&[&n(id.into(), 2), &n(fields.len() as u64, 2)]);
    for (element, length, enterprise) in fields {
        if *enterprise == 0 {
            out.extend(n((*element).into(), 2));
            out.extend(n((*length).into(), 2));
        } else {
            out.extend(n(u64::from(*element | 0x8000), 2));
            out.extend(n((*length).into(), 2));
            out.extend(n((*enterprise).into(), 4));
        }
    }
    out
}

fn v9(sequence: u32, domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    v9_at(sequence, domain, UPTIME, sets)
}

fn v9_at(sequence: u32, domain: u32, uptime: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = cat(&[
        &n(9, 2),
        &n(sets.len() as u64, 2),
        &n(uptime.into(), 4),
        &n(EXPORT.into(), 4),
        &n(sequence.into(), 4),
        &n(domain.into(), 4),
    ]);
    for set in sets {
        out.extend(set);
    }
    out
}

fn ipfix(sequence: u32, domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = sets.concat();
    cat(&[
        &n(10, 2),
        &n(body.len() as u64 + 16, 2),
        &n(EXPORT.into(), 4),
        &n(sequence.into(), 4),
        &n(domain.into(), 4),
        &body,
    ])
}

/// The v9 template most tests use: addresses, ports, protocol, 4-byte counts, uptime times
/// and the source MAC.
const V9_FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (1, 4),
    (2, 4),
    (22, 4),
    (21, 4),
    (56, 6),
];

/// A record of [`V9_FIELDS`]: a flow of `octets` from 10.10.1.x to 52.1.2.3:443 ending
/// `ago` ms before the export.
fn v9_record(host: u8, octets: u32, ago: u32) -> Vec<u8> {
    cat(&[
        &[10, 10, 1, host],
        &[52, 1, 2, 3],
        &n(50_000, 2),
        &n(443, 2),
        &[6],
        &n(octets.into(), 4),
        &n(12, 4),
        &n((UPTIME - ago - 30_000).into(), 4),
        &n((UPTIME - ago).into(), 4),
        &[0x3c, 0x22, 0xfb, 0, 0, host],
    ])
}

fn v5_header(count: u16, sequence: u32) -> Vec<u8> {
    cat(&[
        &n(5, 2),
        &n(count.into(), 2),
        &n(UPTIME.into(), 4),
        &n(EXPORT.into(), 4),
        &n(250_000_000, 4),
        &n(sequence.into(), 4),
        &[1, 2],
        &n(0, 2),
    ])
}

fn v5_record(src: [u8; 4], dst: [u8; 4], dport: u16, protocol: u8, octets: u32) -> Vec<u8> {
    cat(&[
        &src,
        &dst,
        &[10, 0, 0, 254],
        &n(3, 2),
        &n(1, 2),
        &n(7, 4),
        &n(octets.into(), 4),
        &n((UPTIME - 20_000).into(), 4),
        &n((UPTIME - 2_000).into(), 4),
        &n(40_000, 2),
        &n(dport.into(), 2),
        &[0, 0x1b, protocol, 0],
        &n(64_512, 2),
        &n(15_169, 2),
        &[24, 16],
        &n(0, 2),
    ])
}

fn decode(decoder: &mut FlowDecoder, datagram: &[u8]) -> Batch {
    let batch = decoder.decode(exporter(), datagram, &ctx());
    for event in &batch.events {
        assert_eq!(event.validate(), Ok(()));
    }
    batch
}

fn reasons(batch: &Batch) -> Vec<&str> {
    batch.rejected.iter().map(|r| r.reason.as_str()).collect()
}

// ------------------------------------------------------------------------------- v5

#[test]
fn v5_round_trip() {
    let datagram = cat(&[
        &v5_header(3, 1000),
        &v5_record([10, 10, 1, 31], [52, 1, 2, 3], 443, 6, 1_200_000),
        &v5_record([10, 10, 1, 31], [10, 10, 0, 53], 53, 17, 180),
        &v5_record([10, 10, 1, 21], [10, 10, 0, 1], 0x0800, 1, 84),
    ]);
    let mut decoder = FlowDecoder::new();
    let batch = decode(&mut decoder, &datagram);
    assert_eq!(batch.events.len(), 3, "{:?}", batch.rejected);
    let event = &batch.events[0];
    // Export at EXPORT + 0.25 s; the flow ended 2 s of uptime before.
    assert_eq!(event.time, Ts(i64::from(EXPORT) * 1000 + 250 - 2000));
    assert_eq!(event.class, EventClass::NetworkActivity);
    assert_eq!(event.activity, Activity::Traffic);
    assert_eq!(event.subject.ip, "10.10.1.31".parse().ok());
    assert_eq!(event.src.ip, "10.10.1.31".parse().ok());
    assert_eq!(event.dst.ip, "52.1.2.3".parse().ok());
    assert_eq!(event.dst.port, Some(443));
    assert_eq!(event.bytes_out, Some(1_200_000));
    assert_eq!(event.app.as_deref(), Some("tcp"));
    assert_eq!(event.count, None);
    let raw = event.raw.as_ref().unwrap();
    assert_eq!(raw["packetDeltaCount"], 7);
    assert_eq!(raw["exporter"], "10.0.0.1");
    assert_eq!(raw["domain"], 0x0102);
    assert_eq!(raw["bgpDestinationAsNumber"], 15_169);
    assert_eq!(raw["start"], "2026-03-02T11:58:40.250Z");
    assert_eq!(raw["end"], "2026-03-02T11:58:58.250Z");
    assert_eq!(batch.events[1].app.as_deref(), Some("udp"));
    // ICMP's "port" is its type and code: not a destination port.
    assert_eq!(batch.events[2].app.as_deref(), Some("icmp"));
    assert_eq!(batch.events[2].dst.port, None);
    let stream = "10.0.0.1/258/v5".to_string();
    assert_eq!(
        batch.sequences,
        vec![
            (stream.clone(), 1000),
            (stream.clone(), 1001),
            (stream, 1002)
        ]
    );
    // The same datagram again, even to another decoder, gives the same uids.
    let again = decode(&mut FlowDecoder::new(), &datagram);
    assert_eq!(again.events, batch.events);
    let uids: std::collections::BTreeSet<_> = batch.events.iter().map(|e| &e.uid).collect();
    assert_eq!(uids.len(), 3);
}

#[test]
fn v5_count_and_length_must_agree() {
    let record = v5_record([10, 10, 1, 31], [52, 1, 2, 3], 443, 6, 100);
    let short = cat(&[&v5_header(3, 1), &record, &record]);
    let batch = decode(&mut FlowDecoder::new(), &short);
    assert_eq!(batch.events.len(), 2);
    assert_eq!(
        reasons(&batch),
        ["the header counts 3 flows but the datagram holds 2: truncated"]
    );
    let long = cat(&[&v5_header(1, 1), &record, &[1, 2, 3]]);
    let batch = decode(&mut FlowDecoder::new(), &long);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(
        reasons(&batch),
        ["3 bytes after the 1 flows the header counts"]
    );
}

// ------------------------------------------------------------------------------- v9

#[test]
fn v9_template_and_data_in_one_packet_and_later_ones() {
    let mut decoder = FlowDecoder::new();
    let first = v9(
        1,
        7,
        &[
            set(0, &template(256, V9_FIELDS)),
            set(
                256,
                &cat(&[&v9_record(31, 5000, 1000), &v9_record(32, 6000, 0)]),
            ),
        ],
    );
    let batch = decode(&mut decoder, &first);
    assert_eq!(batch.events.len(), 2, "{:?}", reasons(&batch));
    let event = &batch.events[0];
    assert_eq!(event.time, Ts(i64::from(EXPORT) * 1000 - 1000));
    assert_eq!(event.subject.mac.as_deref(), Some("3c:22:fb:00:00:1f"));
    assert_eq!(event.bytes_out, Some(5000));
    let raw = event.raw.as_ref().unwrap();
    assert_eq!(raw["template"], 256);
    assert_eq!(raw["sourceMacAddress"], "3c:22:fb:00:00:1f");
    assert_eq!(raw["octetDeltaCount"], 5000);
    assert_eq!(raw["flowEndSysUpTime"], UPTIME - 1000);
    assert_eq!(batch.sequences, vec![("10.0.0.1/7/v9".to_string(), 1)]);
    // Later packets use the template learned.
    for sequence in 2..5 {
        let later = v9(sequence, 7, &[set(256, &v9_record(40, 1, 0))]);
        let batch = decode(&mut decoder, &later);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            batch.sequences,
            vec![("10.0.0.1/7/v9".to_string(), u64::from(sequence))]
        );
    }
    // The same exporter through a dual-stack socket.
    let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    let batch = decoder.decode(mapped, &v9(5, 7, &[set(256, &v9_record(40, 1, 0))]), &ctx());
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.sequences, vec![("10.0.0.1/7/v9".to_string(), 5)]);
    // Another domain of the same exporter has no template 256.
    let other = decode(&mut decoder, &v9(1, 8, &[set(256, &v9_record(40, 1, 0))]));
    assert_eq!(
        reasons(&other),
        ["no template 256 yet from 10.0.0.1 domain 8"]
    );
    assert_eq!(decoder.templates(), 1);
    assert_eq!(decoder.exporters(), 1);
}

#[test]
fn data_before_its_template_is_a_dead_letter_until_the_template_comes() {
    let mut decoder = FlowDecoder::new();
    let data = set(256, &v9_record(31, 5000, 0));
    let early = decode(&mut decoder, &v9(1, 0, std::slice::from_ref(&data)));
    assert!(early.events.is_empty());
    assert_eq!(early.rejected.len(), 1);
    assert_eq!(early.rejected[0].index, 1);
    assert_eq!(early.rejected[0].raw, data);
    assert_eq!(
        early.rejected[0].reason,
        "no template 256 yet from 10.0.0.1 domain 0"
    );
    assert_eq!(decoder.stats().sets_without_template, 1);
    let template = decode(
        &mut decoder,
        &v9(2, 0, &[set(0, &template(256, V9_FIELDS))]),
    );
    assert!(template.events.is_empty() && template.rejected.is_empty());
    let late = decode(&mut decoder, &v9(3, 0, &[data]));
    assert_eq!(late.events.len(), 1);
    assert!(late.rejected.is_empty());
}

#[test]
fn a_refreshed_template_with_another_layout_replaces_the_old() {
    let mut decoder = FlowDecoder::new();
    decode(
        &mut decoder,
        &v9(1, 0, &[set(0, &template(256, V9_FIELDS))]),
    );
    // The same layout again is only a refresh.
    decode(
        &mut decoder,
        &v9(2, 0, &[set(0, &template(256, V9_FIELDS))]),
    );
    assert_eq!(decoder.stats().templates_learned, 1);
    // Destination first, 8-byte octets, no MAC, no times.
    let layout = [(12, 4), (8, 4), (11, 2), (4, 1), (1, 8)];
    let record = cat(&[&[52, 9, 9, 9], &[10, 10, 1, 21], &n(22, 2), &[6], &n(77, 8)]);
    let batch = decode(
        &mut decoder,
        &v9(3, 0, &[set(0, &template(256, &layout)), set(256, &record)]),
    );
    assert_eq!(decoder.stats().templates_learned, 2);
    assert_eq!(decoder.templates(), 1);
    assert_eq!(batch.events.len(), 1, "{:?}", reasons(&batch));
    let event = &batch.events[0];
    assert_eq!(event.src.ip, "10.10.1.21".parse().ok());
    assert_eq!(event.dst.ip, "52.9.9.9".parse().ok());
    assert_eq!(event.dst.port, Some(22));
    assert_eq!(event.bytes_out, Some(77));
    assert_eq!(event.subject.mac, None);
    // No times: the export time stands in.
    assert_eq!(event.time, Ts(i64::from(EXPORT) * 1000));
}

#[test]
fn options_templates_are_read_and_their_records_skipped() {
    let mut decoder = FlowDecoder::new();
    // v9 options template 257: scope System (type 1, 4 bytes), options: sampling interval
    // (34, 4) and algorithm (35, 1); padded to 4 bytes.
    let options = cat(&[
        &n(257, 2),
        &n(4, 2),
        &n(8, 2),
        &n(1, 2),
        &n(4, 2),
        &n(34, 2),
        &n(4, 2),
        &n(35, 2),
        &n(1, 2),
        &[0, 0],
    ]);
    let data = cat(&[&n(1, 4), &n(100, 4), &[2], &[0, 0, 0]]);
    let batch = decode(
        &mut decoder,
        &v9(
            1,
            0,
            &[
                set(1, &options),
                set(0, &template(256, V9_FIELDS)),
                set(257, &data),
                set(256, &v9_record(31, 1, 0)),
            ],
        ),
    );
    assert_eq!(reasons(&batch), Vec::<&str>::new());
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.skipped, 1);
    assert_eq!(
        batch.skip_reasons,
        BTreeMap::from([(
            "an options record (exporter metadata, not a flow)".to_string(),
            1
        )])
    );
    assert_eq!(decoder.stats().options_templates, 1);
}

#[test]
fn ipfix_options_carry_the_exporters_start_for_uptime_times() {
    let mut decoder = FlowDecoder::new();
    let init = i64::from(EXPORT) * 1000 - i64::from(UPTIME);
    // Options template 300: scope observationDomainId, option systemInitTimeMilliseconds.
    let options = cat(&[
        &n(300, 2),
        &n(2, 2),
        &n(1, 2),
        &n(149, 2),
        &n(4, 2),
        &n(160, 2),
        &n(8, 2),
    ]);
    let flows = template(256, &[(8, 4), (12, 4), (22, 4), (21, 4)]);
    let record = |end: u32| {
        cat(&[
            &[10, 10, 1, 31],
            &[52, 1, 2, 3],
            &n((end - 5000).into(), 4),
            &n(end.into(), 4),
        ])
    };
    // Before the options record: the export time stands in.
    let before = decode(
        &mut decoder,
        &ipfix(
            0,
            1,
            &[
                set(3, &options),
                set(2, &flows),
                set(256, &record(UPTIME - 3000)),
            ],
        ),
    );
    assert_eq!(before.events[0].time, Ts(i64::from(EXPORT) * 1000));
    let after = decode(
        &mut decoder,
        &ipfix(
            1,
            1,
            &[
                set(300, &cat(&[&n(1, 4), &n(init as u64, 8)])),
                set(256, &record(UPTIME - 3000)),
            ],
        ),
    );
    assert_eq!(after.skipped, 1);
    assert_eq!(after.events[0].time, Ts(i64::from(EXPORT) * 1000 - 3000));
    // The sequence numbers count data records, options records too.
    let stream = "10.0.0.1/1/v10".to_string();
    assert_eq!(after.sequences, vec![(stream.clone(), 1), (stream, 2)]);
    // An uptime far from that start is refused.
    let far = decode(
        &mut decoder,
        &ipfix(3, 1, &[set(256, &record(UPTIME + 600_000))]),
    );
    assert!(
        far.rejected[0]
            .reason
            .starts_with("flow times far from the exporter's uptime base")
    );
}

// ------------------------------------------------------------------------------ IPFIX

#[test]
fn ipfix_variable_length_fields_enterprise_and_reverse_elements() {
    let mut decoder = FlowDecoder::new();
    let fields = template_e(
        400,
        &[
            (27, 16, 0),
            (28, 16, 0),
            (7, 2, 0),
            (11, 2, 0),
            (4, 1, 0),
            (96, VARIABLE, 0),
            (1, 8, 0),
            (1, 8, REVERSE_PEN),
            (153, 8, 0),
            (12345, 2, 9),
            (999, 1, 0),
        ],
    );
    let end_ms = i64::from(EXPORT) * 1000 - 500;
    let source: Ipv6Addr = "2001:db8:10::31".parse().unwrap();
    let destination: Ipv6Addr = "2001:db8:99::1".parse().unwrap();
    let record = |name: &[u8], long: bool| {
        let length = if long {
            cat(&[&[255], &n(name.len() as u64, 2)])
        } else {
            vec![name.len() as u8]
        };
        cat(&[
            &source.octets(),
            &destination.octets(),
            &n(50_001, 2),
            &n(443, 2),
            &[6],
            &length,
            name,
            &n(9000, 8),
            &n(123_456, 8),
            &n(end_ms as u64, 8),
            &[0xbe, 0xef],
            &[7],
        ])
    };
    let long_name = vec![b'x'; 300];
    let batch = decode(
        &mut decoder,
        &ipfix(
            50,
            3,
            &[
                set(2, &fields),
                set(
                    400,
                    &cat(&[&record(b"https", false), &record(&long_name, true)]),
                ),
            ],
        ),
    );
    assert_eq!(batch.events.len(), 2, "{:?}", reasons(&batch));
    let event = &batch.events[0];
    assert_eq!(event.time, Ts(end_ms));
    assert_eq!(event.subject.ip, Some(IpAddr::V6(source)));
    assert_eq!(event.dst.ip, Some(IpAddr::V6(destination)));
    assert_eq!(event.bytes_out, Some(9000));
    let raw = event.raw.as_ref().unwrap();
    assert_eq!(raw["applicationName"], "https");
    assert_eq!(raw["reverseOctetDeltaCount"], 123_456);
    assert_eq!(raw["e9.12345"], "beef");
    assert_eq!(raw["999"], "07");
    assert_eq!(raw["flowEndMilliseconds"], "2026-03-02T11:58:59.500Z");
    let raw = batch.events[1].raw.as_ref().unwrap();
    assert_eq!(raw["applicationName"].as_str().unwrap().len(), 300);
    let stream = "10.0.0.1/3/v10".to_string();
    assert_eq!(batch.sequences, vec![(stream.clone(), 50), (stream, 51)]);
    // A variable-length field whose length runs past the set is rejected, not read.
    let mut broken = record(b"https", false);
    broken[37] = 200;
    let batch = decode(&mut decoder, &ipfix(52, 3, &[set(400, &broken)]));
    assert!(batch.events.is_empty());
    assert!(reasons(&batch)[0].starts_with("a record overruns its set at field applicationName"));
}

#[test]
fn ipfix_withdrawals_remove_templates() {
    let mut decoder = FlowDecoder::new();
    let fields = [(8, 4), (12, 4)];
    let record = cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3]]);
    decode(
        &mut decoder,
        &ipfix(
            0,
            0,
            &[set(
                2,
                &cat(&[&template(256, &fields), &template(257, &fields)]),
            )],
        ),
    );
    assert_eq!(decoder.templates(), 2);
    // Withdraw 256: its data is a dead letter again; 257 still reads.
    let batch = decode(
        &mut decoder,
        &ipfix(
            0,
            0,
            &[
                set(2, &template(256, &[])),
                set(256, &record),
                set(257, &record),
            ],
        ),
    );
    assert_eq!(
        reasons(&batch),
        ["no template 256 yet from 10.0.0.1 domain 0"]
    );
    assert_eq!(batch.events.len(), 1);
    assert_eq!(decoder.stats().templates_withdrawn, 1);
    // Template id 2 withdraws every data template of the domain.
    decode(&mut decoder, &ipfix(1, 0, &[set(2, &template(2, &[]))]));
    assert_eq!(decoder.templates(), 0);
    assert_eq!(decoder.stats().templates_withdrawn, 2);
}

#[test]
fn reduced_size_encoding_of_integers() {
    let mut decoder = FlowDecoder::new();
    for (octets_len, ports_len) in [(1, 2), (2, 2), (3, 1), (4, 2), (5, 2), (8, 2)] {
        let value = (1u64 << (8 * octets_len - 1)) + 3;
        let template = template(300, &[(8, 4), (12, 4), (11, ports_len), (1, octets_len)]);
        let record = cat(&[
            &[10, 10, 1, 31],
            &[52, 1, 2, 3],
            &n(80, ports_len.into()),
            &n(value, octets_len.into()),
        ]);
        let batch = decode(
            &mut decoder,
            &ipfix(0, 0, &[set(2, &template), set(300, &record)]),
        );
        assert_eq!(batch.events.len(), 1, "{octets_len}: {:?}", reasons(&batch));
        assert_eq!(batch.events[0].bytes_out, Some(value));
        assert_eq!(batch.events[0].dst.port, Some(80));
    }
    // Nine bytes is no integer: the count is unknown and raw keeps the hex.
    let template9 = template(301, &[(8, 4), (12, 4), (1, 9)]);
    let record = cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3], &[0; 8], &[5]]);
    let batch = decode(
        &mut decoder,
        &ipfix(0, 0, &[set(2, &template9), set(301, &record)]),
    );
    assert_eq!(batch.events[0].bytes_out, None);
    assert_eq!(
        batch.events[0].raw.as_ref().unwrap()["octetDeltaCount"],
        "000000000000000005"
    );
}

// ------------------------------------------------------------------- hostile templates

#[test]
fn absurd_templates_are_refused_and_the_set_goes_on() {
    let mut decoder = FlowDecoder::new();
    let many: Vec<(u16, u16)> = (0..600).map(|i| (1000 + i, 1)).collect();
    let zero = [(8, 0), (12, 0)];
    let huge = [(8, 65_000), (12, 1000)];
    let reserved = template(255, &[(8, 4)]);
    let set_body = cat(&[
        &template(256, &many),
        &template(257, &zero),
        &template(258, &huge),
        &reserved,
        &template(259, &[(8, 4), (12, 4)]),
    ]);
    let batch = decode(&mut decoder, &v9(1, 0, &[set(0, &set_body)]));
    assert_eq!(
        reasons(&batch),
        [
            "template 256 has 600 fields, more than the limit of 512",
            "template 257 describes records of 0 bytes, which no set can carry",
            "template 258 describes records of 66000 bytes, which no set can carry",
            "template id 255 is reserved (templates are numbered from 256)",
        ]
    );
    assert_eq!(decoder.templates(), 1, "only 259 is kept");
    assert_eq!(decoder.stats().templates_rejected, 4);
    // v9 has no variable-length fields: 65535 is a length, and too long.
    let batch = decode(
        &mut decoder,
        &v9(2, 0, &[set(0, &template(260, &[(8, VARIABLE)]))]),
    );
    assert_eq!(reasons(&batch).len(), 1);
    // A template whose fields run past its set.
    let mut cut = template(261, &[(8, 4), (12, 4)]);
    cut[3] = 40;
    let batch = decode(&mut decoder, &v9(3, 0, &[set(0, &cut)]));
    assert_eq!(
        reasons(&batch),
        ["template 261: cut short at field 3 of 40 (12 bytes left in the set)"]
    );
}

#[test]
fn set_lengths_and_padding() {
    let mut decoder = FlowDecoder::new();
    let fields = template(256, &[(8, 4), (12, 4)]);
    let record = cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3]]);
    // Zero padding after the last record is fine; other bytes are not.
    let padded = decode(
        &mut decoder,
        &v9(
            1,
            0,
            &[set(0, &fields), set(256, &cat(&[&record, &[0, 0, 0]]))],
        ),
    );
    assert!(padded.rejected.is_empty());
    assert_eq!(padded.events.len(), 1);
    let junk = decode(
        &mut decoder,
        &v9(2, 0, &[set(256, &cat(&[&record, &[0, 9, 0]]))]),
    );
    assert_eq!(
        reasons(&junk),
        [
            "3 bytes after the last whole record of the data set for template 256 are not zero padding"
        ]
    );
    // A set length shorter than its header, or longer than the datagram, stops the datagram.
    let short = cat(&[&v9(3, 0, &[]), &n(256, 2), &n(2, 2), &record]);
    assert_eq!(
        reasons(&decode(&mut decoder, &short)),
        ["a flowset length of 2 is shorter than its 4-byte header"]
    );
    let long = cat(&[&v9(4, 0, &[]), &n(256, 2), &n(100, 2), &record]);
    assert_eq!(
        reasons(&decode(&mut decoder, &long)),
        ["a flowset of 100 bytes overruns the datagram (12 bytes left): truncated"]
    );
    // Reserved flowset ids.
    let reserved = decode(&mut decoder, &v9(5, 0, &[set(7, &record)]));
    assert_eq!(reasons(&reserved), ["flowset id 7 is reserved"]);
    // IPFIX: the message length must match the datagram.
    let message = ipfix(0, 0, &[set(2, &fields), set(256, &record)]);
    let mut trailing = message.clone();
    trailing.extend([1, 2]);
    let batch = decode(&mut decoder, &trailing);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(
        reasons(&batch),
        ["2 bytes after the end of the 44-byte IPFIX message"]
    );
    let batch = decode(&mut decoder, &message[..40]);
    assert_eq!(
        reasons(&batch),
        [
            "the IPFIX message is 44 bytes long but only 40 arrived; reading what did",
            "a set of 12 bytes overruns the datagram (8 bytes left): truncated",
        ]
    );
}

#[test]
fn versions_other_than_5_9_10_are_refused() {
    let mut decoder = FlowDecoder::new();
    assert_eq!(
        reasons(&decode(&mut decoder, &[0, 7, 0, 0])),
        ["NetFlow v7 is not read (v5, v9 and IPFIX are)"]
    );
    assert_eq!(
        reasons(&decode(&mut decoder, b"GET / HTTP/1.1")),
        ["not NetFlow or IPFIX: the version field is 18245"]
    );
    assert_eq!(
        reasons(&decode(&mut decoder, &[9])),
        ["a datagram of 1 bytes is too short for a flow export header"]
    );
    assert!(decode(&mut decoder, &[]).rejected[0].index == 0);
}

#[test]
fn every_truncation_of_a_valid_packet_is_a_rejection_or_a_part() {
    let v5_packet = cat(&[
        &v5_header(2, 1),
        &v5_record([10, 10, 1, 31], [52, 1, 2, 3], 443, 6, 100),
        &v5_record([10, 10, 1, 32], [52, 1, 2, 3], 443, 6, 100),
    ]);
    let v9_packet = v9(
        1,
        0,
        &[
            set(0, &template(256, V9_FIELDS)),
            set(256, &cat(&[&v9_record(31, 1, 0), &v9_record(32, 1, 0)])),
        ],
    );
    let ipfix_packet = ipfix(
        1,
        0,
        &[
            set(
                2,
                &template_e(256, &[(8, 4, 0), (12, 4, 0), (96, VARIABLE, 0), (7, 2, 9)]),
            ),
            set(
                256,
                &cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3], &[3], b"dns", &[0, 1]]),
            ),
        ],
    );
    for packet in [v5_packet, v9_packet, ipfix_packet] {
        let whole = decode(&mut FlowDecoder::new(), &packet);
        assert!(whole.rejected.is_empty(), "{:?}", reasons(&whole));
        for length in 0..packet.len() {
            let part = decode(&mut FlowDecoder::new(), &packet[..length]);
            assert!(part.events.len() <= whole.events.len());
            assert!(
                !part.rejected.is_empty()
                    || part.events.len() < whole.events.len()
                    || length >= packet.len() - 3,
                "{length}: {:?}",
                part.events
            );
            // Every event of a part is one of the whole's.
            for event in &part.events {
                assert!(whole.events.contains(event));
            }
        }
    }
}

// ------------------------------------------------------------------------------ limits

#[test]
fn a_flood_of_templates_stays_within_the_limits() {
    let mut decoder = FlowDecoder::new();
    for id in 0..10_000u32 {
        let template = template(256 + (id % 60_000) as u16, &[(8, 4), (12, 4)]);
        decode(&mut decoder, &v9(id, id / 1000, &[set(0, &template)]));
    }
    assert_eq!(decoder.templates(), DEFAULT_TEMPLATES_PER_EXPORTER);
    assert_eq!(decoder.stats().templates_evicted, 10_000 - 512);
    // The newest are kept: the last one reads.
    let last = decode(
        &mut decoder,
        &v9(
            1,
            9,
            &[set(256 + 9_999, &cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3]]))],
        ),
    );
    assert_eq!(last.events.len(), 1);

    // From 10,000 exporters: at most 4096 are kept, the least recently heard from go first.
    let mut decoder = FlowDecoder::new();
    for host in 0..10_000u32 {
        let exporter = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + host));
        decoder.decode(
            exporter,
            &v9(0, 0, &[set(0, &template(256, &[(8, 4)]))]),
            &ctx(),
        );
    }
    assert_eq!(decoder.exporters(), DEFAULT_EXPORTERS);
    assert_eq!(decoder.templates(), DEFAULT_EXPORTERS);
    assert_eq!(decoder.stats().exporters_evicted, 10_000 - 4096);

    // The field budget bounds memory whatever the other limits.
    let mut decoder = FlowDecoder::with_limits(FlowLimits {
        templates_per_exporter: 1000,
        exporters: 1000,
        template_fields: 5000,
    });
    let fields: Vec<(u16, u16)> = (0..500).map(|i| (1000 + i, 1)).collect();
    for id in 0..100u16 {
        let exporter = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + u32::from(id % 7)));
        decoder.decode(
            exporter,
            &v9(0, 0, &[set(0, &template(256 + id, &fields))]),
            &ctx(),
        );
        assert!(decoder.fields <= 5000);
    }
    assert_eq!(decoder.templates(), 10);
    assert_eq!(decoder.template_order.len(), decoder.templates());
}

// ------------------------------------------------------------------------------- times

#[test]
fn flow_times_against_the_uptime_base() {
    let mut decoder = FlowDecoder::new();
    let fields = set(0, &template(256, &[(8, 4), (12, 4), (22, 4), (21, 4)]));
    let record = |first: u32, last: u32| {
        cat(&[
            &[10, 10, 1, 31],
            &[52, 1, 2, 3],
            &n(first.into(), 4),
            &n(last.into(), 4),
        ])
    };
    decode(&mut decoder, &v9(0, 0, &[fields]));
    let export = i64::from(EXPORT) * 1000;
    // A minute after the export, and two days before it: refused.
    for last in [UPTIME + 60_000, UPTIME - 2 * 86_400_000] {
        let batch = decode(
            &mut decoder,
            &v9(1, 0, &[set(256, &record(last - 10, last))]),
        );
        assert!(batch.events.is_empty());
        assert_eq!(batch.rejected.len(), 1);
        assert!(
            batch.rejected[0]
                .reason
                .starts_with("flow times far from the exporter's uptime base"),
            "{}",
            batch.rejected[0].reason
        );
    }
    // Two seconds after the export (clock skew): kept.
    let batch = decode(
        &mut decoder,
        &v9(2, 0, &[set(256, &record(UPTIME, UPTIME + 2000))]),
    );
    assert_eq!(batch.events[0].time, Ts(export + 2000));
    // The uptime wrapped between the flow and the export.
    let batch = decode(
        &mut decoder,
        &v9_at(
            3,
            0,
            5000,
            &[set(256, &record(u32::MAX - 20_000, u32::MAX - 4_999))],
        ),
    );
    assert_eq!(batch.events.len(), 1, "{:?}", reasons(&batch));
    assert_eq!(batch.events[0].time, Ts(export - 10_000));
    let raw = batch.events[0].raw.as_ref().unwrap();
    assert_eq!(raw["start"], Ts(export - 25_001).to_string());
    // The flow's start wrapped but not its end.
    let batch = decode(
        &mut decoder,
        &v9_at(4, 0, 50_000, &[set(256, &record(u32::MAX - 999, 40_000))]),
    );
    assert_eq!(batch.events[0].time, Ts(export - 10_000));
    let raw = batch.events[0].raw.as_ref().unwrap();
    assert_eq!(raw["start"], Ts(export - 51_000).to_string());
}

#[test]
fn ipfix_absolute_times_in_every_precision() {
    let mut decoder = FlowDecoder::new();
    let export = i64::from(EXPORT) * 1000;
    let ntp_seconds = (i64::from(EXPORT) - 4 + NTP_TO_UNIX) as u64;
    // Half a second as an NTP fraction.
    let ntp = (ntp_seconds << 32) | (1 << 31);
    for (element, value, length, expected) in [
        (151u16, u64::from(EXPORT - 4), 4usize, export - 4000),
        (153, (export - 4000) as u64, 8, export - 4000),
        (155, ntp, 8, export - 3500),
        (157, ntp, 8, export - 3500),
        (159, 2_500_000, 4, export - 2500),
    ] {
        let fields = template(256, &[(8, 4), (12, 4), (element, length as u16)]);
        let record = cat(&[&[10, 10, 1, 31], &[52, 1, 2, 3], &n(value, length)]);
        let batch = decode(
            &mut decoder,
            &ipfix(0, 0, &[set(2, &fields), set(256, &record)]),
        );
        assert_eq!(batch.events.len(), 1, "{element}: {:?}", reasons(&batch));
        assert_eq!(batch.events[0].time, Ts(expected), "{element}");
    }
    // A flow ending after its export is refused.
    let fields = template(256, &[(8, 4), (12, 4), (153, 8)]);
    let record = cat(&[
        &[10, 10, 1, 31],
        &[52, 1, 2, 3],
        &n((export + 60_000) as u64, 8),
    ]);
    let batch = decode(
        &mut decoder,
        &ipfix(0, 0, &[set(2, &fields), set(256, &record)]),
    );
    assert_eq!(
        reasons(&batch),
        ["the flow ends at 2026-03-02T12:00:00.000Z, after its export at 2026-03-02T11:59:00.000Z"]
    );
}

#[test]
fn records_without_addresses_are_skipped_and_zero_addresses_are_none() {
    let mut decoder = FlowDecoder::new();
    // An exporter sending both families, the unused one as zeros.
    let fields = template(256, &[(8, 4), (12, 4), (27, 16), (28, 16), (1, 4)]);
    let v6 = cat(&[
        &[0; 8],
        &"2001:db8::5".parse::<Ipv6Addr>().unwrap().octets(),
        &"2001:db8::9".parse::<Ipv6Addr>().unwrap().octets(),
        &n(5, 4),
    ]);
    let none = cat(&[&[0; 40], &n(5, 4)]);
    let batch = decode(
        &mut decoder,
        &v9(0, 0, &[set(0, &fields), set(256, &cat(&[&v6, &none]))]),
    );
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].src.ip, "2001:db8::5".parse().ok());
    assert_eq!(
        batch.skip_reasons.get("a flow record without addresses"),
        Some(&1)
    );
}

// -------------------------------------------------------------------------------- pcap

/// A classic pcap file: little-endian, microseconds, the given link type.
fn pcap(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(65_535u32.to_le_bytes());
    out.extend(link.to_le_bytes());
    for (number, frame) in frames.iter().enumerate() {
        out.extend((EXPORT + number as u32).to_le_bytes());
        out.extend((number as u32 * 1000).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend(frame);
    }
    out
}

/// The same file in big-endian byte order with nanosecond stamps.
fn pcap_big_nanos(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_3c4du32.to_be_bytes());
    out.extend(2u16.to_be_bytes());
    out.extend(4u16.to_be_bytes());
    out.extend([0; 8]);
    out.extend(65_535u32.to_be_bytes());
    out.extend(link.to_be_bytes());
    for frame in frames {
        out.extend(EXPORT.to_be_bytes());
        out.extend(5u32.to_be_bytes());
        out.extend((frame.len() as u32).to_be_bytes());
        out.extend((frame.len() as u32).to_be_bytes());
        out.extend(frame);
    }
    out
}

fn ethernet(vlans: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = cat(&[&[0x00, 0x1b, 0x21, 0, 0, 5], &[0x00, 0x1b, 0x21, 0, 0, 1]]);
    for vlan in vlans {
        out.extend(n(0x8100, 2));
        out.extend(n((*vlan).into(), 2));
    }
    out.extend(n(ethertype.into(), 2));
    out.extend(payload);
    // Ethernet pads short frames: the IP length says where the packet ends.
    out.extend([0; 6]);
    out
}

fn ipv4(source: [u8; 4], protocol: u8, fragment: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x45, 0],
        &n(20 + payload.len() as u64, 2),
        &n(0x1234, 2),
        &n(fragment.into(), 2),
        &[64, protocol],
        &n(0, 2),
        &source,
        &[10, 0, 0, 5],
        payload,
    ])
}

fn ipv6(source: &str, next: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x60, 0, 0, 0],
        &n(payload.len() as u64, 2),
        &[next, 64],
        &source.parse::<Ipv6Addr>().unwrap().octets(),
        &"2001:db8::5".parse::<Ipv6Addr>().unwrap().octets(),
        payload,
    ])
}

fn udp(payload: &[u8]) -> Vec<u8> {
    cat(&[
        &n(50_000, 2),
        &n(2055, 2),
        &n(8 + payload.len() as u64, 2),
        &n(0, 2),
        payload,
    ])
}

fn adapter(input: &[u8]) -> Batch {
    let batch = Adapter::Netflow.parse(input, &ctx()).unwrap();
    for event in &batch.events {
        assert_eq!(event.validate(), Ok(()));
        assert_eq!(event.source, "netflow");
    }
    batch
}

use crate::Adapter;

fn sample_v5() -> Vec<u8> {
    cat(&[
        &v5_header(1, 9),
        &v5_record([10, 10, 1, 31], [52, 1, 2, 3], 443, 6, 100),
    ])
}

#[test]
fn pcap_link_types_byte_orders_and_ip_versions() {
    let v5 = sample_v5();
    let over_v4 = ipv4([10, 0, 0, 1], 17, 0, &udp(&v5));
    let over_v6 = ipv6("2001:db8::1", 17, &udp(&v5));
    let ethernet_files = [
        pcap(1, &[ethernet(&[], 0x0800, &over_v4)]),
        pcap(1, &[ethernet(&[20, 30], 0x0800, &over_v4)]),
        pcap(1, &[ethernet(&[], 0x86dd, &over_v6)]),
        pcap_big_nanos(1, &[ethernet(&[20], 0x0800, &over_v4)]),
        pcap(101, std::slice::from_ref(&over_v4)),
        pcap(12, std::slice::from_ref(&over_v6)),
        pcap(
            113,
            &[cat(&[
                &[0, 0, 0, 1, 0, 6],
                &[0; 8],
                &n(0x0800, 2),
                &over_v4,
            ])],
        ),
        pcap(276, &[cat(&[&n(0x86dd, 2), &[0; 18], &over_v6])]),
        pcap(0, &[cat(&[&2u32.to_le_bytes(), &over_v4])]),
    ];
    for (number, file) in ethernet_files.iter().enumerate() {
        let batch = adapter(file);
        assert_eq!(
            batch.events.len(),
            1,
            "file {number}: {:?}",
            reasons(&batch)
        );
        let exporter = batch.events[0].raw.as_ref().unwrap()["exporter"].clone();
        assert!(
            exporter == "10.0.0.1" || exporter == "2001:db8::1",
            "{exporter}"
        );
    }
    // IPv6 with a hop-by-hop header before UDP.
    let hop = cat(&[&[17, 0], &[0; 6], &udp(&v5)]);
    let batch = adapter(&pcap(101, &[ipv6("2001:db8::1", 0, &hop)]));
    assert_eq!(batch.events.len(), 1);
}

#[test]
fn pcap_skips_what_is_not_udp_and_rejects_fragments() {
    let v5 = sample_v5();
    let file = pcap(
        1,
        &[
            ethernet(&[], 0x0806, &[0; 28]),
            ethernet(&[], 0x0800, &ipv4([10, 0, 0, 1], 6, 0, &[0; 20])),
            ethernet(&[], 0x0800, &ipv4([10, 0, 0, 1], 17, 0x2000, &udp(&v5))),
            ethernet(
                &[],
                0x86dd,
                &ipv6("2001:db8::1", 44, &[17, 0, 0, 1, 0, 0, 0, 1]),
            ),
            ethernet(
                &[],
                0x0800,
                &ipv4([10, 0, 0, 1], 17, 0, &udp(b"\x01\x02junk")),
            ),
            ethernet(&[], 0x0800, &ipv4([10, 0, 0, 1], 17, 0, &udp(&v5))),
        ],
    );
    let batch = adapter(&file);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(
        batch.skip_reasons,
        BTreeMap::from([
            (
                "not IP (ARP, LLDP or another link-layer protocol)".to_string(),
                1
            ),
            ("not UDP".to_string(), 1),
        ])
    );
    let rejected: Vec<(usize, &str)> = batch
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (
                3,
                "fragmented: an IPv4 fragment (flow exports are read from whole datagrams)"
            ),
            (
                4,
                "fragmented: an IPv6 fragment (flow exports are read from whole datagrams)"
            ),
            (5, "not NetFlow or IPFIX: the version field is 258"),
        ]
    );
}

#[test]
fn broken_pcap_files_are_rejected_without_reading_on() {
    assert!(adapter(&[]).rejected.is_empty());
    assert!(reasons(&adapter(b"abc"))[0].contains("shorter than its 24-byte header"));
    assert!(
        reasons(&adapter(b"not a capture at all, just text\n"))[0].starts_with("not a pcap file")
    );
    let mut pcapng = vec![0x0a, 0x0d, 0x0d, 0x0a];
    pcapng.extend([0; 40]);
    assert!(reasons(&adapter(&pcapng))[0].starts_with("a pcapng file"));
    let unsupported = pcap(105, &[vec![0; 10]]);
    assert!(reasons(&adapter(&unsupported))[0].starts_with("pcap link type 105 is not read"));
    // An absurd record length stops the reading; the packet before it still counts.
    let v5 = ethernet(&[], 0x0800, &ipv4([10, 0, 0, 1], 17, 0, &udp(&sample_v5())));
    let mut file = pcap(1, &[v5.clone(), v5.clone()]);
    // The second record's captured length, 8 bytes into its header.
    let length = 24 + 16 + v5.len() + 8;
    file[length..length + 4].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let batch = adapter(&file);
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 2);
    assert!(
        batch.rejected[0]
            .reason
            .contains("over the limit of 262144")
    );
    // A file cut inside a packet.
    let whole = pcap(
        1,
        &[ethernet(
            &[],
            0x0800,
            &ipv4([10, 0, 0, 1], 17, 0, &udp(&sample_v5())),
        )],
    );
    for length in 25..whole.len() {
        let batch = adapter(&whole[..length]);
        assert!(batch.events.is_empty());
        assert_eq!(batch.rejected.len(), 1, "{length}");
    }
}

// ----------------------------------------------------------------------------- fixture

/// The exporter of the fixture's v9 and IPFIX datagrams sends at 09:05 UTC on the demo day.
const FIXTURE_EXPORT: u32 = 1_772_442_300;

/// `tests/fixtures/netflow.pcap`: flow exports of the example estate, with the cases a
/// collector meets (see the comments), in an Ethernet capture.
fn fixture() -> Vec<u8> {
    let header = |version: u16, count: u16, uptime: u32, sequence: u32, domain: u32| {
        cat(&[
            &n(version.into(), 2),
            &n(count.into(), 2),
            &n(uptime.into(), 4),
            &n(FIXTURE_EXPORT.into(), 4),
            &n(sequence.into(), 4),
            &n(domain.into(), 4),
        ])
    };
    let uptime = 86_400_000u32 * 3;
    let frame = |source: [u8; 4], vlans: &[u16], payload: &[u8]| {
        ethernet(vlans, 0x0800, &ipv4(source, 17, 0, &udp(payload)))
    };
    // 1. NetFlow v5 from the HQ router: alice's workstation to the web and to DNS, a ping.
    let v5_packet = {
        let record =
            |src: [u8; 4], dst: [u8; 4], dport: u16, protocol: u8, octets: u32, ago: u32| {
                cat(&[
                    &src,
                    &dst,
                    &[10, 10, 0, 1],
                    &n(7, 2),
                    &n(1, 2),
                    &n(u64::from(octets / 1200 + 1), 4),
                    &n(octets.into(), 4),
                    &n((uptime - ago - 45_000).into(), 4),
                    &n((uptime - ago).into(), 4),
                    &n(51_514, 2),
                    &n(dport.into(), 2),
                    &[0, 0x1b, protocol, 0],
                    &n(0, 2),
                    &n(0, 2),
                    &[24, 24],
                    &n(0, 2),
                ])
            };
        cat(&[
            &n(5, 2),
            &n(3, 2),
            &n(uptime.into(), 4),
            &n((FIXTURE_EXPORT - 300).into(), 4),
            &n(120_000_000, 4),
            &n(4400, 4),
            &[0, 0],
            &n(0, 2),
            &record([10, 10, 1, 21], [52, 1, 2, 3], 443, 6, 1_250_000, 4_000),
            &record([10, 10, 1, 21], [10, 10, 0, 53], 53, 17, 142, 9_000),
            &record([10, 10, 1, 21], [10, 10, 0, 1], 0x0800, 1, 84, 12_000),
        ])
    };
    // 2. NetFlow v9 from the branch switch (VLAN 20): data before its template (a dead
    // letter), then the template with an options template, and data.
    let v9_fields = [
        (8, 4),
        (12, 4),
        (7, 2),
        (11, 2),
        (4, 1),
        (6, 1),
        (1, 4),
        (2, 4),
        (22, 4),
        (21, 4),
        (56, 6),
        (10, 2),
        (14, 2),
    ];
    // `last`: the exporter's uptime when the flow ended.
    let v9_record = |host: u8, dst: [u8; 4], dport: u16, octets: u32, last: u32| {
        cat(&[
            &[10, 10, 1, host],
            &dst,
            &n(49_152 + u64::from(host), 2),
            &n(dport.into(), 2),
            &[6, 0x1a],
            &n(octets.into(), 4),
            &n(u64::from(octets / 1400 + 1), 4),
            &n((last - 120_000).into(), 4),
            &n(last.into(), 4),
            &[0x3c, 0x22, 0xfb, 0, 0, host - 30],
            &n(12, 2),
            &n(1, 2),
        ])
    };
    let early = cat(&[
        &header(9, 1, uptime, 880, 1),
        &set(260, &v9_record(31, [52, 7, 7, 7], 443, 9000, uptime - 3000)),
    ]);
    let options = cat(&[
        &n(261, 2),
        &n(4, 2),
        &n(8, 2),
        &n(1, 2),
        &n(4, 2),
        &n(34, 2),
        &n(4, 2),
        &n(35, 2),
        &n(1, 2),
        &[0, 0],
    ]);
    let v9_template = cat(&[
        &header(9, 4, uptime + 1000, 881, 1),
        &set(0, &template(260, &v9_fields)),
        &set(1, &options),
        &set(261, &cat(&[&n(1, 4), &n(100, 4), &[2], &[0, 0, 0]])),
        &set(
            260,
            &cat(&[
                &v9_record(31, [52, 7, 7, 7], 443, 2_400_000, uptime - 1000),
                &v9_record(32, [140, 82, 112, 4], 22, 48_000, uptime - 500),
            ]),
        ),
    ]);
    // 3. v9 again: a record whose end lies an hour after the export (an exporter with a
    // broken clock) and one whose template the exporter never sent.
    let v9_bad = cat(&[
        &header(9, 2, uptime + 2000, 882, 1),
        &set(
            260,
            &v9_record(33, [52, 7, 7, 8], 443, 500, uptime + 2000 + 3_600_000),
        ),
        &set(262, &[0; 12]),
    ]);
    // 4. IPFIX from the data centre firewall (IPv6 flows, an application name of variable
    // length, a reverse byte count, absolute times), from 10.30.0.1.
    let ipfix_fields = template_e(
        300,
        &[
            (27, 16, 0),
            (28, 16, 0),
            (7, 2, 0),
            (11, 2, 0),
            (4, 1, 0),
            (1, 8, 0),
            (2, 8, 0),
            (1, 8, REVERSE_PEN),
            (152, 8, 0),
            (153, 8, 0),
            (96, VARIABLE, 0),
            (56, 6, 0),
        ],
    );
    let ipfix_record = |src: &str,
                        dst: &str,
                        dport: u16,
                        octets: u64,
                        reverse: u64,
                        ago_ms: u64,
                        name: &[u8],
                        mac: u8| {
        let end = u64::from(FIXTURE_EXPORT) * 1000 - ago_ms;
        cat(&[
            &src.parse::<Ipv6Addr>().unwrap().octets(),
            &dst.parse::<Ipv6Addr>().unwrap().octets(),
            &n(58_000, 2),
            &n(dport.into(), 2),
            &[6],
            &n(octets, 8),
            &n(octets / 1400 + 1, 8),
            &n(reverse, 8),
            &n(end - 60_000, 8),
            &n(end, 8),
            &[name.len() as u8],
            name,
            &[0x3c, 0x22, 0xfb, 0, 0, mac],
        ])
    };
    let ipfix_packet = {
        let sets = [
            set(2, &ipfix_fields),
            set(
                300,
                &cat(&[
                    &ipfix_record(
                        "2001:db8:10::21",
                        "2001:db8:50::10",
                        445,
                        88_000_000,
                        1_200_000,
                        1500,
                        b"smb",
                        3,
                    ),
                    &ipfix_record(
                        "2001:db8:10::31",
                        "2606:4700::6810:1",
                        443,
                        5_400,
                        72_000,
                        800,
                        b"https",
                        1,
                    ),
                ]),
            ),
        ];
        let body = sets.concat();
        cat(&[
            &n(10, 2),
            &n(16 + body.len() as u64, 2),
            &n(FIXTURE_EXPORT.into(), 4),
            &n(7_000, 4),
            &n(5, 4),
            &body,
        ])
    };
    let frames = vec![
        frame([10, 10, 0, 1], &[], &v5_packet),
        ethernet(&[], 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1, 0, 0x1b, 0x21, 0, 0, 1, 10, 10, 0, 1, 0, 0, 0, 0, 0, 0, 10, 10, 0, 5]),
        frame([10, 20, 0, 1], &[20], &early),
        frame([10, 20, 0, 1], &[20], &v9_template),
        ethernet(&[], 0x0800, &ipv4([10, 10, 0, 9], 6, 0, &[0; 20])),
        frame([10, 20, 0, 1], &[20], &v9_bad),
        ethernet(&[], 0x0800, &ipv4([10, 30, 0, 1], 17, 0x2000, &udp(&ipfix_packet[..64]))),
        frame([10, 30, 0, 1], &[], &ipfix_packet),
        frame([10, 10, 0, 53], &[], b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"),
    ];
    let mut file = pcap(1, &frames);
    // Stamp every packet at its export time.
    let mut pos = 24;
    for frame in &frames {
        file[pos..pos + 4].copy_from_slice(&FIXTURE_EXPORT.to_le_bytes());
        pos += 16 + frame.len();
    }
    file
}

/// The fixture is made by [`fixture`]; rebuild it with `SEAM_UPDATE_GOLDEN=1`.
#[test]
fn the_pcap_fixture_is_what_its_builder_makes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/netflow.pcap");
    let built = fixture();
    if std::env::var_os("SEAM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    let stored =
        std::fs::read(&path).expect("tests/fixtures/netflow.pcap; run with SEAM_UPDATE_GOLDEN=1");
    assert!(
        stored == built,
        "tests/fixtures/netflow.pcap differs from its builder; rerun with SEAM_UPDATE_GOLDEN=1 if intended"
    );
}

// ------------------------------------------------------------------------- synthetic

#[test]
fn synthetic_datagrams_decode_into_one_event_per_flow_without_gaps() {
    let export = Ts(OBSERVED - 5000);
    for (version, per) in [(5u16, 30usize), (9, 25), (10, 25)] {
        let datagrams = synthetic_flow_datagrams(version, 4, per, export);
        let mut decoder = FlowDecoder::new();
        let mut events = 0;
        let mut numbers = Vec::new();
        for datagram in &datagrams {
            let batch = decode(&mut decoder, datagram);
            assert!(
                batch.rejected.is_empty(),
                "v{version}: {:?}",
                reasons(&batch)
            );
            events += batch.events.len();
            numbers.extend(batch.sequences.iter().map(|(_, number)| *number));
            let event = &batch.events[0];
            assert_eq!(event.time, Ts(OBSERVED - 6000), "v{version}");
            assert!(event.bytes_out.is_some() && event.dst.port == Some(443));
        }
        assert_eq!(events, 4 * per, "v{version}");
        assert!(
            numbers.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "v{version}: {numbers:?}"
        );
    }
}

#[test]
fn times_print_as_ts_does() {
    let mut millis = 0i64;
    while millis <= MAX_MILLIS {
        assert_eq!(time_value(millis), Value::String(Ts(millis).to_string()));
        millis += 86_399_999 * 37 + 12_345;
    }
    for millis in [
        0,
        951_782_400_000,
        1_772_452_800_123,
        4_107_542_399_999,
        MAX_MILLIS,
    ] {
        assert_eq!(time_value(millis), Value::String(Ts(millis).to_string()));
    }
}

// ------------------------------------------------------------------------ damaged input

/// Valid datagrams of every kind, to damage.
fn samples() -> Vec<Vec<u8>> {
    let options = cat(&[
        &n(300, 2),
        &n(2, 2),
        &n(1, 2),
        &n(149, 2),
        &n(4, 2),
        &n(160, 2),
        &n(8, 2),
    ]);
    vec![
        sample_v5(),
        v9(
            1,
            0,
            &[
                set(0, &template(256, V9_FIELDS)),
                set(256, &cat(&[&v9_record(31, 1, 0), &v9_record(32, 9, 5)])),
            ],
        ),
        v9(2, 0, &[set(256, &v9_record(33, 1, 0))]),
        ipfix(
            0,
            0,
            &[
                set(3, &options),
                set(
                    2,
                    &template_e(
                        256,
                        &[
                            (8, 4, 0),
                            (12, 4, 0),
                            (96, VARIABLE, 0),
                            (1, 4, REVERSE_PEN),
                            (21, 4, 0),
                        ],
                    ),
                ),
                set(300, &cat(&[&n(0, 4), &n(1_772_000_000_000, 8)])),
                set(
                    256,
                    &cat(&[
                        &[10, 10, 1, 31],
                        &[52, 1, 2, 3],
                        &[255],
                        &n(3, 2),
                        b"abc",
                        &n(7, 4),
                        &n(9, 4),
                    ]),
                ),
            ],
        ),
        ipfix(
            1,
            0,
            &[set(2, &template(256, &[])), set(2, &template(2, &[]))],
        ),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Sequences of damaged datagrams into one decoder with small limits: no panic, valid
    /// events, the limits held.
    #[test]
    fn damaged_datagram_sequences(
        picks in proptest::collection::vec((0usize..5, 0u8..3, proptest::collection::vec((0usize..512, proptest::prelude::any::<u8>()), 0..6), 0usize..600), 1..12),
    ) {
        let samples = samples();
        let mut decoder = FlowDecoder::with_limits(FlowLimits {
            templates_per_exporter: 2,
            exporters: 2,
            template_fields: 16,
        });
        for (which, exporter, edits, cut) in picks {
            let mut datagram = samples[which].clone();
            for (position, byte) in edits {
                let position = position % datagram.len();
                datagram[position] = byte;
            }
            datagram.truncate(cut.max(1));
            let from = IpAddr::V4(Ipv4Addr::new(10, 0, 0, exporter));
            let batch = decoder.decode(from, &datagram, &ctx());
            for event in &batch.events {
                proptest::prop_assert_eq!(event.validate(), Ok(()));
            }
            proptest::prop_assert!(decoder.exporters() <= 2);
            proptest::prop_assert!(decoder.templates() <= 4);
            proptest::prop_assert_eq!(decoder.template_order.len(), decoder.templates());
            let kept: usize = decoder.exporters.values().map(|state| state.templates.len()).sum();
            proptest::prop_assert_eq!(kept, decoder.templates());
            let fields: usize = decoder.exporters.values().flat_map(|state| state.templates.values()).map(|t| t.fields.len()).sum();
            proptest::prop_assert_eq!(fields, decoder.fields);
        }
    }
}

/// softflowd replaying a capture counts flow times from its own start, which comes after the
/// packets: a flow that ended 18 s before the exporter started has the uptime 2^32 - 18,000.
/// It used to be placed 49.7 days after the start, and rejected as far from the export.
#[test]
fn uptimes_before_the_exporters_start_wrap_back() {
    let export = i64::from(EXPORT) * 1000;
    let init = export + 661;
    assert_eq!(
        from_init(init, export, u32::MAX - 17_999),
        Some(init - 18_000)
    );
    // The ordinary cases: a flow after the start, and one after a wrap of the uptime.
    assert_eq!(from_init(init - 60_000, export, 55_000), Some(init - 5_000));
    let long_ago = init - (1 << 32) - 60_000;
    assert_eq!(from_init(long_ago, export, 55_000), Some(init - 5_000));
    // More than a day before the export, or past the few seconds after it: no time.
    assert_eq!(from_init(init - 200_000_000, export, 0), None);
    assert_eq!(from_init(export + 60_000, export, 0), None);
}
