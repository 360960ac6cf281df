//! Synthetic flow export, for benchmarks of [`super::FlowDecoder`] (`seam bench`).

use seam_model::Ts;

/// The exporter's sysUpTime at every export (about 11.6 days).
const UPTIME_MS: u32 = 1_000_000_000;
/// The largest set body the generator fills.
const MAX_SET_BYTES: usize = 60_000;

/// `datagrams` export datagrams from one exporter, each with `flows_per_datagram` distinct
/// TCP flows (v5: at most 30; v9 and IPFIX: as many as fit in a datagram), in NetFlow
/// `version` 5, 9 or 10 (IPFIX; any other number is taken as 10). v9 and IPFIX datagrams
/// carry their template in the first one. Every flow ends a second before `export`, the
/// export time of every datagram, and has a source MAC; sequence numbers have no gaps.
///
/// Feed them in order to one [`super::FlowDecoder`] with a context whose receive time is
/// near `export`; each datagram gives `flows_per_datagram` events.
pub fn synthetic_flow_datagrams(
    version: u16,
    datagrams: usize,
    flows_per_datagram: usize,
    export: Ts,
) -> Vec<Vec<u8>> {
    let secs = u32::try_from(export.millis().div_euclid(1000)).unwrap_or(0);
    let mut out = Vec::with_capacity(datagrams);
    let mut flow = 0u32;
    for number in 0..datagrams {
        let number = u32::try_from(number).unwrap_or(u32::MAX);
        let datagram = match version {
            5 => {
                let count = flows_per_datagram.min(30);
                let mut bytes = Vec::with_capacity(24 + 48 * count);
                put16(&mut bytes, 5);
                put16(&mut bytes, u16::try_from(count).unwrap_or(30));
                put32(&mut bytes, UPTIME_MS);
                put32(&mut bytes, secs);
                put32(&mut bytes, 0);
                put32(&mut bytes, flow);
                put32(&mut bytes, 0);
                for _ in 0..count {
                    v5_record(&mut bytes, flow);
                    flow = flow.wrapping_add(1);
                }
                bytes
            }
            9 => {
                let count = flows_per_datagram.min(MAX_SET_BYTES / V9_RECORD);
                let mut bytes = Vec::with_capacity(64 + V9_RECORD * count);
                put16(&mut bytes, 9);
                put16(&mut bytes, u16::try_from(count).unwrap_or(u16::MAX));
                put32(&mut bytes, UPTIME_MS);
                put32(&mut bytes, secs);
                put32(&mut bytes, number);
                put32(&mut bytes, 0);
                if number == 0 {
                    template_set(&mut bytes, 0, V9_FIELDS);
                }
                data_set(&mut bytes, count, V9_RECORD, |bytes| {
                    record(bytes, flow, false);
                    flow = flow.wrapping_add(1);
                });
                bytes
            }
            _ => {
                let count = flows_per_datagram.min(MAX_SET_BYTES / IPFIX_RECORD);
                let mut bytes = Vec::with_capacity(64 + IPFIX_RECORD * count);
                put16(&mut bytes, 10);
                put16(&mut bytes, 0);
                put32(&mut bytes, secs);
                put32(&mut bytes, flow);
                put32(&mut bytes, 0);
                if number == 0 {
                    template_set(&mut bytes, 2, IPFIX_FIELDS);
                }
                let end_ms = u64::try_from(export.millis().saturating_sub(1000)).unwrap_or(0);
                data_set(&mut bytes, count, IPFIX_RECORD, |bytes| {
                    record(bytes, flow, true);
                    bytes.extend_from_slice(&end_ms.saturating_sub(30_000).to_be_bytes());
                    bytes.extend_from_slice(&end_ms.to_be_bytes());
                    flow = flow.wrapping_add(1);
                });
                let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
                if let Some(slot) = bytes.get_mut(2..4) {
                    slot.copy_from_slice(&length.to_be_bytes());
                }
                bytes
            }
        };
        out.push(datagram);
    }
    out
}

/// Template fields (element, length): addresses, ports, protocol, flags, counts,
/// interfaces, source MAC, then the times (v9: sysUpTime, IPFIX: milliseconds).
const V9_FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (1, 8),
    (2, 8),
    (10, 4),
    (14, 4),
    (56, 6),
    (22, 4),
    (21, 4),
];
const IPFIX_FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (1, 8),
    (2, 8),
    (10, 4),
    (14, 4),
    (56, 6),
    (152, 8),
    (153, 8),
];
const COMMON_RECORD: usize = 44;
const V9_RECORD: usize = COMMON_RECORD + 8;
const IPFIX_RECORD: usize = COMMON_RECORD + 16;
const TEMPLATE_ID: u16 = 256;

fn put16(bytes: &mut Vec<u8>, value: u16) {
    bytes.extend_from_slice(&value.to_be_bytes());
}

fn put32(bytes: &mut Vec<u8>, value: u32) {
    bytes.extend_from_slice(&value.to_be_bytes());
}

fn template_set(bytes: &mut Vec<u8>, set_id: u16, fields: &[(u16, u16)]) {
    let count = u16::try_from(fields.len()).unwrap_or(0);
    put16(bytes, set_id);
    put16(bytes, 8 + 4 * count);
    put16(bytes, TEMPLATE_ID);
    put16(bytes, count);
    for (element, length) in fields {
        put16(bytes, *element);
        put16(bytes, *length);
    }
}

fn data_set(bytes: &mut Vec<u8>, count: usize, size: usize, mut record: impl FnMut(&mut Vec<u8>)) {
    let length = u16::try_from(4 + count * size).unwrap_or(u16::MAX);
    put16(bytes, TEMPLATE_ID);
    put16(bytes, length);
    for _ in 0..count {
        record(bytes);
    }
}

/// The fields before the times for flow `n`, then (v9) its uptime times.
fn record(bytes: &mut Vec<u8>, n: u32, ipfix: bool) {
    put32(bytes, source(n));
    put32(bytes, destination(n));
    put16(bytes, port(n));
    put16(bytes, 443);
    bytes.push(6);
    bytes.push(0x1b);
    bytes.extend_from_slice(&u64::from(octets(n)).to_be_bytes());
    bytes.extend_from_slice(&u64::from(n % 90 + 10).to_be_bytes());
    put32(bytes, 3);
    put32(bytes, 1);
    bytes.extend_from_slice(&[0x3c, 0x22, 0xfb, 0, 0, 0]);
    if let Some(last) = bytes.last_mut() {
        *last = u8::try_from((n % HOSTS) % 251).unwrap_or(0);
    }
    if !ipfix {
        put32(bytes, UPTIME_MS - 31_000);
        put32(bytes, UPTIME_MS - 1000);
    }
}

fn v5_record(bytes: &mut Vec<u8>, n: u32) {
    put32(bytes, source(n));
    put32(bytes, destination(n));
    put32(bytes, 0x0a00_0001);
    put16(bytes, 3);
    put16(bytes, 1);
    put32(bytes, n % 90 + 10);
    put32(bytes, octets(n));
    put32(bytes, UPTIME_MS - 31_000);
    put32(bytes, UPTIME_MS - 1000);
    put16(bytes, port(n));
    put16(bytes, 443);
    bytes.extend_from_slice(&[0, 0x1b, 6, 0]);
    put16(bytes, 0);
    put16(bytes, 0);
    bytes.extend_from_slice(&[24, 0, 0, 0]);
}

/// Hosts on the exporter's networks: a real exporter sees thousands of hosts, each with many
/// flows, not a new address per flow.
const HOSTS: u32 = 4096;

fn source(n: u32) -> u32 {
    0x0a00_0000 | (n % HOSTS + 1)
}

fn destination(n: u32) -> u32 {
    0x3400_0001 + n % 251
}

fn port(n: u32) -> u16 {
    u16::try_from(1024 + n % 60_000).unwrap_or(1024)
}

fn octets(n: u32) -> u32 {
    1000 + n % 100_000
}
