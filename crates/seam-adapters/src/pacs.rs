//! Physical access control exports read through a field mapping kept in a TOML file: which
//! column (CSV) or JSON pointer holds the time, the event code, the badge, the door, …, and a
//! code table from the vendor's codes to Seam's activities. Mappings are data, not code: the
//! built-in ones ship under `mappings/` and are compiled into the binary; a site's own is
//! loaded with [`PacsMapping::from_toml`], every problem reported at `file:line:column`.
//!
//! ```toml
//! name = "sia"
//! format = "csv"                    # or "json"
//! code_match = "exact"              # or "prefix": the longest key the code starts with
//! unmapped = "skip"                 # or "reject": records whose code is not in the table
//!
//! [csv]
//! delimiter = ","
//! header = true                     # the first record names the columns
//!
//! [time]
//! field = "Time"                    # a column, a JSON pointer, ["a", "b"] (the first
//! format = "%Y-%m-%d %H:%M:%S"      # present) or { join = ["Date", "Time"] }; format is
//! timezone = "Europe/Amsterdam"     # rfc3339, epoch_s, epoch_ms or a strftime pattern
//!
//! [fields]
//! code = "Code"
//! badge = "User"
//!
//! [codes]
//! DG = "granted"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use seam_model::{Activity, Event, EventClass};

use crate::common::{self, Collector, Read, RecordResult};
use crate::{Batch, MAX_RECORD_BYTES, ParseContext, csv, timefmt};

/// The mappings built into Seam: (name, TOML text). `pacs-<name>` selects one.
pub const BUILTIN: &[(&str, &str)] = &[
    ("onvif", include_str!("../mappings/onvif.toml")),
    ("sia", include_str!("../mappings/sia.toml")),
    ("verkada", include_str!("../mappings/verkada.toml")),
    ("report-csv", include_str!("../mappings/report-csv.toml")),
];

/// A problem in a mapping file, at its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    pub path: String,
    /// 1-based line and column (in characters), when the problem has a place.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for MappingError {}

// ------------------------------------------------------------------------------- the file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    format: Spanned<String>,
    #[serde(default)]
    code_match: Option<Spanned<String>>,
    #[serde(default)]
    unmapped: Option<Spanned<String>>,
    #[serde(default)]
    csv: Option<RawCsv>,
    #[serde(default)]
    json: Option<RawJson>,
    time: RawTime,
    fields: RawFields,
    codes: Spanned<BTreeMap<String, Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
    #[serde(default)]
    header: Option<bool>,
    #[serde(default)]
    columns: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    #[serde(default)]
    records: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTime {
    field: Spanned<RawField>,
    format: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    code: Spanned<RawField>,
    #[serde(default)]
    uid: Option<Spanned<RawField>>,
    #[serde(default)]
    badge: Option<Spanned<RawField>>,
    #[serde(default)]
    door: Option<Spanned<RawField>>,
    #[serde(default)]
    reader: Option<Spanned<RawField>>,
    #[serde(default)]
    zone: Option<Spanned<RawField>>,
    #[serde(default)]
    site: Option<Spanned<RawField>>,
    #[serde(default)]
    asset: Option<Spanned<RawField>>,
    #[serde(default)]
    reason: Option<Spanned<RawField>>,
    #[serde(default)]
    user: Option<Spanned<RawField>>,
    #[serde(default)]
    count: Option<Spanned<RawField>>,
}

/// A field reference as written: one name, a list (the first present), or a join.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawField {
    One(String),
    First(Vec<String>),
    Join(RawJoin),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJoin {
    join: Vec<String>,
    #[serde(default)]
    separator: Option<String>,
}

// ------------------------------------------------------------------------------- compiled

/// A checked mapping, ready to read exports.
#[derive(Clone, Debug)]
pub struct PacsMapping {
    name: String,
    endpoint: String,
    description: Option<String>,
    format: Format,
    time: TimeSpec,
    fields: Fields,
    /// Code → activity; for prefix matching, tried longest key first.
    codes: Vec<(String, Activity)>,
    prefix_match: bool,
    reject_unmapped: bool,
}

#[derive(Clone, Debug)]
enum Format {
    Csv {
        delimiter: char,
        header: bool,
        columns: Option<Vec<String>>,
    },
    Json {
        records: Vec<String>,
    },
}

/// Where one value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// A CSV column by name.
    Column(String),
    /// A CSV column by 1-based number (files without a header).
    Number(usize),
    /// A JSON pointer.
    Pointer(String),
}

#[derive(Clone, Debug)]
enum FieldSpec {
    /// The first source with a value.
    First(Vec<Source>),
    /// The values of the sources that have one, joined.
    Join(Vec<Source>, String),
}

impl FieldSpec {
    fn sources(&self) -> &[Source] {
        match self {
            FieldSpec::First(sources) | FieldSpec::Join(sources, _) => sources,
        }
    }
}

#[derive(Clone, Debug)]
struct TimeSpec {
    field: FieldSpec,
    format: TimeFormat,
    timezone: Option<TimeZone>,
}

#[derive(Clone, Debug)]
enum TimeFormat {
    Rfc3339,
    EpochSeconds,
    EpochMillis,
    Pattern(String),
}

#[derive(Clone, Debug)]
struct Fields {
    code: FieldSpec,
    uid: Option<FieldSpec>,
    badge: Option<FieldSpec>,
    door: Option<FieldSpec>,
    reader: Option<FieldSpec>,
    zone: Option<FieldSpec>,
    site: Option<FieldSpec>,
    asset: Option<FieldSpec>,
    reason: Option<FieldSpec>,
    user: Option<FieldSpec>,
    count: Option<FieldSpec>,
}

impl Fields {
    fn all(&self) -> impl Iterator<Item = &FieldSpec> {
        std::iter::once(&self.code).chain(
            [
                &self.uid,
                &self.badge,
                &self.door,
                &self.reader,
                &self.zone,
                &self.site,
                &self.asset,
                &self.reason,
                &self.user,
                &self.count,
            ]
            .into_iter()
            .flatten(),
        )
    }
}

// ------------------------------------------------------------------------------- loading

struct Loader<'a> {
    path: &'a str,
    text: &'a str,
    errors: Vec<MappingError>,
}

impl Loader<'_> {
    fn error_at(&mut self, span: Option<std::ops::Range<usize>>, message: impl Into<String>) {
        let position = span.map(|span| {
            let start = span.start.min(self.text.len());
            let before = self.text.get(..start).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |at| at + 1);
            let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
            (line, column)
        });
        self.errors.push(MappingError {
            path: self.path.to_string(),
            position,
            message: message.into(),
        });
    }

    fn error<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.error_at(Some(spanned.span()), message);
    }
}

impl PacsMapping {
    /// Reads and checks a mapping file; `path` is how errors name it.
    pub fn from_toml(path: &str, text: &str) -> Result<PacsMapping, Vec<MappingError>> {
        let mut loader = Loader {
            path,
            text,
            errors: Vec::new(),
        };
        let raw: RawMapping = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(error) => {
                let message = error.message().trim_end().trim_end_matches('.').to_string();
                loader.error_at(error.span(), message);
                return Err(loader.errors);
            }
        };
        let mapping = compile(&mut loader, raw);
        match mapping {
            Some(mapping) if loader.errors.is_empty() => Ok(mapping),
            _ => Err(loader.errors),
        }
    }

    /// A built-in mapping by name (see [`BUILTIN`]).
    pub fn builtin(name: &str) -> Option<PacsMapping> {
        let (_, text) = BUILTIN.iter().find(|(builtin, _)| *builtin == name)?;
        PacsMapping::from_toml(&format!("mappings/{name}.toml"), text).ok()
    }

    /// The mapping's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `pacs-<name>`: the ingest endpoint and the adapter name.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

fn compile(loader: &mut Loader<'_>, raw: RawMapping) -> Option<PacsMapping> {
    let name = raw.name.get_ref().clone();
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !valid_name {
        loader.error(
            &raw.name,
            format!("mapping name `{name}` must be 1-64 lowercase letters, digits, `-` or `_`"),
        );
    }
    let format = match raw.format.get_ref().as_str() {
        "csv" => {
            if raw.json.is_some() {
                loader.error(&raw.format, "a `[json]` table in a CSV mapping");
            }
            let csv = raw.csv.unwrap_or(RawCsv {
                delimiter: None,
                header: None,
                columns: None,
            });
            let delimiter = match &csv.delimiter {
                None => ',',
                Some(text) => {
                    let mut chars = text.get_ref().chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) if c != '"' && c != '\n' && c != '\r' => c,
                        _ => {
                            loader.error(
                                text,
                                "the delimiter must be one character (not a quote or line break)",
                            );
                            ','
                        }
                    }
                }
            };
            let columns = csv.columns.map(|columns| columns.into_inner());
            Format::Csv {
                delimiter,
                header: csv.header.unwrap_or(columns.is_none()),
                columns,
            }
        }
        "json" => {
            if raw.csv.is_some() {
                loader.error(&raw.format, "a `[csv]` table in a JSON mapping");
            }
            let records = match raw.json.and_then(|json| json.records) {
                None => Vec::new(),
                Some(pointer) => match pointer_keys(pointer.get_ref()) {
                    Some(keys) => keys,
                    None => {
                        loader.error(
                            &pointer,
                            "`records` must be a JSON pointer such as `/data/events`",
                        );
                        Vec::new()
                    }
                },
            };
            Format::Json { records }
        }
        other => {
            loader.error(
                &raw.format,
                format!("unknown format `{other}`: expected `csv` or `json`"),
            );
            return None;
        }
    };

    let field = |loader: &mut Loader<'_>, spec: &Spanned<RawField>| -> FieldSpec {
        compile_field(loader, spec, &format)
    };
    let time_field = field(loader, &raw.time.field);
    let time_format = match raw.time.format.get_ref().as_str() {
        "rfc3339" => TimeFormat::Rfc3339,
        "epoch_s" => TimeFormat::EpochSeconds,
        "epoch_ms" => TimeFormat::EpochMillis,
        pattern => {
            if !pattern_round_trips(pattern) {
                loader.error(
                    &raw.time.format,
                    format!("time format `{pattern}` is not `rfc3339`, `epoch_s`, `epoch_ms` or a strftime pattern with a date and a time of day"),
                );
            }
            TimeFormat::Pattern(pattern.to_string())
        }
    };
    let timezone = raw.time.timezone.as_ref().and_then(|text| {
        timefmt::zone(text.get_ref())
            .map_err(|message| loader.error(text, message))
            .ok()
    });
    let fields = &raw.fields;
    let optional = |loader: &mut Loader<'_>, spec: &Option<Spanned<RawField>>| {
        spec.as_ref()
            .map(|spec| compile_field(loader, spec, &format))
    };
    let fields = Fields {
        code: field(loader, &fields.code),
        uid: optional(loader, &fields.uid),
        badge: optional(loader, &fields.badge),
        door: optional(loader, &fields.door),
        reader: optional(loader, &fields.reader),
        zone: optional(loader, &fields.zone),
        site: optional(loader, &fields.site),
        asset: optional(loader, &fields.asset),
        reason: optional(loader, &fields.reason),
        user: optional(loader, &fields.user),
        count: optional(loader, &fields.count),
    };

    let prefix_match = match raw.code_match.as_ref().map(|m| (m, m.get_ref().as_str())) {
        None | Some((_, "exact")) => false,
        Some((_, "prefix")) => true,
        Some((spanned, other)) => {
            loader.error(
                spanned,
                format!("unknown code_match `{other}`: expected `exact` or `prefix`"),
            );
            false
        }
    };
    let reject_unmapped = match raw.unmapped.as_ref().map(|u| (u, u.get_ref().as_str())) {
        None | Some((_, "skip")) => false,
        Some((_, "reject")) => true,
        Some((spanned, other)) => {
            loader.error(
                spanned,
                format!("unknown unmapped `{other}`: expected `skip` or `reject`"),
            );
            false
        }
    };
    if raw.codes.get_ref().is_empty() {
        loader.error(&raw.codes, "the code table is empty");
    }
    let mut codes = Vec::new();
    for (code, activity) in raw.codes.get_ref() {
        match Activity::parse(activity.get_ref()) {
            Some(parsed) => codes.push((code.clone(), parsed)),
            None => {
                // A door controller's codes are door decisions, door states and device
                // states: those are the words worth listing.
                let known: Vec<&str> = Activity::ALL
                    .iter()
                    .filter(|a| {
                        EventClass::PhysicalAccess.admits(**a)
                            || EventClass::DeviceStatus.admits(**a)
                    })
                    .map(|a| a.as_str())
                    .collect();
                loader.error(
                    activity,
                    format!(
                        "unknown activity `{}` for code `{code}`; known: {}{}",
                        activity.get_ref(),
                        known.join(", "),
                        seam_model::text::did_you_mean(
                            activity.get_ref(),
                            Activity::ALL.iter().map(|a| a.as_str())
                        )
                    ),
                )
            }
        }
    }
    // Longest first, so that a prefix match finds the most specific key.
    codes.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    Some(PacsMapping {
        endpoint: format!("pacs-{name}"),
        name,
        description: raw.description,
        format,
        time: TimeSpec {
            field: time_field,
            format: time_format,
            timezone,
        },
        fields,
        codes,
        prefix_match,
        reject_unmapped,
    })
}

fn compile_field(loader: &mut Loader<'_>, spec: &Spanned<RawField>, format: &Format) -> FieldSpec {
    let (names, join) = match spec.get_ref() {
        RawField::One(name) => (vec![name.clone()], None),
        RawField::First(names) => (names.clone(), None),
        RawField::Join(join) => (
            join.join.clone(),
            Some(join.separator.clone().unwrap_or_else(|| " ".to_string())),
        ),
    };
    if names.is_empty() {
        loader.error(spec, "a field needs at least one column or pointer");
    }
    let mut sources = Vec::with_capacity(names.len());
    for name in names {
        let source = match format {
            Format::Json { .. } => {
                if name.starts_with('/') {
                    Some(Source::Pointer(name))
                } else {
                    loader.error(spec, format!("`{name}` is not a JSON pointer (it starts with `/`, as in `/data/door_id`)"));
                    None
                }
            }
            Format::Csv {
                header: false,
                columns: None,
                ..
            } => match name.parse::<usize>() {
                Ok(number) if number >= 1 => Some(Source::Number(number)),
                _ => {
                    loader.error(spec, format!("`{name}` is not a column number: without a header or `columns`, fields name columns by number from 1"));
                    None
                }
            },
            Format::Csv {
                columns: Some(columns),
                ..
            } => {
                if columns.contains(&name) {
                    Some(Source::Column(name))
                } else {
                    loader.error(spec, format!("column `{name}` is not one of `columns`"));
                    None
                }
            }
            Format::Csv { .. } => Some(Source::Column(name)),
        };
        sources.extend(source);
    }
    match join {
        Some(separator) => FieldSpec::Join(sources, separator),
        None => FieldSpec::First(sources),
    }
}

/// `/a/b~1c` → `["a", "b/c"]`.
fn pointer_keys(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|key| key.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// A pattern is usable when a date and time written with it read back.
fn pattern_round_trips(pattern: &str) -> bool {
    let Ok(sample) = jiff::civil::date(2026, 3, 2)
        .at(7, 41, 30, 0)
        .to_zoned(TimeZone::UTC)
    else {
        return false;
    };
    let Ok(text) = jiff::fmt::strtime::format(pattern, &sample) else {
        return false;
    };
    jiff::fmt::strtime::parse(pattern, &text)
        .and_then(|broken| broken.to_datetime())
        .is_ok()
}

// ------------------------------------------------------------------------------- reading

/// One record's values, by source.
trait Lookup {
    fn get(&self, source: &Source) -> Option<String>;
}

struct CsvRow<'a> {
    index: &'a BTreeMap<String, usize>,
    fields: &'a [String],
}

impl Lookup for CsvRow<'_> {
    fn get(&self, source: &Source) -> Option<String> {
        let position = match source {
            Source::Column(name) => *self.index.get(name)?,
            Source::Number(number) => number.checked_sub(1)?,
            Source::Pointer(_) => return None,
        };
        common::clean(self.fields.get(position).map(String::as_str))
    }
}

impl Lookup for Value {
    fn get(&self, source: &Source) -> Option<String> {
        match source {
            Source::Pointer(pointer) => self.pointer(pointer).and_then(common::scalar_text),
            _ => None,
        }
    }
}

fn value_of(record: &dyn Lookup, spec: &FieldSpec) -> Option<String> {
    match spec {
        FieldSpec::First(sources) => sources.iter().find_map(|source| record.get(source)),
        FieldSpec::Join(sources, separator) => {
            let parts: Vec<String> = sources
                .iter()
                .filter_map(|source| record.get(source))
                .collect();
            (!parts.is_empty()).then(|| parts.join(separator))
        }
    }
}

impl PacsMapping {
    /// Whether the export's first line names the columns (so every chunk of a file read in
    /// pieces needs it in front).
    pub fn has_header_line(&self) -> bool {
        matches!(self.format, Format::Csv { header: true, .. })
    }

    pub(crate) fn parse(&self, input: &[u8], ctx: &ParseContext) -> Batch {
        match &self.format {
            Format::Csv {
                delimiter,
                header,
                columns,
            } => self.parse_csv(input, ctx, *delimiter, *header, columns.as_deref()),
            Format::Json { records } => {
                let envelope: Vec<&str> = records.iter().map(String::as_str).collect();
                let envelopes: &[&[&str]] = if envelope.is_empty() {
                    &[]
                } else {
                    &[&envelope]
                };
                common::parse_json(input, ctx, envelopes, |value, raw| {
                    if !value.is_object() {
                        return Err("a record must be a JSON object".to_string());
                    }
                    self.event(value, value.clone(), raw, ctx)
                })
            }
        }
    }

    fn parse_csv(
        &self,
        input: &[u8],
        ctx: &ParseContext,
        delimiter: char,
        header: bool,
        columns: Option<&[String]>,
    ) -> Batch {
        let mut collector = Collector::new(ctx);
        let text = String::from_utf8_lossy(input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input));
        let mut names: Option<Vec<String>> = columns.map(<[String]>::to_vec);
        let mut missing: Vec<String> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let set_names = |names: &[String], index: &mut BTreeMap<String, usize>| {
            index.clear();
            for (position, name) in names.iter().enumerate() {
                index.entry(name.trim().to_string()).or_insert(position);
            }
        };
        if let Some(names) = &names {
            set_names(names, &mut index);
        }
        let mut expect_header = header;
        for record in csv::records(&text, delimiter) {
            let raw = record.text.as_bytes();
            if raw.len() > MAX_RECORD_BYTES {
                collector.reject_oversize(record.line, raw);
                continue;
            }
            let fields = match record.fields {
                Ok(fields) => fields,
                Err(reason) => {
                    collector.reject(record.line, raw, reason);
                    continue;
                }
            };
            if expect_header {
                expect_header = false;
                let header_names: Vec<String> =
                    fields.iter().map(|f| f.trim().to_string()).collect();
                set_names(&header_names, &mut index);
                missing = self.missing_columns(&index);
                names = Some(header_names);
                continue;
            }
            if !missing.is_empty() {
                let reason = format!(
                    "the header has no column {}",
                    missing
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                collector.reject(record.line, raw, reason);
                continue;
            }
            let mut object = Map::new();
            for (position, value) in fields.iter().enumerate() {
                let key = names
                    .as_ref()
                    .and_then(|names| names.get(position))
                    .cloned()
                    .unwrap_or_else(|| (position + 1).to_string());
                object.entry(key).or_insert(Value::String(value.clone()));
            }
            let row = CsvRow {
                index: &index,
                fields: &fields,
            };
            let result = self.event(&row, Value::Object(object), raw, ctx);
            collector.record(record.line, raw, result);
        }
        collector.finish()
    }

    fn missing_columns(&self, index: &BTreeMap<String, usize>) -> Vec<String> {
        let mut missing = Vec::new();
        for spec in std::iter::once(&self.time.field).chain(self.fields.all()) {
            for source in spec.sources() {
                if let Source::Column(name) = source
                    && !index.contains_key(name)
                    && !missing.contains(name)
                {
                    missing.push(name.clone());
                }
            }
        }
        missing
    }

    fn activity_of(&self, code: &str) -> Option<Activity> {
        if !self.prefix_match {
            return self
                .codes
                .iter()
                .find(|(key, _)| key == code)
                .map(|(_, activity)| *activity);
        }
        self.codes.iter().find_map(|(key, activity)| {
            let rest = code.strip_prefix(key.as_str())?;
            (rest.is_empty() || rest.starts_with(['/', ' '])).then_some(*activity)
        })
    }

    fn event(
        &self,
        record: &dyn Lookup,
        raw_value: Value,
        raw: &[u8],
        ctx: &ParseContext,
    ) -> RecordResult {
        let code = value_of(record, &self.fields.code).ok_or("no event code")?;
        let Some(activity) = self.activity_of(&code) else {
            if self.reject_unmapped {
                return Err(format!(
                    "code `{}` is not in the mapping's code table",
                    timefmt::shorten(&code)
                ));
            }
            return Ok(Read::Skip("a code the mapping leaves out"));
        };
        let Some(class) = EventClass::ALL
            .iter()
            .copied()
            .find(|class| class.admits(activity))
        else {
            return Err(format!("activity `{activity}` belongs to no class"));
        };
        let time_text = value_of(record, &self.time.field).ok_or("no event time")?;
        let timezone = self.time.timezone.as_ref().unwrap_or(&ctx.timezone);
        let time = match &self.time.format {
            TimeFormat::Rfc3339 => timefmt::rfc3339(&time_text)?,
            TimeFormat::EpochSeconds => timefmt::epoch_seconds_text(&time_text)?,
            TimeFormat::EpochMillis => {
                let millis: i64 = time_text.trim().parse().map_err(|_| {
                    format!(
                        "invalid epoch milliseconds `{}`",
                        timefmt::shorten(&time_text)
                    )
                })?;
                timefmt::epoch_millis(millis)?
            }
            TimeFormat::Pattern(pattern) => timefmt::pattern(pattern, &time_text, timezone)?,
        };
        let text = |spec: &Option<FieldSpec>| spec.as_ref().and_then(|spec| value_of(record, spec));
        let vendor_id = text(&self.fields.uid);
        let uid = common::uid_or_digest(vendor_id.as_deref(), &self.endpoint, raw);
        let mut event: Event = common::new_event(ctx, uid, time, class, activity);
        event.subject.badge = text(&self.fields.badge);
        event.subject.user = text(&self.fields.user);
        event.door = text(&self.fields.door);
        event.reader = text(&self.fields.reader);
        event.zone = text(&self.fields.zone);
        event.site = text(&self.fields.site);
        event.asset = text(&self.fields.asset);
        event.reason = text(&self.fields.reason);
        if let Some(count) = text(&self.fields.count) {
            let count: i64 = count.parse().map_err(|_| {
                format!("count `{}` is not a whole number", timefmt::shorten(&count))
            })?;
            event.count = Some(count);
        }
        event.raw = Some(raw_value);
        Ok(Read::Event(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::Ts;

    fn errors(text: &str) -> Vec<String> {
        PacsMapping::from_toml("site.toml", text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const MINIMAL: &str = r#"
name = "site"
format = "csv"

[time]
field = "Time"
format = "rfc3339"

[fields]
code = "Code"
badge = "Card"

[codes]
GRANT = "granted"
"#;

    #[test]
    fn every_builtin_mapping_loads_under_its_own_name() {
        for (name, text) in BUILTIN {
            let mapping = PacsMapping::from_toml(name, text)
                .unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
            assert_eq!(mapping.name(), *name);
            assert_eq!(mapping.endpoint(), format!("pacs-{name}"));
            assert!(mapping.description().is_some());
        }
    }

    #[test]
    fn syntax_errors_are_located() {
        assert_eq!(
            errors("name = \"site\"\nformat = csv\n"),
            ["site.toml:2:10: string values must be quoted, expected literal string"]
        );
    }

    #[test]
    fn missing_and_unknown_keys_are_located() {
        let text = MINIMAL.replace("badge = \"Card\"", "badges = \"Card\"");
        let found = errors(&text);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("site.toml:11:1: unknown field `badges`"),
            "{found:?}"
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_at_its_place() {
        let text = MINIMAL
            .replace("name = \"site\"", "name = \"Site HQ\"")
            .replace("format = \"rfc3339\"", "format = \"%H:%M\"")
            .replace("GRANT = \"granted\"", "GRANT = \"grant\"");
        assert_eq!(
            errors(&text),
            [
                "site.toml:2:8: mapping name `Site HQ` must be 1-64 lowercase letters, digits, `-` or `_`",
                "site.toml:7:10: time format `%H:%M` is not `rfc3339`, `epoch_s`, `epoch_ms` or a strftime pattern with a date and a time of day",
                "site.toml:14:9: unknown activity `grant` for code `GRANT`; known: granted, denied, door_used, door_not_used, forced, held_open, tamper, anti_passback, duress, request_to_exit, online, offline, config_change",
            ]
        );
    }

    #[test]
    fn json_fields_must_be_pointers_and_headerless_csv_fields_numbers() {
        let json = MINIMAL.replace("format = \"csv\"", "format = \"json\"");
        let found = errors(&json);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("`Time` is not a JSON pointer"));
        let headerless = MINIMAL.replace(
            "format = \"csv\"",
            "format = \"csv\"\n[csv]\nheader = false",
        );
        let found = errors(&headerless);
        assert!(
            found[0].contains("`Time` is not a column number"),
            "{found:?}"
        );
    }

    #[test]
    fn a_header_without_a_named_column_rejects_the_rows() {
        let mapping = PacsMapping::from_toml("site.toml", MINIMAL).unwrap();
        let ctx = ParseContext::new("pacs-site", Ts(1_772_442_000_000));
        let batch = mapping.parse(b"Time,Code\n2026-03-02T08:00:00Z,GRANT\n", &ctx);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(batch.rejected[0].reason, "the header has no column `Card`");
    }

    #[test]
    fn prefix_codes_match_at_segment_boundaries_longest_first() {
        let text = MINIMAL.replace(
            "GRANT = \"granted\"",
            "\"a/B\" = \"granted\"\n\"a/B x\" = \"denied\"",
        ) + "";
        let text = text.replace(
            "format = \"csv\"",
            "format = \"csv\"\ncode_match = \"prefix\"",
        );
        let mapping = PacsMapping::from_toml("site.toml", &text).unwrap();
        assert_eq!(mapping.activity_of("a/B"), Some(Activity::Granted));
        assert_eq!(mapping.activity_of("a/B/Card"), Some(Activity::Granted));
        assert_eq!(mapping.activity_of("a/B x"), Some(Activity::Denied));
        assert_eq!(mapping.activity_of("a/Bee"), None);
    }
}
