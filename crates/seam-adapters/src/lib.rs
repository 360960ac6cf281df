//! Source adapters: each turns one vendor's bytes into normalized [`seam_model::Event`]s.
//!
//! An adapter is a pure function: bytes in, a [`Batch`] out. It does no I/O and never reads
//! the clock; the caller passes the receive time and the source's settings in a
//! [`ParseContext`]. One bad record never takes its good neighbours with it: it becomes a
//! [`Rejected`] entry with its position and the reason, and the rest of the input goes on.
//! Records that parse but carry nothing Seam uses (ISE system statistics, a GlobalProtect
//! latency measurement) are counted in [`Batch::skipped`].
//!
//! The registry is [`Adapter::NAMES`] and [`Adapter::from_name`]; see `docs/adapters.md` for what
//! each adapter reads and how it maps to the normalized fields.

use std::collections::BTreeMap;
use std::sync::Arc;

use seam_model::{Event, EventClass, Ts};

mod common;
mod csv;
mod dhcp;
mod entra;
mod envoy;
mod globalprotect;
mod ise;
mod json;
mod linux_auth;
mod meraki;
mod ndjson;
pub mod netflow;
mod nfdump;
mod ocsf;
mod okta;
pub mod pacs;
mod panos;
mod pcap;
mod servicenow;
mod syslog;
mod timefmt;
mod uhppote;
pub mod webhook;
mod windows;
mod xml;
mod zigbee2mqtt;

pub use netflow::{FlowDecoder, FlowLimits, FlowStats, synthetic_flow_datagrams};
pub use okta::{ChallengeError, verification_response as okta_verification_response};
pub use pacs::{MappingError, PacsMapping};
pub use webhook::{
    NonceSet, ReplayError, SignatureError, check_replay, parse_timestamp_header, remember_once,
    secrets_match, verify_envoy_signature, verify_hmac_sha256,
};

/// The largest single record (a line, a JSON object, a CSV row) an adapter accepts.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// The largest input one call to [`Adapter::parse`] accepts.
pub const MAX_BATCH_BYTES: usize = 16 << 20;
/// How far past the receive time an event's own time may lie by default (clock skew).
pub const DEFAULT_MAX_AHEAD_MS: i64 = 7 * DAY_MS;
/// How far before the receive time an event's own time may lie by default (late delivery).
pub const DEFAULT_MAX_BEHIND_MS: i64 = 30 * DAY_MS;
/// A rejected record keeps at most this much of its bytes when it was rejected for its size.
pub const MAX_REJECTED_RAW_BYTES: usize = 4096;

const DAY_MS: i64 = 86_400_000;

/// A time zone for [`ParseContext::timezone`] from configuration: an IANA name
/// (`Europe/Amsterdam`, from the bundled database), `UTC`, or a fixed offset (`+01:00`).
pub fn timezone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    timefmt::zone(name)
}

/// What the caller knows about the input: which source it came from, when, and how to read
/// the vendor's local times.
#[derive(Clone, Debug)]
pub struct ParseContext {
    /// The configured source name (`okta`, `pacs-hq`, …), written into every event.
    pub source: String,
    /// When Seam received the input; written into every event as `observed`.
    pub observed: Ts,
    /// Events more than this many milliseconds after `observed` are rejected.
    pub max_ahead_ms: i64,
    /// Events more than this many milliseconds before `observed` are rejected.
    pub max_behind_ms: i64,
    /// The time zone of vendor times written without an offset (BSD syslog headers, PAN-OS
    /// CSV times, Kea logs, PACS exports without their own setting). Default UTC.
    pub timezone: jiff::tz::TimeZone,
    /// The MQTT topic the payload arrived on (`zigbee2mqtt`, `uhppote`).
    pub topic: Option<String>,
}

impl ParseContext {
    /// A context with the default time bounds, UTC and no topic.
    pub fn new(source: impl Into<String>, observed: Ts) -> ParseContext {
        ParseContext {
            source: source.into(),
            observed,
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
            max_behind_ms: DEFAULT_MAX_BEHIND_MS,
            timezone: jiff::tz::TimeZone::UTC,
            topic: None,
        }
    }

    pub fn with_timezone(mut self, timezone: jiff::tz::TimeZone) -> ParseContext {
        self.timezone = timezone;
        self
    }

    pub fn with_topic(mut self, topic: impl Into<String>) -> ParseContext {
        self.topic = Some(topic.into());
        self
    }
}

/// What came out of one input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Normalized, validated events, in input order.
    pub events: Vec<Event>,
    /// Records that could not be turned into an event, each with its place and the reason.
    pub rejected: Vec<Rejected>,
    /// Records that parsed but describe nothing Seam uses.
    pub skipped: usize,
    /// For sources that number their records (a controller's event ids), each record's
    /// stream and number, events and skips alike: a gap in a stream is a record lost on the
    /// way (a broker that dropped messages while Seam was down).
    pub sequences: Vec<(String, u64)>,
    /// Why records were skipped, with how many each reason covers (adding up to `skipped`).
    pub skip_reasons: std::collections::BTreeMap<String, usize>,
}

/// One record that could not be read: a dead letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Where it was, 1-based: the line for line-based input (syslog, CSV, NDJSON), else the
    /// element of the JSON array (of the envelope's array, for records in an envelope).
    pub index: usize,
    /// The record's bytes (the first [`MAX_REJECTED_RAW_BYTES`] when it was too large).
    pub raw: Vec<u8>,
    /// Why, in plain words.
    pub reason: String,
}

/// Why a whole input was refused before any record was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("input of {size} bytes is larger than the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
}

/// Why an adapter name is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownAdapter {
    #[error("unknown adapter `{name}`; known: {known}")]
    Adapter { name: String, known: String },
    #[error("unknown PACS mapping `{name}`; built in: {known}")]
    Mapping { name: String, known: String },
}

/// Device friendly name → zone id, for occupancy sensors.
pub type ZoneMap = BTreeMap<String, String>;

/// Every source adapter, by the name of its ingest endpoint.
#[derive(Clone, Debug)]
pub enum Adapter {
    /// Okta System Log API and event hooks.
    Okta,
    /// Microsoft Entra ID sign-in logs (Azure Monitor export and Graph `signIns`).
    Entra,
    /// Cisco ISE syslog: network sessions, sign-ins to ISE, its portals and the devices it
    /// guards (TACACS+), configuration changes, posture and profiles, its operations and alarms.
    Ise,
    /// Cisco Meraki syslog: events (Wi-Fi, 802.1X, VPN, DHCP, device state), flows, URLs, IDS
    /// alerts, security events and Air Marshal.
    Meraki,
    /// PAN-OS GlobalProtect syslog (CSV).
    GlobalProtect,
    /// ISC dhcpd syslog and Kea lease logs.
    Dhcp,
    /// A PACS export read through a field mapping (`pacs-<mapping>`).
    Pacs(Arc<PacsMapping>),
    /// uhppoted-mqtt access controller events.
    Uhppote,
    /// Envoy visitor sign-in and sign-out webhooks.
    Envoy,
    /// Zigbee2MQTT occupancy sensors; the map names each device's zone.
    Zigbee2Mqtt(ZoneMap),
    /// OCSF events of the classes Seam has.
    Ocsf,
    /// Seam's own normalized NDJSON.
    Ndjson,
    /// Linux authentication syslog: sshd, PAM sessions, sudo.
    LinuxAuth,
    /// ServiceNow change requests (Table API records, pulled or pushed).
    ServiceNow,
    /// Windows Security event log: Winlogbeat JSON or the events' XML.
    Windows,
    /// PAN-OS syslog (CSV): TRAFFIC and THREAT, and GlobalProtect as `globalprotect` reads it.
    Panos,
    /// NetFlow v5, v9 and IPFIX export datagrams in a classic pcap file (the UDP listener
    /// decodes datagrams itself with a long-lived [`FlowDecoder`]).
    Netflow,
    /// nfdump's CSV export of flows (`nfdump -r FILE -o csv`).
    Nfdump,
}

impl Adapter {
    /// The names [`Adapter::from_name`] knows; `pacs-<mapping>` stands for every built-in
    /// mapping (see [`pacs::BUILTIN`]).
    pub const NAMES: &'static [&'static str] = &[
        "okta",
        "entra",
        "ise",
        "meraki",
        "globalprotect",
        "dhcp",
        "pacs-<mapping>",
        "uhppote",
        "envoy",
        "zigbee2mqtt",
        "ocsf",
        "ndjson",
        "linux-auth",
        "servicenow",
        "windows",
        "panos",
        "netflow",
        "nfdump",
    ];

    /// The adapter behind an endpoint name. `pacs-<name>` uses the built-in mapping of that
    /// name (load a user's mapping with [`PacsMapping::from_toml`] and [`Adapter::pacs`]);
    /// `zigbee2mqtt` starts with no zones (set them with [`Adapter::Zigbee2Mqtt`]).
    pub fn from_name(name: &str) -> Result<Adapter, UnknownAdapter> {
        let adapter = match name {
            "okta" => Adapter::Okta,
            "entra" => Adapter::Entra,
            "ise" => Adapter::Ise,
            "meraki" => Adapter::Meraki,
            "globalprotect" => Adapter::GlobalProtect,
            "dhcp" => Adapter::Dhcp,
            "uhppote" => Adapter::Uhppote,
            "envoy" => Adapter::Envoy,
            "zigbee2mqtt" => Adapter::Zigbee2Mqtt(ZoneMap::new()),
            "ocsf" => Adapter::Ocsf,
            "ndjson" => Adapter::Ndjson,
            "linux-auth" => Adapter::LinuxAuth,
            "servicenow" => Adapter::ServiceNow,
            "windows" => Adapter::Windows,
            "panos" => Adapter::Panos,
            "netflow" => Adapter::Netflow,
            "nfdump" => Adapter::Nfdump,
            _ => {
                if let Some(mapping) = name.strip_prefix("pacs-") {
                    return match PacsMapping::builtin(mapping) {
                        Some(mapping) => Ok(Adapter::pacs(mapping)),
                        None => Err(UnknownAdapter::Mapping {
                            name: mapping.to_string(),
                            known: pacs::BUILTIN
                                .iter()
                                .map(|(name, _)| *name)
                                .collect::<Vec<_>>()
                                .join(", "),
                        }),
                    };
                }
                return Err(UnknownAdapter::Adapter {
                    name: name.to_string(),
                    known: Adapter::NAMES.join(", "),
                });
            }
        };
        Ok(adapter)
    }

    /// A PACS adapter reading through `mapping`.
    pub fn pacs(mapping: PacsMapping) -> Adapter {
        Adapter::Pacs(Arc::new(mapping))
    }

    /// The endpoint name: `okta`, `pacs-onvif`, …
    pub fn name(&self) -> &str {
        match self {
            Adapter::Okta => "okta",
            Adapter::Entra => "entra",
            Adapter::Ise => "ise",
            Adapter::Meraki => "meraki",
            Adapter::GlobalProtect => "globalprotect",
            Adapter::Dhcp => "dhcp",
            Adapter::Pacs(mapping) => mapping.endpoint(),
            Adapter::Uhppote => "uhppote",
            Adapter::Envoy => "envoy",
            Adapter::Zigbee2Mqtt(_) => "zigbee2mqtt",
            Adapter::Ocsf => "ocsf",
            Adapter::Ndjson => "ndjson",
            Adapter::LinuxAuth => "linux-auth",
            Adapter::ServiceNow => "servicenow",
            Adapter::Windows => "windows",
            Adapter::Panos => "panos",
            Adapter::Netflow => "netflow",
            Adapter::Nfdump => "nfdump",
        }
    }

    /// The event classes this adapter can yield, or `None` when it may yield any (a PACS
    /// mapping names its own activities; Seam's NDJSON carries whatever it was given). The
    /// engine uses it to hold back, for a slow source, only the rules that read its classes.
    pub fn classes(&self) -> Option<&'static [EventClass]> {
        use EventClass as C;
        let classes: &'static [EventClass] = match self {
            Adapter::Okta => &[
                C::Authentication,
                C::AccountChange,
                C::EntityManagement,
                C::ApiActivity,
            ],
            Adapter::Entra => &[
                C::Authentication,
                C::AccountChange,
                C::EntityManagement,
                C::ApiActivity,
            ],
            Adapter::Ise => &[
                C::Authentication,
                C::NetworkSession,
                C::DeviceInventory,
                C::DeviceStatus,
                C::EntityManagement,
                C::ApiActivity,
            ],
            Adapter::Meraki => &[
                C::Authentication,
                C::NetworkSession,
                C::NetworkActivity,
                C::Dhcp,
                C::DeviceInventory,
                C::DeviceStatus,
                C::ResourceAccess,
            ],
            Adapter::GlobalProtect => &[C::Authentication, C::NetworkSession, C::DeviceInventory],
            Adapter::Panos => &[
                C::NetworkActivity,
                C::Authentication,
                C::NetworkSession,
                C::DeviceInventory,
            ],
            Adapter::Dhcp => &[C::Dhcp],
            Adapter::Uhppote => &[C::PhysicalAccess, C::DeviceStatus],
            Adapter::Envoy => &[C::Visitor],
            Adapter::Zigbee2Mqtt(_) => &[C::Occupancy, C::DeviceStatus],
            Adapter::Ocsf => &[
                C::Authentication,
                C::NetworkSession,
                C::NetworkActivity,
                C::Dhcp,
                C::DeviceInventory,
                C::ResourceAccess,
            ],
            Adapter::LinuxAuth => &[C::Authentication],
            Adapter::ServiceNow => &[C::ChangeRequest],
            Adapter::Windows => &[C::Authentication, C::AccountChange],
            Adapter::Netflow | Adapter::Nfdump => &[C::NetworkActivity],
            Adapter::Pacs(_) | Adapter::Ndjson => return None,
        };
        Some(classes)
    }

    /// Whether a file of this format starts with a header line that every record needs (a
    /// CSV export with named columns). Line-by-line readers keep it and put it in front.
    pub fn has_header_line(&self) -> bool {
        match self {
            Adapter::Pacs(mapping) => mapping.has_header_line(),
            Adapter::Nfdump => true,
            _ => false,
        }
    }

    /// Whether a file of this format can be read line by line, each line (behind the header
    /// line, if any) parsed on its own. False for `netflow`: a binary pcap capture, parsed
    /// whole.
    pub fn is_line_format(&self) -> bool {
        !matches!(self, Adapter::Netflow)
    }

    /// Reads one input (a request body, a batch of syslog lines, an MQTT payload). Pure and
    /// deterministic: the same bytes and context give the same batch.
    pub fn parse(&self, input: &[u8], ctx: &ParseContext) -> Result<Batch, BatchError> {
        if input.len() > MAX_BATCH_BYTES {
            return Err(BatchError::TooLarge {
                size: input.len(),
                max: MAX_BATCH_BYTES,
            });
        }
        Ok(match self {
            Adapter::Okta => okta::parse(input, ctx),
            Adapter::Entra => entra::parse(input, ctx),
            Adapter::Ise => ise::parse(input, ctx),
            Adapter::Meraki => meraki::parse(input, ctx),
            Adapter::GlobalProtect => globalprotect::parse(input, ctx),
            Adapter::Dhcp => dhcp::parse(input, ctx),
            Adapter::Pacs(mapping) => mapping.parse(input, ctx),
            Adapter::Uhppote => uhppote::parse(input, ctx),
            Adapter::Envoy => envoy::parse(input, ctx),
            Adapter::Zigbee2Mqtt(zones) => zigbee2mqtt::parse(input, ctx, zones),
            Adapter::Ocsf => ocsf::parse(input, ctx),
            Adapter::Ndjson => ndjson::parse(input, ctx),
            Adapter::LinuxAuth => linux_auth::parse(input, ctx),
            Adapter::ServiceNow => servicenow::parse(input, ctx),
            Adapter::Windows => windows::parse(input, ctx),
            Adapter::Panos => panos::parse(input, ctx),
            Adapter::Netflow => netflow::parse(input, ctx),
            Adapter::Nfdump => nfdump::parse(input, ctx),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_resolves_and_reports_its_name() {
        for name in Adapter::NAMES {
            let name = name.replace("<mapping>", "onvif");
            let adapter = Adapter::from_name(&name).unwrap();
            assert_eq!(adapter.name(), name);
        }
        for (mapping, _) in pacs::BUILTIN {
            let name = format!("pacs-{mapping}");
            assert_eq!(Adapter::from_name(&name).unwrap().name(), name);
        }
    }

    #[test]
    fn unknown_names_list_what_is_known() {
        let error = Adapter::from_name("syslog").unwrap_err().to_string();
        assert!(error.starts_with("unknown adapter `syslog`; known: okta, entra"));
        let error = Adapter::from_name("pacs-nope").unwrap_err().to_string();
        assert!(error.starts_with("unknown PACS mapping `nope`; built in: onvif"));
    }

    #[test]
    fn an_oversize_input_is_refused_whole() {
        let input = vec![b' '; MAX_BATCH_BYTES + 1];
        let ctx = ParseContext::new("okta", Ts(0));
        assert_eq!(
            Adapter::Okta.parse(&input, &ctx),
            Err(BatchError::TooLarge {
                size: MAX_BATCH_BYTES + 1,
                max: MAX_BATCH_BYTES
            })
        );
    }
}
