//! The information elements the decoder knows by name (IANA's IPFIX registry; ids 1–127 are
//! NetFlow v9's field types too), how each is encoded, and which of them make the event.

/// How an element's bytes are read for `raw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    /// An unsigned integer, big-endian, in any length from 1 to 8 (reduced-size encoding).
    Unsigned,
    Ipv4,
    Ipv6,
    Mac,
    /// UTF-8 text, trailing NULs dropped.
    Text,
    /// `dateTimeSeconds`: seconds since the Unix epoch.
    Seconds,
    /// `dateTimeMilliseconds`: milliseconds since the Unix epoch.
    Millis,
    /// `dateTimeMicroseconds` and `dateTimeNanoseconds`: an NTP timestamp (seconds since
    /// 1900, then a binary fraction).
    Ntp,
    /// Anything else: hex.
    Bytes,
}

/// What an element is for the event (beyond `raw`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    None,
    SrcV4,
    DstV4,
    SrcV6,
    DstV6,
    SrcPort,
    DstPort,
    Protocol,
    OctetsDelta,
    OctetsTotal,
    SrcMac,
    StartUptime,
    EndUptime,
    StartSeconds,
    EndSeconds,
    StartMillis,
    EndMillis,
    StartMicros,
    EndMicros,
    StartNanos,
    EndNanos,
    StartDeltaMicros,
    EndDeltaMicros,
    InitMillis,
}

/// The IANA enterprise number of RFC 5103's reverse elements (the same ids, the other way).
pub(crate) const REVERSE_PEN: u32 = 29305;

/// An element of enterprise 0 by id: its name and encoding.
pub(crate) fn iana(id: u16) -> Option<(&'static str, Type)> {
    use Type::{Bytes, Ipv4, Ipv6, Mac, Millis, Ntp, Seconds, Text, Unsigned};
    Some(match id {
        1 => ("octetDeltaCount", Unsigned),
        2 => ("packetDeltaCount", Unsigned),
        3 => ("deltaFlowCount", Unsigned),
        4 => ("protocolIdentifier", Unsigned),
        5 => ("ipClassOfService", Unsigned),
        6 => ("tcpControlBits", Unsigned),
        7 => ("sourceTransportPort", Unsigned),
        8 => ("sourceIPv4Address", Ipv4),
        9 => ("sourceIPv4PrefixLength", Unsigned),
        10 => ("ingressInterface", Unsigned),
        11 => ("destinationTransportPort", Unsigned),
        12 => ("destinationIPv4Address", Ipv4),
        13 => ("destinationIPv4PrefixLength", Unsigned),
        14 => ("egressInterface", Unsigned),
        15 => ("ipNextHopIPv4Address", Ipv4),
        16 => ("bgpSourceAsNumber", Unsigned),
        17 => ("bgpDestinationAsNumber", Unsigned),
        18 => ("bgpNextHopIPv4Address", Ipv4),
        19 => ("postMCastPacketDeltaCount", Unsigned),
        20 => ("postMCastOctetDeltaCount", Unsigned),
        21 => ("flowEndSysUpTime", Unsigned),
        22 => ("flowStartSysUpTime", Unsigned),
        23 => ("postOctetDeltaCount", Unsigned),
        24 => ("postPacketDeltaCount", Unsigned),
        25 => ("minimumIpTotalLength", Unsigned),
        26 => ("maximumIpTotalLength", Unsigned),
        27 => ("sourceIPv6Address", Ipv6),
        28 => ("destinationIPv6Address", Ipv6),
        29 => ("sourceIPv6PrefixLength", Unsigned),
        30 => ("destinationIPv6PrefixLength", Unsigned),
        31 => ("flowLabelIPv6", Unsigned),
        32 => ("icmpTypeCodeIPv4", Unsigned),
        33 => ("igmpType", Unsigned),
        34 => ("samplingInterval", Unsigned),
        35 => ("samplingAlgorithm", Unsigned),
        36 => ("flowActiveTimeout", Unsigned),
        37 => ("flowIdleTimeout", Unsigned),
        38 => ("engineType", Unsigned),
        39 => ("engineId", Unsigned),
        40 => ("exportedOctetTotalCount", Unsigned),
        41 => ("exportedMessageTotalCount", Unsigned),
        42 => ("exportedFlowRecordTotalCount", Unsigned),
        44 => ("sourceIPv4Prefix", Ipv4),
        45 => ("destinationIPv4Prefix", Ipv4),
        46 => ("mplsTopLabelType", Unsigned),
        47 => ("mplsTopLabelIPv4Address", Ipv4),
        52 => ("minimumTTL", Unsigned),
        53 => ("maximumTTL", Unsigned),
        54 => ("fragmentIdentification", Unsigned),
        55 => ("postIpClassOfService", Unsigned),
        56 => ("sourceMacAddress", Mac),
        57 => ("postDestinationMacAddress", Mac),
        58 => ("vlanId", Unsigned),
        59 => ("postVlanId", Unsigned),
        60 => ("ipVersion", Unsigned),
        61 => ("flowDirection", Unsigned),
        62 => ("ipNextHopIPv6Address", Ipv6),
        63 => ("bgpNextHopIPv6Address", Ipv6),
        64 => ("ipv6ExtensionHeaders", Unsigned),
        70 => ("mplsTopLabelStackSection", Bytes),
        80 => ("destinationMacAddress", Mac),
        81 => ("postSourceMacAddress", Mac),
        82 => ("interfaceName", Text),
        83 => ("interfaceDescription", Text),
        85 => ("octetTotalCount", Unsigned),
        86 => ("packetTotalCount", Unsigned),
        88 => ("fragmentOffset", Unsigned),
        89 => ("forwardingStatus", Unsigned),
        94 => ("applicationDescription", Text),
        95 => ("applicationId", Bytes),
        96 => ("applicationName", Text),
        128 => ("bgpNextAdjacentAsNumber", Unsigned),
        129 => ("bgpPrevAdjacentAsNumber", Unsigned),
        132 => ("droppedOctetDeltaCount", Unsigned),
        133 => ("droppedPacketDeltaCount", Unsigned),
        136 => ("flowEndReason", Unsigned),
        138 => ("observationPointId", Unsigned),
        139 => ("icmpTypeCodeIPv6", Unsigned),
        144 => ("exportingProcessId", Unsigned),
        147 => ("wlanSSID", Text),
        148 => ("flowId", Unsigned),
        149 => ("observationDomainId", Unsigned),
        150 => ("flowStartSeconds", Seconds),
        151 => ("flowEndSeconds", Seconds),
        152 => ("flowStartMilliseconds", Millis),
        153 => ("flowEndMilliseconds", Millis),
        154 => ("flowStartMicroseconds", Ntp),
        155 => ("flowEndMicroseconds", Ntp),
        156 => ("flowStartNanoseconds", Ntp),
        157 => ("flowEndNanoseconds", Ntp),
        158 => ("flowStartDeltaMicroseconds", Unsigned),
        159 => ("flowEndDeltaMicroseconds", Unsigned),
        160 => ("systemInitTimeMilliseconds", Millis),
        161 => ("flowDurationMilliseconds", Unsigned),
        162 => ("flowDurationMicroseconds", Unsigned),
        176 => ("icmpTypeIPv4", Unsigned),
        177 => ("icmpCodeIPv4", Unsigned),
        178 => ("icmpTypeIPv6", Unsigned),
        179 => ("icmpCodeIPv6", Unsigned),
        180 => ("udpSourcePort", Unsigned),
        181 => ("udpDestinationPort", Unsigned),
        182 => ("tcpSourcePort", Unsigned),
        183 => ("tcpDestinationPort", Unsigned),
        192 => ("ipTTL", Unsigned),
        195 => ("ipDiffServCodePoint", Unsigned),
        225 => ("postNATSourceIPv4Address", Ipv4),
        226 => ("postNATDestinationIPv4Address", Ipv4),
        227 => ("postNAPTSourceTransportPort", Unsigned),
        228 => ("postNAPTDestinationTransportPort", Unsigned),
        231 => ("initiatorOctets", Unsigned),
        232 => ("responderOctets", Unsigned),
        233 => ("firewallEvent", Unsigned),
        234 => ("ingressVRFID", Unsigned),
        235 => ("egressVRFID", Unsigned),
        236 => ("VRFname", Text),
        239 => ("biflowDirection", Unsigned),
        243 => ("dot1qVlanId", Unsigned),
        244 => ("dot1qPriority", Unsigned),
        245 => ("dot1qCustomerVlanId", Unsigned),
        252 => ("ingressPhysicalInterface", Unsigned),
        253 => ("egressPhysicalInterface", Unsigned),
        256 => ("ethernetType", Unsigned),
        _ => return None,
    })
}

/// What an element of enterprise 0 contributes to the event.
pub(crate) fn role(id: u16) -> Role {
    match id {
        8 => Role::SrcV4,
        12 => Role::DstV4,
        27 => Role::SrcV6,
        28 => Role::DstV6,
        7 => Role::SrcPort,
        11 => Role::DstPort,
        4 => Role::Protocol,
        1 => Role::OctetsDelta,
        85 => Role::OctetsTotal,
        56 => Role::SrcMac,
        22 => Role::StartUptime,
        21 => Role::EndUptime,
        150 => Role::StartSeconds,
        151 => Role::EndSeconds,
        152 => Role::StartMillis,
        153 => Role::EndMillis,
        154 => Role::StartMicros,
        155 => Role::EndMicros,
        156 => Role::StartNanos,
        157 => Role::EndNanos,
        158 => Role::StartDeltaMicros,
        159 => Role::EndDeltaMicros,
        160 => Role::InitMillis,
        _ => Role::None,
    }
}

/// The protocol's name for `app`: the common ones by name, the rest by number.
pub(crate) fn protocol_name(protocol: u8) -> String {
    match protocol {
        1 => "icmp".to_string(),
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        58 => "icmpv6".to_string(),
        other => other.to_string(),
    }
}

/// Whether flows of this protocol have ports (ICMP's "port" is its type and code).
pub(crate) fn has_ports(protocol: Option<u8>) -> bool {
    // TCP, UDP, DCCP, SCTP, UDP-Lite; a flow without a protocol keeps what it carries.
    matches!(protocol, None | Some(6 | 17 | 33 | 132 | 136))
}
