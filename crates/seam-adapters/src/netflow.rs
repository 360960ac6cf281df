//! Flow export: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011), one UDP datagram at a
//! time, into `network_activity` `traffic` events.
//!
//! v9 and IPFIX data records can only be read with the template their exporter sent earlier,
//! so a [`FlowDecoder`] keeps templates per exporter address, observation domain (v9: source
//! id) and template id, within limits ([`FlowLimits`]): past them the oldest template, or the
//! exporter heard from least recently, is forgotten and counted ([`FlowStats`]). A data set
//! whose template is not known (not sent yet, forgotten, or lost on the way) is not dropped
//! silently: it is one dead letter, its bytes and "no template 256 yet from 10.0.0.1 domain 0".
//!
//! Loss: every datagram puts the numbers its header carries into [`Batch::sequences`], one
//! number per unit the exporter counts, on the stream `<exporter>/<domain>/v<version>`: v5
//! one per flow (`flow_sequence` numbers the first flow of the datagram), v9 one per datagram
//! (`sequence` counts export packets), IPFIX one per data record decoded (`sequence number`
//! counts data records before this message). A gap between the numbers of one stream is what
//! was lost on the way; `seam serve` counts gaps per source (`seam_sequence_gaps_total`),
//! taking a number at or below the last one as a repeat or an exporter restart. IPFIX
//! records in a set without a known template cannot be counted, so they show as a gap too
//! (they are dead letters as well).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use seam_model::{Activity, EventClass, Ts};

use crate::common::{self, Collector, Read, RecordResult};
use crate::pcap::{self, Packet};
use crate::{Batch, MAX_REJECTED_RAW_BYTES, ParseContext, Rejected};

pub(crate) mod elements;
mod synth;
#[cfg(test)]
mod tests;

pub use synth::synthetic_flow_datagrams;

use elements::{REVERSE_PEN, Role, Type};

const NAME: &str = "netflow";

/// Templates kept per exporter by default.
pub const DEFAULT_TEMPLATES_PER_EXPORTER: usize = 512;
/// Exporters kept by default.
pub const DEFAULT_EXPORTERS: usize = 4096;
/// Template fields kept in all by default (a field takes about 32 bytes).
pub const DEFAULT_TEMPLATE_FIELDS: usize = 1 << 20;
/// The most fields one template may have.
pub const MAX_TEMPLATE_FIELDS: usize = 512;

/// A v9 or IPFIX field of this length is variable-length (IPFIX: a length byte, 255 then two).
const VARIABLE: u16 = 65_535;
/// A flow may end this long after its export time (clocks, rounding) and no more.
const AHEAD_MS: u32 = 10_000;
/// A sysUpTime-relative flow end may lie this long before the export time and no more: a day
/// is far beyond any exporter's active timeout.
const BEHIND_MS: u32 = 86_400_000;
/// The latest time `Ts` prints as a date (9999-12-30T22:00:00Z, the end of jiff's range).
const MAX_MILLIS: i64 = 253_402_207_200_000;
/// Seconds from the NTP epoch (1900) to the Unix epoch.
const NTP_TO_UNIX: i64 = 2_208_988_800;
/// `systemInitTimeMilliseconds` remembered per exporter, for this many domains at most.
const MAX_INIT_TIMES: usize = 64;

/// How much template state a [`FlowDecoder`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLimits {
    /// Templates per exporter; past it the exporter's oldest template is forgotten.
    pub templates_per_exporter: usize,
    /// Exporters; past it the one heard from least recently is forgotten, templates and all.
    pub exporters: usize,
    /// Template fields in all (the memory bound); past it the oldest template is forgotten.
    pub template_fields: usize,
}

impl Default for FlowLimits {
    fn default() -> FlowLimits {
        FlowLimits {
            templates_per_exporter: DEFAULT_TEMPLATES_PER_EXPORTER,
            exporters: DEFAULT_EXPORTERS,
            template_fields: DEFAULT_TEMPLATE_FIELDS,
        }
    }
}

/// What a [`FlowDecoder`] did with templates since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Templates learned: new ones, and refreshes that changed the layout.
    pub templates_learned: u64,
    /// Templates an IPFIX exporter withdrew.
    pub templates_withdrawn: u64,
    /// Template records refused (too many fields, an impossible record length, a reserved id).
    pub templates_rejected: u64,
    /// Templates forgotten for a limit (per exporter, or all fields).
    pub templates_evicted: u64,
    /// Exporters forgotten for the exporter limit.
    pub exporters_evicted: u64,
    /// Options templates read (v9 flowset 1, IPFIX set 3); their records are skipped.
    pub options_templates: u64,
    /// Data sets that came before their template (dead letters).
    pub sets_without_template: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TemplateKey {
    version: u16,
    domain: u32,
    id: u16,
}

/// One field specifier of a template, with what the decoder knows about its element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    id: u16,
    enterprise: u32,
    length: u16,
    name: Option<&'static str>,
    ty: Type,
    role: Role,
}

impl Field {
    fn new(id: u16, enterprise: u32, length: u16) -> Field {
        let known = match enterprise {
            0 | REVERSE_PEN => elements::iana(id),
            _ => None,
        };
        Field {
            id,
            enterprise,
            length,
            name: known.map(|(name, _)| name),
            ty: known.map_or(Type::Bytes, |(_, ty)| ty),
            role: if enterprise == 0 {
                elements::role(id)
            } else {
                Role::None
            },
        }
    }

    /// The field's key in `raw`: the IANA name, `reverse<Name>` for RFC 5103, else the id
    /// (`e<enterprise>.<id>` for an enterprise's own elements).
    fn key(&self) -> String {
        match (self.enterprise, self.name) {
            (0, Some(name)) => name.to_string(),
            (REVERSE_PEN, Some(name)) => {
                let mut key = String::with_capacity(name.len() + 7);
                key.push_str("reverse");
                let mut chars = name.chars();
                if let Some(first) = chars.next() {
                    key.push(first.to_ascii_uppercase());
                }
                key.push_str(chars.as_str());
                key
            }
            (0, None) => self.id.to_string(),
            (enterprise, _) => format!("e{enterprise}.{}", self.id),
        }
    }
}

#[derive(Debug)]
struct Template {
    fields: Vec<Field>,
    /// The shortest record: fixed lengths, one byte per variable-length field.
    min_len: usize,
    options: bool,
    stamp: u64,
}

#[derive(Debug, Default)]
struct Exporter {
    templates: HashMap<TemplateKey, Template>,
    /// Template keys by the time they were learned or refreshed, oldest first.
    order: BTreeMap<u64, TemplateKey>,
    /// `systemInitTimeMilliseconds` sent in options records, per (version, domain).
    init: HashMap<(u16, u32), i64>,
    stamp: u64,
}

/// Decodes NetFlow v5, v9 and IPFIX datagrams, keeping the templates their exporters send.
///
/// Keep one per listener and feed it every datagram with its sender's address:
///
/// ```
/// # use seam_adapters::{FlowDecoder, ParseContext};
/// # let datagram: &[u8] = &[];
/// let mut decoder = FlowDecoder::new();
/// let ctx = ParseContext::new("netflow", seam_model::Ts(1_772_452_800_000));
/// let batch = decoder.decode("10.0.0.1".parse().unwrap(), datagram, &ctx);
/// # assert!(batch.events.is_empty());
/// ```
#[derive(Debug)]
pub struct FlowDecoder {
    limits: FlowLimits,
    exporters: HashMap<IpAddr, Exporter>,
    /// Exporters by the last datagram that used their state, least recent first.
    exporter_order: BTreeMap<u64, IpAddr>,
    /// Every template by the time it was learned, oldest first, for the field budget.
    template_order: BTreeMap<u64, (IpAddr, TemplateKey)>,
    fields: usize,
    clock: u64,
    stats: FlowStats,
}

impl Default for FlowDecoder {
    fn default() -> FlowDecoder {
        FlowDecoder::new()
    }
}

/// The header of one datagram, as the records need it.
#[derive(Debug)]
struct Header {
    exporter: IpAddr,
    version: u16,
    domain: u32,
    sequence: u32,
    export_ms: i64,
    /// v5 and v9: the exporter's sysUpTime at export, the base of flow times.
    uptime: Option<u32>,
}

/// What a datagram's decoding gathers besides the collector.
struct Out<'c> {
    collector: Collector<'c>,
    sequences: Vec<(String, u64)>,
    stream: String,
    exporter_text: String,
}

impl Out<'_> {
    fn number(&mut self, number: u32) {
        self.sequences
            .push((self.stream.clone(), u64::from(number)));
    }
}

impl FlowDecoder {
    /// A decoder with the default limits.
    pub fn new() -> FlowDecoder {
        FlowDecoder::with_limits(FlowLimits::default())
    }

    /// A decoder with its own limits (each at least 1).
    pub fn with_limits(limits: FlowLimits) -> FlowDecoder {
        FlowDecoder {
            limits: FlowLimits {
                templates_per_exporter: limits.templates_per_exporter.max(1),
                exporters: limits.exporters.max(1),
                template_fields: limits.template_fields.max(1),
            },
            exporters: HashMap::new(),
            exporter_order: BTreeMap::new(),
            template_order: BTreeMap::new(),
            fields: 0,
            clock: 0,
            stats: FlowStats::default(),
        }
    }

    /// What the decoder did with templates so far.
    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// Templates kept now, over all exporters.
    pub fn templates(&self) -> usize {
        self.template_order.len()
    }

    /// Exporters with templates kept now.
    pub fn exporters(&self) -> usize {
        self.exporters.len()
    }

    /// Decodes one UDP datagram from `exporter` (an IPv4-mapped IPv6 address, as a dual-stack
    /// socket reports it, is taken as the IPv4 address). Rejections are indexed by the set's
    /// position in the datagram (v5: the flow's), 1-based; 0 is the datagram's header.
    pub fn decode(&mut self, exporter: IpAddr, datagram: &[u8], ctx: &ParseContext) -> Batch {
        let exporter = exporter.to_canonical();
        let mut out = Out {
            collector: Collector::new(ctx),
            sequences: Vec::new(),
            stream: String::new(),
            exporter_text: exporter.to_string(),
        };
        match be16(datagram, 0) {
            None => out.collector.reject(
                0,
                datagram,
                format!(
                    "a datagram of {} bytes is too short for a flow export header",
                    datagram.len()
                ),
            ),
            Some(5) => v5(exporter, datagram, ctx, &mut out),
            Some(9) => self.v9(exporter, datagram, ctx, &mut out),
            Some(10) => self.ipfix(exporter, datagram, ctx, &mut out),
            Some(version @ (1 | 6 | 7 | 8)) => out.collector.reject(
                0,
                datagram,
                format!("NetFlow v{version} is not read (v5, v9 and IPFIX are)"),
            ),
            Some(version) => out.collector.reject(
                0,
                datagram,
                format!("not NetFlow or IPFIX: the version field is {version}"),
            ),
        }
        let mut batch = out.collector.finish();
        batch.sequences = out.sequences;
        batch
    }

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    /// Marks the exporter as just heard from, if its state is kept.
    fn touch(&mut self, exporter: IpAddr) {
        let stamp = self.tick();
        if let Some(state) = self.exporters.get_mut(&exporter) {
            self.exporter_order.remove(&state.stamp);
            state.stamp = stamp;
            self.exporter_order.insert(stamp, exporter);
        }
    }

    fn v9(&mut self, exporter: IpAddr, datagram: &[u8], ctx: &ParseContext, out: &mut Out) {
        let (Some(uptime), Some(secs), Some(sequence), Some(domain)) = (
            be32(datagram, 4),
            be32(datagram, 8),
            be32(datagram, 12),
            be32(datagram, 16),
        ) else {
            out.collector.reject(
                0,
                datagram,
                format!(
                    "a NetFlow v9 header takes 20 bytes; the datagram has {}",
                    datagram.len()
                ),
            );
            return;
        };
        let header = Header {
            exporter,
            version: 9,
            domain,
            sequence,
            export_ms: i64::from(secs) * 1000,
            uptime: Some(uptime),
        };
        out.stream = format!("{}/{domain}/v9", out.exporter_text);
        out.number(sequence);
        self.touch(exporter);
        self.sets(&header, datagram.get(20..).unwrap_or_default(), ctx, out);
    }

    fn ipfix(&mut self, exporter: IpAddr, datagram: &[u8], ctx: &ParseContext, out: &mut Out) {
        let (Some(length), Some(secs), Some(sequence), Some(domain)) = (
            be16(datagram, 2),
            be32(datagram, 4),
            be32(datagram, 8),
            be32(datagram, 12),
        ) else {
            out.collector.reject(
                0,
                datagram,
                format!(
                    "an IPFIX message header takes 16 bytes; the datagram has {}",
                    datagram.len()
                ),
            );
            return;
        };
        let length = usize::from(length);
        if length < 16 {
            out.collector.reject(
                0,
                datagram,
                format!("the IPFIX message length {length} is shorter than its 16-byte header"),
            );
            return;
        }
        let end = if length > datagram.len() {
            out.collector.reject(
                0,
                datagram.get(..16).unwrap_or_default(),
                format!(
                    "the IPFIX message is {length} bytes long but only {} arrived; reading what did",
                    datagram.len()
                ),
            );
            datagram.len()
        } else {
            if length < datagram.len() {
                let trailing = datagram.get(length..).unwrap_or_default();
                out.collector.reject(
                    0,
                    trailing,
                    format!(
                        "{} bytes after the end of the {length}-byte IPFIX message",
                        trailing.len()
                    ),
                );
            }
            length
        };
        let header = Header {
            exporter,
            version: 10,
            domain,
            sequence,
            export_ms: i64::from(secs) * 1000,
            uptime: None,
        };
        out.stream = format!("{}/{domain}/v10", out.exporter_text);
        self.touch(exporter);
        self.sets(&header, datagram.get(16..end).unwrap_or_default(), ctx, out);
    }

    /// The sets (v9: flowsets) of one datagram, after its header.
    fn sets(&mut self, header: &Header, body: &[u8], ctx: &ParseContext, out: &mut Out) {
        let ipfix = header.version == 10;
        let unit = if ipfix { "set" } else { "flowset" };
        let mut pos = 0usize;
        let mut index = 0usize;
        let mut records = 0u32;
        while let Some(rest) = body.get(pos..).filter(|rest| !rest.is_empty()) {
            index += 1;
            // Zeros to the end are padding (no set has id 0 and length 0).
            if rest.iter().all(|byte| *byte == 0) {
                return;
            }
            let (Some(id), Some(length)) = (be16(rest, 0), be16(rest, 2)) else {
                out.collector.reject(
                    index,
                    rest,
                    format!(
                        "{} bytes after the last {unit} are neither a {unit} nor zero padding",
                        rest.len()
                    ),
                );
                return;
            };
            let length = usize::from(length);
            if length < 4 {
                out.collector.reject(
                    index,
                    rest,
                    format!("a {unit} length of {length} is shorter than its 4-byte header"),
                );
                return;
            }
            let Some(set) = rest.get(..length) else {
                out.collector.reject(
                    index,
                    rest,
                    format!(
                        "a {unit} of {length} bytes overruns the datagram ({} bytes left): truncated",
                        rest.len()
                    ),
                );
                return;
            };
            let contents = set.get(4..).unwrap_or_default();
            match (ipfix, id) {
                (false, 0) | (true, 2) => self.template_set(header, contents, index, false, out),
                (false, 1) | (true, 3) => self.template_set(header, contents, index, true, out),
                (_, 256..) => {
                    self.data_set(header, id, set, index, &mut records, ctx, out);
                }
                _ => out
                    .collector
                    .reject(index, set, format!("{unit} id {id} is reserved")),
            }
            pos = pos.saturating_add(length);
        }
    }

    /// The template records of one template or options template set.
    fn template_set(
        &mut self,
        header: &Header,
        contents: &[u8],
        index: usize,
        options: bool,
        out: &mut Out,
    ) {
        let ipfix = header.version == 10;
        // The largest record one set can hold, after the message and set headers.
        let max_record = 65_535 - 4 - if ipfix { 16 } else { 20 };
        let mut pos = 0usize;
        while let Some(rest) = contents.get(pos..).filter(|rest| !rest.is_empty()) {
            let (Some(id), Some(count)) = (be16(rest, 0), be16(rest, 2)) else {
                if rest.iter().any(|byte| *byte != 0) {
                    out.collector.reject(
                        index,
                        rest,
                        format!(
                            "{} bytes after the last template record are neither a record nor zero padding",
                            rest.len()
                        ),
                    );
                }
                return;
            };
            if ipfix && count == 0 {
                self.withdraw(header, id, options, index, rest, out);
                pos = pos.saturating_add(4);
                continue;
            }
            // How many field specifiers follow, and where.
            let (start, specifiers) = if !options {
                (4, usize::from(count))
            } else if ipfix {
                (6, usize::from(count))
            } else {
                // v9 options: the scope and option lengths in bytes, 4 per specifier.
                let Some(option_len) = be16(rest, 4) else {
                    out.collector.reject(
                        index,
                        rest,
                        format!("options template {id} is cut short in its header"),
                    );
                    return;
                };
                if count % 4 != 0 || option_len % 4 != 0 {
                    out.collector.reject(
                        index,
                        rest,
                        format!(
                            "options template {id}: scope length {count} and option length {option_len} must be multiples of 4"
                        ),
                    );
                    return;
                }
                (6, usize::from(count / 4) + usize::from(option_len / 4))
            };
            let parsed = specifiers_of(rest, start, specifiers, ipfix);
            let (fields, end) = match parsed {
                Ok(parsed) => parsed,
                Err(reason) => {
                    out.collector
                        .reject(index, rest, format!("template {id}: {reason}"));
                    return;
                }
            };
            let record = rest.get(..end).unwrap_or(rest);
            pos = pos.saturating_add(end);
            let Some(fields) = fields else {
                self.stats.templates_rejected += 1;
                out.collector.reject(
                    index,
                    record,
                    format!(
                        "template {id} has {specifiers} fields, more than the limit of {MAX_TEMPLATE_FIELDS}"
                    ),
                );
                continue;
            };
            if id < 256 {
                self.stats.templates_rejected += 1;
                out.collector.reject(
                    index,
                    record,
                    format!("template id {id} is reserved (templates are numbered from 256)"),
                );
                continue;
            }
            let min_len = fields
                .iter()
                .map(|field| match field.length {
                    VARIABLE if ipfix => 1,
                    length => usize::from(length),
                })
                .sum::<usize>();
            if min_len == 0 || min_len > max_record {
                self.stats.templates_rejected += 1;
                out.collector.reject(
                    index,
                    record,
                    format!(
                        "template {id} describes records of {min_len} bytes, which no set can carry"
                    ),
                );
                continue;
            }
            if options {
                self.stats.options_templates += 1;
            }
            let key = TemplateKey {
                version: header.version,
                domain: header.domain,
                id,
            };
            self.learn(header.exporter, key, fields, min_len, options);
        }
    }

    /// Keeps a template, replacing one with the same key, within the limits.
    fn learn(
        &mut self,
        exporter: IpAddr,
        key: TemplateKey,
        fields: Vec<Field>,
        min_len: usize,
        options: bool,
    ) {
        let stamp = self.tick();
        if let Some(state) = self.exporters.get_mut(&exporter)
            && let Some(old) = state.templates.get_mut(&key)
        {
            // A refresh: the same layout is only marked as fresh.
            state.order.remove(&old.stamp);
            self.template_order.remove(&old.stamp);
            state.order.insert(stamp, key);
            self.template_order.insert(stamp, (exporter, key));
            old.stamp = stamp;
            if old.fields != fields || old.options != options {
                self.fields = self
                    .fields
                    .saturating_sub(old.fields.len())
                    .saturating_add(fields.len());
                old.fields = fields;
                old.min_len = min_len;
                old.options = options;
                self.stats.templates_learned += 1;
            }
            self.within_field_budget(Some(stamp));
            return;
        }
        if !self.exporters.contains_key(&exporter) {
            if self.exporters.len() >= self.limits.exporters
                && let Some((_, oldest)) = self.exporter_order.pop_first()
            {
                self.forget_exporter(oldest);
                self.stats.exporters_evicted += 1;
            }
            self.exporters.insert(
                exporter,
                Exporter {
                    stamp,
                    ..Exporter::default()
                },
            );
            self.exporter_order.insert(stamp, exporter);
        }
        let oldest = match self.exporters.get_mut(&exporter) {
            Some(state) if state.templates.len() >= self.limits.templates_per_exporter => state
                .order
                .pop_first()
                .and_then(|(_, key)| state.templates.remove(&key)),
            _ => None,
        };
        if let Some(oldest) = oldest {
            self.template_order.remove(&oldest.stamp);
            self.fields = self.fields.saturating_sub(oldest.fields.len());
            self.stats.templates_evicted += 1;
        }
        self.fields = self.fields.saturating_add(fields.len());
        if let Some(state) = self.exporters.get_mut(&exporter) {
            state.order.insert(stamp, key);
            state.templates.insert(
                key,
                Template {
                    fields,
                    min_len,
                    options,
                    stamp,
                },
            );
            self.template_order.insert(stamp, (exporter, key));
            self.stats.templates_learned += 1;
        }
        self.within_field_budget(Some(stamp));
    }

    /// Forgets the oldest templates until the fields kept are within the budget, sparing
    /// the one just learned.
    fn within_field_budget(&mut self, spare: Option<u64>) {
        while self.fields > self.limits.template_fields {
            let Some((&stamp, &(exporter, key))) = self.template_order.first_key_value() else {
                break;
            };
            if Some(stamp) == spare {
                break;
            }
            self.remove_template(exporter, key);
            self.stats.templates_evicted += 1;
        }
    }

    /// Forgets one template; true when it was kept.
    fn remove_template(&mut self, exporter: IpAddr, key: TemplateKey) -> bool {
        let Some(state) = self.exporters.get_mut(&exporter) else {
            return false;
        };
        let Some(template) = state.templates.remove(&key) else {
            return false;
        };
        state.order.remove(&template.stamp);
        self.template_order.remove(&template.stamp);
        self.fields = self.fields.saturating_sub(template.fields.len());
        true
    }

    fn forget_exporter(&mut self, exporter: IpAddr) {
        if let Some(state) = self.exporters.remove(&exporter) {
            self.exporter_order.remove(&state.stamp);
            for stamp in state.order.keys() {
                self.template_order.remove(stamp);
            }
            let fields: usize = state.templates.values().map(|t| t.fields.len()).sum();
            self.fields = self.fields.saturating_sub(fields);
        }
    }

    /// An IPFIX template withdrawal: one template, or (id 2, 3) all of the set's kind.
    fn withdraw(
        &mut self,
        header: &Header,
        id: u16,
        options: bool,
        index: usize,
        raw: &[u8],
        out: &mut Out,
    ) {
        let all = if options { 3 } else { 2 };
        if id == all {
            let keys: Vec<TemplateKey> = self
                .exporters
                .get(&header.exporter)
                .map(|state| {
                    state
                        .templates
                        .iter()
                        .filter(|(key, template)| {
                            key.version == header.version
                                && key.domain == header.domain
                                && template.options == options
                        })
                        .map(|(key, _)| *key)
                        .collect()
                })
                .unwrap_or_default();
            for key in keys {
                if self.remove_template(header.exporter, key) {
                    self.stats.templates_withdrawn += 1;
                }
            }
        } else if id >= 256 {
            let key = TemplateKey {
                version: header.version,
                domain: header.domain,
                id,
            };
            if self.remove_template(header.exporter, key) {
                self.stats.templates_withdrawn += 1;
            }
        } else {
            out.collector.reject(
                index,
                raw.get(..4).unwrap_or(raw),
                format!("a withdrawal of template id {id}, which is reserved"),
            );
        }
    }

    /// One data set: its records through their template, or one dead letter without it.
    #[expect(
        clippy::too_many_arguments,
        reason = "the datagram's context, passed once per set"
    )]
    fn data_set(
        &mut self,
        header: &Header,
        id: u16,
        set: &[u8],
        index: usize,
        records: &mut u32,
        ctx: &ParseContext,
        out: &mut Out,
    ) {
        let key = TemplateKey {
            version: header.version,
            domain: header.domain,
            id,
        };
        let state = self.exporters.get(&header.exporter);
        let Some(template) = state.and_then(|state| state.templates.get(&key)) else {
            self.stats.sets_without_template += 1;
            out.collector.reject(
                index,
                set,
                format!(
                    "no template {id} yet from {} domain {}",
                    out.exporter_text, header.domain
                ),
            );
            return;
        };
        let init =
            state.and_then(|state| state.init.get(&(header.version, header.domain)).copied());
        let contents = set.get(4..).unwrap_or_default();
        let learned_init = if template.options {
            options_records(template, contents, header, index, records, out)
        } else {
            flow_records(
                template, id, contents, header, index, records, init, ctx, out,
            );
            None
        };
        if let Some(init) = learned_init
            && let Some(state) = self.exporters.get_mut(&header.exporter)
            && (state.init.len() < MAX_INIT_TIMES
                || state.init.contains_key(&(header.version, header.domain)))
        {
            state.init.insert((header.version, header.domain), init);
        }
    }
}

/// Reads `count` field specifiers from `record` at `start`: the fields (`None` when there are
/// more than the limit) and where the template record ends.
fn specifiers_of(
    record: &[u8],
    start: usize,
    count: usize,
    ipfix: bool,
) -> Result<(Option<Vec<Field>>, usize), String> {
    let keep = count <= MAX_TEMPLATE_FIELDS;
    let mut fields = if keep {
        Vec::with_capacity(count)
    } else {
        Vec::new()
    };
    let mut pos = start;
    for number in 0..count {
        let cut = || {
            format!(
                "cut short at field {} of {count} ({} bytes left in the set)",
                number + 1,
                record.len()
            )
        };
        let (Some(element), Some(length)) = (be16(record, pos), be16(record, pos + 2)) else {
            return Err(cut());
        };
        pos += 4;
        let (id, enterprise) = if ipfix && element & 0x8000 != 0 {
            let enterprise = be32(record, pos).ok_or_else(cut)?;
            pos += 4;
            (element & 0x7fff, enterprise)
        } else {
            (element, 0)
        };
        if keep {
            fields.push(Field::new(id, enterprise, length));
        }
    }
    Ok((keep.then_some(fields), pos))
}

/// Walks one record of `template` at `pos` in `contents`, handing each field's bytes to
/// `each`; returns where the record ends.
fn walk_record<'a>(
    template: &Template,
    contents: &'a [u8],
    pos: usize,
    ipfix: bool,
    mut each: impl FnMut(&Field, &'a [u8]),
) -> Result<usize, String> {
    let mut at = pos;
    let overrun = |field: &Field| {
        format!(
            "a record overruns its set at field {}{} ({} bytes left)",
            field.name.unwrap_or("element "),
            if field.name.is_some() {
                String::new()
            } else {
                field.id.to_string()
            },
            contents.len().saturating_sub(pos)
        )
    };
    for field in &template.fields {
        let length = if field.length == VARIABLE && ipfix {
            let first = *contents.get(at).ok_or_else(|| overrun(field))?;
            at += 1;
            if first < 255 {
                usize::from(first)
            } else {
                let long = be16(contents, at).ok_or_else(|| overrun(field))?;
                at += 2;
                usize::from(long)
            }
        } else {
            usize::from(field.length)
        };
        let end = at.saturating_add(length);
        let value = contents.get(at..end).ok_or_else(|| overrun(field))?;
        each(field, value);
        at = end;
    }
    Ok(at)
}

/// The records of a data set for a flow template.
#[expect(
    clippy::too_many_arguments,
    reason = "the datagram's context, passed once per set"
)]
fn flow_records(
    template: &Template,
    id: u16,
    contents: &[u8],
    header: &Header,
    index: usize,
    records: &mut u32,
    init: Option<i64>,
    ctx: &ParseContext,
    out: &mut Out,
) {
    let ipfix = header.version == 10;
    let mut pos = 0usize;
    while contents.len().saturating_sub(pos) >= template.min_len {
        let mut flow = Flow::default();
        let mut raw = Vec::with_capacity(template.fields.len() + 8);
        raw.push((
            "exporter".to_string(),
            Value::String(out.exporter_text.clone()),
        ));
        raw.push(("version".to_string(), Value::from(header.version)));
        raw.push(("domain".to_string(), Value::from(header.domain)));
        raw.push(("template".to_string(), Value::from(id)));
        let walked = walk_record(template, contents, pos, ipfix, |field, value| {
            flow.take(field.role, value);
            raw.push((field.key(), render(field.ty, value)));
        });
        let end = match walked {
            Ok(end) => end,
            Err(reason) => {
                out.collector
                    .reject(index, contents.get(pos..).unwrap_or_default(), reason);
                return;
            }
        };
        let record = contents.get(pos..end).unwrap_or_default();
        let number = *records;
        *records = records.wrapping_add(1);
        if ipfix {
            out.number(header.sequence.wrapping_add(number));
        }
        let result = flow_event(ctx, header, &flow, raw, number, record, init);
        out.collector.record(index, record, result);
        pos = end;
    }
    padding(contents.get(pos..).unwrap_or_default(), index, id, out);
}

/// The records of a data set for an options template: skipped, counted, and a
/// `systemInitTimeMilliseconds` among them returned.
fn options_records(
    template: &Template,
    contents: &[u8],
    header: &Header,
    index: usize,
    records: &mut u32,
    out: &mut Out,
) -> Option<i64> {
    let ipfix = header.version == 10;
    let mut init = None;
    let mut pos = 0usize;
    while contents.len().saturating_sub(pos) >= template.min_len {
        let walked = walk_record(template, contents, pos, ipfix, |field, value| {
            if field.role == Role::InitMillis {
                init = millis(value).or(init);
            }
        });
        let end = match walked {
            Ok(end) => end,
            Err(reason) => {
                out.collector
                    .reject(index, contents.get(pos..).unwrap_or_default(), reason);
                return init;
            }
        };
        if ipfix {
            out.number(header.sequence.wrapping_add(*records));
        }
        *records = records.wrapping_add(1);
        out.collector.record(
            index,
            contents.get(pos..end).unwrap_or_default(),
            Ok(Read::Skip(
                "an options record (exporter metadata, not a flow)",
            )),
        );
        pos = end;
    }
    padding(contents.get(pos..).unwrap_or_default(), index, 0, out);
    init
}

/// What is left of a data set after its last whole record: zero padding, or a rejection.
fn padding(rest: &[u8], index: usize, id: u16, out: &mut Out) {
    if rest.iter().any(|byte| *byte != 0) {
        let template = if id == 0 {
            String::new()
        } else {
            format!(" for template {id}")
        };
        out.collector.reject(
            index,
            rest,
            format!(
                "{} bytes after the last whole record of the data set{template} are not zero padding",
                rest.len()
            ),
        );
    }
}

/// What a data record says that the event needs; the first occurrence of an element wins.
#[derive(Debug, Default)]
struct Flow {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    protocol: Option<u8>,
    octets_delta: Option<u64>,
    octets_total: Option<u64>,
    src_mac: Option<[u8; 6]>,
    start_uptime: Option<u32>,
    end_uptime: Option<u32>,
    /// Absolute times with their precision (a finer one wins).
    start: Option<(u8, i64)>,
    end: Option<(u8, i64)>,
    start_delta_us: Option<u64>,
    end_delta_us: Option<u64>,
    init_ms: Option<i64>,
}

impl Flow {
    fn take(&mut self, role: Role, value: &[u8]) {
        match role {
            Role::None => {}
            Role::SrcV4 | Role::SrcV6 => {
                if self.src.is_none() {
                    self.src = address(value);
                }
            }
            Role::DstV4 | Role::DstV6 => {
                if self.dst.is_none() {
                    self.dst = address(value);
                }
            }
            Role::SrcPort => first(&mut self.src_port, small(value)),
            Role::DstPort => first(&mut self.dst_port, small(value)),
            Role::Protocol => first(&mut self.protocol, small(value)),
            Role::OctetsDelta => first(&mut self.octets_delta, uint(value)),
            Role::OctetsTotal => first(&mut self.octets_total, uint(value)),
            Role::SrcMac => first(&mut self.src_mac, value.try_into().ok()),
            Role::StartUptime => first(&mut self.start_uptime, small(value)),
            Role::EndUptime => first(&mut self.end_uptime, small(value)),
            Role::StartSeconds => finer(&mut self.start, 1, seconds(value)),
            Role::EndSeconds => finer(&mut self.end, 1, seconds(value)),
            Role::StartMillis => finer(&mut self.start, 2, millis(value)),
            Role::EndMillis => finer(&mut self.end, 2, millis(value)),
            Role::StartMicros => finer(&mut self.start, 3, ntp(value)),
            Role::EndMicros => finer(&mut self.end, 3, ntp(value)),
            Role::StartNanos => finer(&mut self.start, 4, ntp(value)),
            Role::EndNanos => finer(&mut self.end, 4, ntp(value)),
            Role::StartDeltaMicros => first(&mut self.start_delta_us, uint(value)),
            Role::EndDeltaMicros => first(&mut self.end_delta_us, uint(value)),
            Role::InitMillis => first(&mut self.init_ms, millis(value)),
        }
    }
}

fn first<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn finer(slot: &mut Option<(u8, i64)>, rank: u8, value: Option<i64>) {
    if let Some(value) = value
        && slot.is_none_or(|(held, _)| held < rank)
    {
        *slot = Some((rank, value));
    }
}

/// An IPv4 or IPv6 address by its length; the unspecified address is none.
fn address(value: &[u8]) -> Option<IpAddr> {
    let address = match value.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?)),
        _ => return None,
    };
    (!address.is_unspecified()).then_some(address)
}

/// An unsigned integer in 1 to 8 bytes, big-endian.
fn uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)),
    )
}

/// An unsigned integer that fits the narrower type (a reduced or exact encoding).
fn small<T: TryFrom<u64>>(value: &[u8]) -> Option<T> {
    T::try_from(uint(value)?).ok()
}

fn seconds(value: &[u8]) -> Option<i64> {
    i64::try_from(uint(value)?)
        .ok()?
        .checked_mul(1000)
        .filter(|ms| *ms <= MAX_MILLIS)
}

fn millis(value: &[u8]) -> Option<i64> {
    i64::try_from(uint(value)?)
        .ok()
        .filter(|ms| *ms <= MAX_MILLIS)
}

/// An NTP timestamp (dateTimeMicroseconds, dateTimeNanoseconds) in Unix milliseconds; seconds
/// before 1970 are taken as the era after 2036.
fn ntp(value: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = value.try_into().ok()?;
    let [a, b, c, d, e, f, g, h] = bytes;
    let secs = i64::from(u32::from_be_bytes([a, b, c, d]));
    let fraction = i64::from(u32::from_be_bytes([e, f, g, h]));
    let unix = if secs >= NTP_TO_UNIX {
        secs - NTP_TO_UNIX
    } else {
        secs + (1i64 << 32) - NTP_TO_UNIX
    };
    Some(unix * 1000 + ((fraction * 1000) >> 32))
}

/// An element's value for `raw`, by its type; a length the type does not have is hex.
fn render(ty: Type, value: &[u8]) -> Value {
    let rendered = match ty {
        Type::Unsigned => uint(value).map(Value::from),
        Type::Ipv4 | Type::Ipv6 => {
            let address = match value.len() {
                4 => <[u8; 4]>::try_from(value).ok().map(IpAddr::from),
                16 => <[u8; 16]>::try_from(value).ok().map(IpAddr::from),
                _ => None,
            };
            address.map(|address| Value::String(address.to_string()))
        }
        Type::Mac => <[u8; 6]>::try_from(value)
            .ok()
            .map(|mac| Value::String(mac_text(mac))),
        Type::Text => {
            let end = value
                .iter()
                .rposition(|byte| *byte != 0)
                .map_or(0, |last| last + 1);
            Some(Value::String(
                String::from_utf8_lossy(value.get(..end).unwrap_or_default()).into_owned(),
            ))
        }
        Type::Seconds => seconds(value).map(time_value),
        Type::Millis => millis(value).map(time_value),
        Type::Ntp => ntp(value)
            .filter(|ms| (0..=MAX_MILLIS).contains(ms))
            .map(time_value),
        Type::Bytes => None,
    };
    rendered.unwrap_or_else(|| Value::String(hex(value)))
}

/// The entries of a record's `raw`, in the order read.
type Entries = Vec<(String, Value)>;

/// `raw` as a JSON object; of an element sent twice the first is kept, as for the event.
fn object(mut entries: Entries) -> Value {
    // Built in one go (sorted, then the tree), which keeps the last of equal keys.
    entries.reverse();
    Value::Object(entries.into_iter().collect::<Map<String, Value>>())
}

/// A time as `Ts` prints it (`2026-03-02T09:04:58.500Z`), for times within the calendar,
/// without the general formatter's cost (it is written several times per flow).
fn time_value(millis: i64) -> Value {
    if !(0..=MAX_MILLIS).contains(&millis) {
        return Value::String(Ts(millis).to_string());
    }
    let (year, month, day) = seam_model::time::civil_from_days(millis.div_euclid(86_400_000));
    let of_day = millis.rem_euclid(86_400_000);
    let mut out = String::with_capacity(24);
    for (separator, value, width) in [
        (None, year, 4),
        (Some('-'), month, 2),
        (Some('-'), day, 2),
        (Some('T'), of_day / 3_600_000, 2),
        (Some(':'), of_day / 60_000 % 60, 2),
        (Some(':'), of_day / 1000 % 60, 2),
        (Some('.'), of_day % 1000, 3),
    ] {
        if let Some(separator) = separator {
            out.push(separator);
        }
        let mut digits = [b'0'; 4];
        let mut rest = value;
        for slot in digits.iter_mut().take(width).rev() {
            *slot = b'0' + u8::try_from(rest % 10).unwrap_or(0);
            rest /= 10;
        }
        for digit in digits.iter().take(width) {
            out.push(char::from(*digit));
        }
    }
    out.push('Z');
    Value::String(out)
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        push_hex(&mut text, *byte);
    }
    text
}

fn push_hex(text: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for nibble in [byte >> 4, byte & 0x0f] {
        if let Some(digit) = DIGITS.get(usize::from(nibble)) {
            text.push(char::from(*digit));
        }
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    let mut text = String::with_capacity(17);
    for (position, byte) in mac.iter().enumerate() {
        if position > 0 {
            text.push(':');
        }
        push_hex(&mut text, *byte);
    }
    text
}

/// A sysUpTime-relative time in Unix milliseconds, against the export time and the uptime
/// at export: up to a day before it, or a few seconds after; the 32-bit uptime may wrap
/// (every 49.7 days) in between.
fn from_uptime(export_ms: i64, uptime: u32, at: u32) -> Option<i64> {
    let behind = uptime.wrapping_sub(at);
    if behind <= BEHIND_MS {
        return export_ms.checked_sub(i64::from(behind));
    }
    let ahead = at.wrapping_sub(uptime);
    (ahead <= AHEAD_MS).then(|| export_ms.saturating_add(i64::from(ahead)))
}

/// A sysUpTime-relative time in Unix milliseconds from the exporter's start time, taking the
/// wrap of the 32-bit uptime that puts it nearest before the export time (a few seconds
/// after it at most). That wrap may lie before the start: softflowd replaying a capture counts
/// the packets' times from its own start, so flows older than the exporter come as uptimes
/// just below 2^32.
fn from_init(init_ms: i64, export_ms: i64, at: u32) -> Option<i64> {
    const WRAP: i64 = 1 << 32;
    let latest = export_ms.checked_add(i64::from(AHEAD_MS))?;
    let unwrapped = init_ms.checked_add(i64::from(at))?;
    // The latest `init + at + k * 2^32`, for any whole k, that is not after `latest`.
    let time = latest.checked_sub(latest.checked_sub(unwrapped)?.rem_euclid(WRAP))?;
    let behind = export_ms.checked_sub(time)?;
    (behind <= i64::from(BEHIND_MS)).then_some(time)
}

/// The flow's end, and its start when known, in Unix milliseconds.
fn flow_times(
    flow: &Flow,
    header: &Header,
    init: Option<i64>,
) -> Result<(Option<i64>, i64), String> {
    let init = flow.init_ms.or(init);
    let uptime_time = |at: u32| -> Result<i64, String> {
        match (header.uptime, init) {
            (Some(uptime), _) => from_uptime(header.export_ms, uptime, at).ok_or_else(|| {
                format!(
                    "flow times far from the exporter's uptime base: the flow is at uptime {at} ms, the export at {uptime} ms"
                )
            }),
            (None, Some(init)) => from_init(init, header.export_ms, at).ok_or_else(|| {
                format!(
                    "flow times far from the exporter's uptime base: uptime {at} ms after a start at {} is not near the export at {}",
                    Ts(init),
                    Ts(header.export_ms)
                )
            }),
            // IPFIX without the exporter's start time: the export time stands in.
            (None, None) => Ok(header.export_ms),
        }
    };
    let delta = |micros: u64| {
        i64::try_from(micros / 1000)
            .ok()
            .and_then(|ms| header.export_ms.checked_sub(ms))
    };
    let from_uptime_end = flow.end.is_none() && flow.end_delta_us.is_none();
    let end = if let Some((_, end)) = flow.end {
        end
    } else if let Some(micros) = flow.end_delta_us {
        delta(micros).ok_or("flowEndDeltaMicroseconds is out of range")?
    } else if let Some(at) = flow.end_uptime {
        uptime_time(at)?
    } else {
        header.export_ms
    };
    if end > header.export_ms.saturating_add(i64::from(AHEAD_MS)) {
        return Err(format!(
            "the flow ends at {}, after its export at {}",
            Ts(end),
            Ts(header.export_ms)
        ));
    }
    if !(0..=MAX_MILLIS).contains(&end) {
        return Err(format!("the flow's end time {end} ms is out of range"));
    }
    let start = if let Some((_, start)) = flow.start {
        Some(start)
    } else if let Some(micros) = flow.start_delta_us {
        delta(micros)
    } else if let (Some(first), Some(last), true) =
        (flow.start_uptime, flow.end_uptime, from_uptime_end)
    {
        let duration = last.wrapping_sub(first);
        (duration < 1 << 31).then(|| end - i64::from(duration))
    } else {
        None
    };
    Ok((start.filter(|start| (0..=end).contains(start)), end))
}

/// The event of one flow record (v5 or a data record).
fn flow_event(
    ctx: &ParseContext,
    header: &Header,
    flow: &Flow,
    mut raw: Entries,
    number: u32,
    record: &[u8],
    init: Option<i64>,
) -> RecordResult {
    if flow.src.is_none() && flow.dst.is_none() {
        return Ok(Read::Skip("a flow record without addresses"));
    }
    let (start, end) = flow_times(flow, header, init)?;
    let exporter = match header.exporter {
        IpAddr::V4(address) => address.to_ipv6_mapped().octets(),
        IpAddr::V6(address) => address.octets(),
    };
    let uid = common::digest_uid(
        NAME,
        &[
            &exporter,
            &header.version.to_be_bytes(),
            &header.domain.to_be_bytes(),
            &header.sequence.to_be_bytes(),
            &number.to_be_bytes(),
            record,
        ],
    );
    let mut event = common::new_event(
        ctx,
        uid,
        Ts(end),
        EventClass::NetworkActivity,
        Activity::Traffic,
    );
    event.subject.ip = flow.src;
    event.src.ip = flow.src;
    event.dst.ip = flow.dst;
    if elements::has_ports(flow.protocol) {
        event.dst.port = flow.dst_port;
    }
    event.bytes_out = flow.octets_delta.or(flow.octets_total);
    event.subject.mac = flow
        .src_mac
        .filter(|mac| mac.iter().any(|byte| *byte != 0))
        .map(mac_text);
    event.app = flow.protocol.map(elements::protocol_name);
    raw.push(("sequence".to_string(), Value::from(header.sequence)));
    if let Some(start) = start {
        raw.push(("start".to_string(), time_value(start)));
    }
    raw.push(("end".to_string(), time_value(end)));
    event.raw = Some(object(raw));
    Ok(Read::Event(event))
}

/// NetFlow v5: a 24-byte header and up to 30 fixed 48-byte flow records.
fn v5(exporter: IpAddr, datagram: &[u8], ctx: &ParseContext, out: &mut Out) {
    const HEADER: usize = 24;
    const RECORD: usize = 48;
    let (Some(count), Some(uptime), Some(secs), Some(nanos), Some(sequence), Some(engine)) = (
        be16(datagram, 2),
        be32(datagram, 4),
        be32(datagram, 8),
        be32(datagram, 12),
        be32(datagram, 16),
        array::<4>(datagram, 20),
    ) else {
        out.collector.reject(
            0,
            datagram,
            format!(
                "a NetFlow v5 header takes 24 bytes; the datagram has {}",
                datagram.len()
            ),
        );
        return;
    };
    let [engine_type, engine_id, sampling_high, sampling_low] = engine;
    let sampling = u16::from_be_bytes([sampling_high, sampling_low]);
    let domain = u32::from(engine_type) << 8 | u32::from(engine_id);
    out.stream = format!("{}/{domain}/v5", out.exporter_text);
    let header = Header {
        exporter,
        version: 5,
        domain,
        sequence,
        export_ms: i64::from(secs) * 1000 + i64::from((nanos / 1_000_000).min(999)),
        uptime: Some(uptime),
    };
    let body = datagram.get(HEADER..).unwrap_or_default();
    let whole = body.len() / RECORD;
    let count = usize::from(count);
    for (position, record) in body.chunks_exact(RECORD).take(count).enumerate() {
        let number = u32::try_from(position).unwrap_or(u32::MAX);
        out.number(sequence.wrapping_add(number));
        let (flow, raw) = v5_record(record, &header, &out.exporter_text, engine, sampling);
        let result = flow_event(ctx, &header, &flow, raw, number, record, None);
        out.collector.record(position + 1, record, result);
    }
    if count > whole {
        let rest = body.get(whole * RECORD..).unwrap_or_default();
        out.collector.reject(
            0,
            rest,
            format!("the header counts {count} flows but the datagram holds {whole}: truncated"),
        );
    } else if body.len() > count * RECORD {
        let rest = body.get(count * RECORD..).unwrap_or_default();
        out.collector.reject(
            0,
            rest,
            format!(
                "{} bytes after the {count} flows the header counts",
                rest.len()
            ),
        );
    }
}

/// One v5 record: the flow, and `raw` with the IPFIX names of its fields.
fn v5_record(
    record: &[u8],
    header: &Header,
    exporter: &str,
    engine: [u8; 4],
    sampling: u16,
) -> (Flow, Entries) {
    let byte = |at: usize| record.get(at).copied().unwrap_or(0);
    let word = |at: usize| be16(record, at).unwrap_or(0);
    let long = |at: usize| be32(record, at).unwrap_or(0);
    let v4 = |at: usize| Ipv4Addr::from(long(at));
    let (src, dst, next_hop) = (v4(0), v4(4), v4(8));
    let flow = Flow {
        src: Some(IpAddr::V4(src)).filter(|a| !a.is_unspecified()),
        dst: Some(IpAddr::V4(dst)).filter(|a| !a.is_unspecified()),
        src_port: Some(word(32)),
        dst_port: Some(word(34)),
        protocol: Some(byte(38)),
        octets_delta: Some(u64::from(long(20))),
        start_uptime: Some(long(24)),
        end_uptime: Some(long(28)),
        ..Flow::default()
    };
    let [engine_type, engine_id, _, _] = engine;
    let mut raw = Vec::with_capacity(28);
    let mut put = |key: &str, value: Value| {
        raw.push((key.to_string(), value));
    };
    put("exporter", Value::String(exporter.to_string()));
    put("version", Value::from(5));
    put("domain", Value::from(header.domain));
    put("engineType", Value::from(engine_type));
    put("engineId", Value::from(engine_id));
    put("samplingAlgorithm", Value::from(sampling >> 14));
    put("samplingInterval", Value::from(sampling & 0x3fff));
    put("sourceIPv4Address", Value::String(src.to_string()));
    put("destinationIPv4Address", Value::String(dst.to_string()));
    put("ipNextHopIPv4Address", Value::String(next_hop.to_string()));
    put("ingressInterface", Value::from(word(12)));
    put("egressInterface", Value::from(word(14)));
    put("packetDeltaCount", Value::from(long(16)));
    put("octetDeltaCount", Value::from(long(20)));
    put("flowStartSysUpTime", Value::from(long(24)));
    put("flowEndSysUpTime", Value::from(long(28)));
    put("sourceTransportPort", Value::from(word(32)));
    put("destinationTransportPort", Value::from(word(34)));
    put("tcpControlBits", Value::from(byte(37)));
    put("protocolIdentifier", Value::from(byte(38)));
    put("ipClassOfService", Value::from(byte(39)));
    put("bgpSourceAsNumber", Value::from(word(40)));
    put("bgpDestinationAsNumber", Value::from(word(42)));
    put("sourceIPv4PrefixLength", Value::from(byte(44)));
    put("destinationIPv4PrefixLength", Value::from(byte(45)));
    (flow, raw)
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_be_bytes)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_be_bytes)
}

/// The `netflow` adapter: a classic pcap file of export datagrams, read with a fresh
/// [`FlowDecoder`], each UDP payload from its IP source. Rejections are indexed by the packet's
/// number in the file.
pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    let mut decoder = FlowDecoder::new();
    let mut batch = Batch::default();
    pcap::packets(input, |number, packet| match packet {
        Packet::Udp { source, payload } => {
            let part = decoder.decode(source, payload, ctx);
            batch.events.extend(part.events);
            batch
                .rejected
                .extend(part.rejected.into_iter().map(|mut rejected| {
                    rejected.index = number;
                    rejected
                }));
            batch.skipped += part.skipped;
            for (reason, count) in part.skip_reasons {
                *batch.skip_reasons.entry(reason).or_default() += count;
            }
            batch.sequences.extend(part.sequences);
        }
        Packet::Skip(reason) => {
            batch.skipped += 1;
            *batch.skip_reasons.entry(reason.to_string()).or_default() += 1;
        }
        Packet::Reject { raw, reason } => batch.rejected.push(Rejected {
            index: number,
            raw: raw.get(..MAX_REJECTED_RAW_BYTES).unwrap_or(raw).to_vec(),
            reason,
        }),
    });
    batch
}
