//! Classic libpcap capture files (not pcapng), down to the UDP payloads: both byte orders,
//! microsecond and nanosecond stamps; Ethernet (with 802.1Q/802.1ad tags), raw IP, BSD
//! loopback and Linux cooked captures (SLL, SLL2); IPv4 and IPv6. Fragments are not
//! reassembled.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest packet record read: more is not a capture of flow exports but a broken file.
pub(crate) const MAX_PACKET_BYTES: usize = 256 * 1024;

/// What one packet of the file holds.
#[derive(Debug)]
pub(crate) enum Packet<'a> {
    /// A UDP datagram's payload and the address it came from.
    Udp { source: IpAddr, payload: &'a [u8] },
    /// Not UDP over IP: skipped for the reason given.
    Skip(&'static str),
    /// A packet that cannot be read (or, when reading stops, the rest of the file).
    Reject { raw: &'a [u8], reason: String },
}

const ETHERNET: u32 = 1;
const NULL: u32 = 0;
const RAW: [u32; 3] = [101, 12, 14];
const LOOP: u32 = 108;
const SLL: u32 = 113;
const SLL2: u32 = 276;

/// Hands every packet of a pcap file to `each` with its 1-based number. A broken file header
/// is one rejection numbered 1; a packet record that cannot be real (over 256 KiB, or longer
/// than the file) is rejected and reading stops there.
pub(crate) fn packets<'a>(input: &'a [u8], mut each: impl FnMut(usize, Packet<'a>)) {
    if input.is_empty() {
        return;
    }
    let reject = |reason: String| Packet::Reject { raw: input, reason };
    let Some(magic) = input.get(..4) else {
        return each(1, reject(too_short(input.len())));
    };
    let little = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            return each(
                1,
                reject(
                    "a pcapng file: convert it to classic pcap first (`editcap -F pcap in.pcapng out.pcap`)"
                        .to_string(),
                ),
            );
        }
        _ => {
            return each(
                1,
                reject(format!(
                    "not a pcap file: it starts with {:02x}{:02x}{:02x}{:02x}",
                    magic.first().copied().unwrap_or(0),
                    magic.get(1).copied().unwrap_or(0),
                    magic.get(2).copied().unwrap_or(0),
                    magic.get(3).copied().unwrap_or(0)
                )),
            );
        }
    };
    let read16 = |at: usize| {
        let bytes: [u8; 2] = input.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    };
    let read32 = |bytes: &[u8], at: usize| {
        let bytes: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    let (Some(major), Some(link)) = (read16(4), read32(input, 20)) else {
        return each(1, reject(too_short(input.len())));
    };
    if major != 2 {
        return each(
            1,
            reject(format!("pcap version {major} is not read (version 2 is)")),
        );
    }
    // The link type is the low 16 bits; the high ones may carry FCS information.
    let link = link & 0xffff;
    if !(link == ETHERNET
        || link == NULL
        || link == LOOP
        || RAW.contains(&link)
        || link == SLL
        || link == SLL2)
    {
        return each(
            1,
            reject(format!(
                "pcap link type {link} is not read (Ethernet, raw IP, loopback and Linux cooked captures are)"
            )),
        );
    }
    let mut pos = 24usize;
    let mut number = 0usize;
    while let Some(rest) = input.get(pos..).filter(|rest| !rest.is_empty()) {
        number += 1;
        let (Some(captured), Some(original)) = (read32(rest, 8), read32(rest, 12)) else {
            return each(
                number,
                Packet::Reject {
                    raw: rest,
                    reason: format!(
                        "the file ends inside a packet header ({} bytes of 16)",
                        rest.len()
                    ),
                },
            );
        };
        let captured = usize::try_from(captured).unwrap_or(usize::MAX);
        if captured > MAX_PACKET_BYTES {
            return each(
                number,
                Packet::Reject {
                    raw: rest.get(..16).unwrap_or(rest),
                    reason: format!(
                        "a packet record of {captured} bytes, over the limit of {MAX_PACKET_BYTES}: not a sane capture; reading stops"
                    ),
                },
            );
        }
        let Some(frame) = rest.get(16..16 + captured) else {
            return each(
                number,
                Packet::Reject {
                    raw: rest,
                    reason: format!(
                        "the file ends inside a packet of {captured} bytes ({} left)",
                        rest.len().saturating_sub(16)
                    ),
                },
            );
        };
        let truncated = usize::try_from(original).is_ok_and(|original| original > captured);
        let packet = match frame_packet(link, frame, little) {
            Packet::Reject { raw, reason } if truncated => Packet::Reject {
                raw,
                reason: format!("{reason} (the capture kept {captured} of {original} bytes)"),
            },
            packet => packet,
        };
        each(number, packet);
        pos = pos.saturating_add(16 + captured);
    }
}

fn too_short(size: usize) -> String {
    format!("not a pcap file: {size} bytes is shorter than its 24-byte header")
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(pair))
}

/// The network layer of one captured frame.
fn frame_packet(link: u32, frame: &[u8], little: bool) -> Packet<'_> {
    let cut = || Packet::Reject {
        raw: frame,
        reason: format!(
            "a frame of {} bytes is too short for its link header",
            frame.len()
        ),
    };
    let (ethertype, network) = match link {
        ETHERNET => {
            let Some(mut ethertype) = be16(frame, 12) else {
                return cut();
            };
            let mut at = 14usize;
            // 802.1Q, 802.1ad and the older QinQ tag: four bytes each, then the next type.
            for _ in 0..4 {
                if !matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                    break;
                }
                let Some(inner) = be16(frame, at + 2) else {
                    return cut();
                };
                ethertype = inner;
                at += 4;
            }
            (ethertype, frame.get(at..).unwrap_or_default())
        }
        SLL => {
            let Some(ethertype) = be16(frame, 14) else {
                return cut();
            };
            (ethertype, frame.get(16..).unwrap_or_default())
        }
        SLL2 => {
            let Some(ethertype) = be16(frame, 0) else {
                return cut();
            };
            if frame.len() < 20 {
                return cut();
            }
            (ethertype, frame.get(20..).unwrap_or_default())
        }
        NULL | LOOP => {
            let Some(family) = frame.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
                return cut();
            };
            // The address family, in the byte order of the machine that captured (NULL) or
            // big-endian (LOOP): 2 is IPv4 everywhere, 24, 28 and 30 are BSDs' IPv6.
            let family = if link == NULL && little {
                u32::from_le_bytes(family)
            } else {
                u32::from_be_bytes(family)
            };
            let ethertype = match family {
                2 => 0x0800,
                24 | 28 | 30 => 0x86dd,
                _ => return Packet::Skip("not IP (loopback family other than IPv4 or IPv6)"),
            };
            (ethertype, frame.get(4..).unwrap_or_default())
        }
        _ => {
            let ethertype = match frame.first().map(|byte| byte >> 4) {
                Some(4) => 0x0800,
                Some(6) => 0x86dd,
                _ => return Packet::Skip("not IP (raw frame of another version)"),
            };
            (ethertype, frame)
        }
    };
    match ethertype {
        0x0800 => ipv4(network),
        0x86dd => ipv6(network),
        _ => Packet::Skip("not IP (ARP, LLDP or another link-layer protocol)"),
    }
}

fn ipv4(packet: &[u8]) -> Packet<'_> {
    let bad = |reason: String| Packet::Reject {
        raw: packet,
        reason,
    };
    let (Some(&first), Some(total), Some(fragment), Some(&protocol), Some(source)) = (
        packet.first(),
        be16(packet, 2),
        be16(packet, 6),
        packet.get(9),
        packet.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()),
    ) else {
        return bad(format!(
            "an IPv4 packet of {} bytes is shorter than its header",
            packet.len()
        ));
    };
    if first >> 4 != 4 {
        return bad(format!("an IPv4 frame holds IP version {}", first >> 4));
    }
    let header = usize::from(first & 0x0f) * 4;
    let total = usize::from(total);
    if header < 20 || total < header {
        return bad(format!(
            "an IPv4 header of {header} bytes in a packet of {total}"
        ));
    }
    let Some(body) = packet.get(header..total) else {
        return bad(format!(
            "an IPv4 packet of {total} bytes with {} captured: truncated",
            packet.len()
        ));
    };
    if fragment & 0x3fff != 0 {
        return bad(
            "fragmented: an IPv4 fragment (flow exports are read from whole datagrams)".to_string(),
        );
    }
    if protocol != 17 {
        return Packet::Skip("not UDP");
    }
    udp(IpAddr::V4(Ipv4Addr::from(source)), body, packet)
}

fn ipv6(packet: &[u8]) -> Packet<'_> {
    let bad = |reason: String| Packet::Reject {
        raw: packet,
        reason,
    };
    let (Some(&first), Some(length), Some(&next), Some(source)) = (
        packet.first(),
        be16(packet, 4),
        packet.get(6),
        packet.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()),
    ) else {
        return bad(format!(
            "an IPv6 packet of {} bytes is shorter than its 40-byte header",
            packet.len()
        ));
    };
    if first >> 4 != 6 {
        return bad(format!("an IPv6 frame holds IP version {}", first >> 4));
    }
    let Some(mut body) = packet.get(40..40 + usize::from(length)) else {
        return bad(format!(
            "an IPv6 payload of {length} bytes with {} captured: truncated",
            packet.len().saturating_sub(40)
        ));
    };
    let mut next = next;
    // Extension headers before the transport: hop-by-hop, routing, destination options, AH.
    for _ in 0..8 {
        let skip = match next {
            0 | 43 | 60 => body.get(1).map(|len| (usize::from(*len) + 1) * 8),
            51 => body.get(1).map(|len| (usize::from(*len) + 2) * 4),
            44 => {
                return bad(
                    "fragmented: an IPv6 fragment (flow exports are read from whole datagrams)"
                        .to_string(),
                );
            }
            _ => break,
        };
        let (Some(skip), Some(&following)) = (skip, body.first()) else {
            return bad("an IPv6 extension header is cut short".to_string());
        };
        let Some(rest) = body.get(skip..) else {
            return bad("an IPv6 extension header is cut short".to_string());
        };
        next = following;
        body = rest;
    }
    if next != 17 {
        return Packet::Skip("not UDP");
    }
    udp(IpAddr::V6(Ipv6Addr::from(source)), body, packet)
}

fn udp<'a>(source: IpAddr, segment: &'a [u8], packet: &'a [u8]) -> Packet<'a> {
    let Some(length) = be16(segment, 4) else {
        return Packet::Reject {
            raw: packet,
            reason: "a UDP header is cut short".to_string(),
        };
    };
    let length = usize::from(length);
    match segment.get(8..length) {
        Some(payload) if length >= 8 => Packet::Udp { source, payload },
        _ => Packet::Reject {
            raw: packet,
            reason: format!(
                "a UDP length of {length} does not fit the {} bytes after the IP header",
                segment.len()
            ),
        },
    }
}
