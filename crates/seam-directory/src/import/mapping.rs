//! The mapping file: parsed from TOML, checked, and compiled so that reading a row looks
//! fields up by number.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use jiff::tz::{Offset, TimeZone};
use serde::Deserialize;
use toml::Spanned;

use super::dates;
use super::ldif::normalize_dn;
use super::rows::IdKind;

/// The system of record an export comes from: it decides what a row means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Hr,
    Pacs,
    Ldap,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hr => "hr",
            Source::Pacs => "pacs",
            Source::Ldap => "ldap",
        }
    }
}

/// How an export is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON array of records (or one at `[json] records`).
    Json,
    /// One JSON object per line.
    Ndjson,
    Ldif,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Ldif => "ldif",
        }
    }
}

/// A problem in a mapping file, at its place: print it after the file's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingError {
    /// 1-based line and column (in characters), when the problem has a place.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{line}:{column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MappingError {}

// ------------------------------------------------------------------------------- the file

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    source: Spanned<String>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    date_format: Option<Spanned<String>>,
    person_id: Spanned<RawField>,
    #[serde(default)]
    lowercase_ids: Option<bool>,
    #[serde(default)]
    list_separator: Option<Spanned<String>>,
    #[serde(default)]
    object_classes: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    replaces: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    csv: Option<Spanned<RawCsv>>,
    #[serde(default)]
    json: Option<Spanned<RawJson>>,
    #[serde(default)]
    fields: Option<RawFields>,
    #[serde(default)]
    kind_values: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    #[serde(default)]
    status_values: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    #[serde(default)]
    access_levels: Option<Spanned<BTreeMap<String, Spanned<Vec<String>>>>>,
    #[serde(default)]
    groups: Option<Spanned<BTreeMap<String, Spanned<RawGroup>>>>,
    #[serde(default)]
    identifier: Vec<Spanned<RawIdentifier>>,
    #[serde(default)]
    card: Vec<Spanned<RawCard>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    #[serde(default)]
    records: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    #[serde(default)]
    source_ref: Option<Spanned<RawField>>,
    #[serde(default)]
    name: Option<Spanned<RawField>>,
    #[serde(default)]
    kind: Option<Spanned<RawField>>,
    #[serde(default)]
    status: Option<Spanned<RawField>>,
    #[serde(default)]
    department: Option<Spanned<RawField>>,
    #[serde(default)]
    team: Option<Spanned<RawField>>,
    #[serde(default)]
    manager: Option<Spanned<RawField>>,
    #[serde(default)]
    home_site: Option<Spanned<RawField>>,
    #[serde(default)]
    roles: Option<Spanned<RawField>>,
    #[serde(default)]
    start: Option<Spanned<RawField>>,
    #[serde(default)]
    end: Option<Spanned<RawField>>,
    #[serde(default)]
    access_levels: Option<Spanned<RawField>>,
    #[serde(default)]
    groups: Option<Spanned<RawField>>,
    #[serde(default)]
    account_control: Option<Spanned<RawField>>,
    #[serde(default)]
    account_expires: Option<Spanned<RawField>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    clearances: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentifier {
    kind: Spanned<String>,
    field: Spanned<RawField>,
    #[serde(default)]
    separator: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    number: Spanned<RawField>,
    #[serde(default)]
    separator: Option<Spanned<String>>,
    #[serde(default)]
    facility: Option<Spanned<RawField>>,
    #[serde(default)]
    template: Option<Spanned<String>>,
    #[serde(default)]
    valid_from: Option<Spanned<RawField>>,
    #[serde(default)]
    valid_until: Option<Spanned<RawField>>,
    #[serde(default)]
    status: Option<Spanned<RawField>>,
    #[serde(default)]
    list: Option<Spanned<String>>,
}

/// A field as written: one name, a list (the first present), or a join.
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

/// Where one value comes from: slots are the distinct columns, pointers or attributes the
/// mapping names, numbered, so that a row is read by number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) slots: Vec<usize>,
    /// `None`: the first slot with a value; else the values present, joined.
    pub(crate) join: Option<String>,
    /// How errors name the field: the names as the mapping writes them.
    pub(crate) label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Employee,
    Contractor,
    Visitor,
    Service,
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [
        Kind::Employee,
        Kind::Contractor,
        Kind::Visitor,
        Kind::Service,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Employee => "employee",
            Kind::Contractor => "contractor",
            Kind::Visitor => "visitor",
            Kind::Service => "service",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Suspended,
    Terminated,
    /// PACS: the cards end; the person's status is not stated (a lost or stolen card).
    Void,
    /// PACS: the cards hold; the person's status is not stated (the access-control system
    /// is not the system of record for employment).
    Valid,
}

impl Status {
    pub(crate) const ALL: [Status; 5] = [
        Status::Active,
        Status::Suspended,
        Status::Terminated,
        Status::Void,
        Status::Valid,
    ];

    /// Whether the word is for cards only (PACS).
    pub(crate) fn cards_only(self) -> bool {
        matches!(self, Status::Void | Status::Valid)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
            Status::Void => "void",
            Status::Valid => "valid",
        }
    }
}

/// A source value mapped to a Seam word, or to skipping the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mapped<T> {
    To(T),
    Skip,
}

/// A table from source values: exact first, then ignoring case.
#[derive(Clone, Debug)]
pub(crate) struct Table<T> {
    exact: HashMap<String, T>,
    folded: HashMap<String, T>,
    keys: Vec<String>,
}

impl<T: Clone> Table<T> {
    pub(crate) fn get(&self, value: &str) -> Option<&T> {
        self.exact
            .get(value)
            .or_else(|| self.folded.get(&value.to_lowercase()))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

/// What membership of a group grants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) roles: Vec<String>,
    pub(crate) clearances: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct IdentifierSpec {
    pub(crate) kind: IdKind,
    pub(crate) field: Field,
    pub(crate) separator: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TemplatePart {
    Text(String),
    Card,
    Facility,
}

#[derive(Clone, Debug)]
pub(crate) struct CardSpec {
    pub(crate) number: Field,
    pub(crate) separator: Option<String>,
    pub(crate) facility: Option<Field>,
    pub(crate) template: Vec<TemplatePart>,
    pub(crate) valid_from: Option<Field>,
    pub(crate) valid_until: Option<Field>,
    pub(crate) status: Option<Field>,
    /// JSON: the pointer of an array of card objects; the fields above are read in each.
    pub(crate) list: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    pub(crate) source_ref: Option<Field>,
    pub(crate) name: Option<Field>,
    pub(crate) kind: Option<Field>,
    pub(crate) status: Option<Field>,
    pub(crate) department: Option<Field>,
    pub(crate) team: Option<Field>,
    pub(crate) manager: Option<Field>,
    pub(crate) home_site: Option<Field>,
    pub(crate) roles: Option<Field>,
    pub(crate) start: Option<Field>,
    pub(crate) end: Option<Field>,
    pub(crate) access_levels: Option<Field>,
    pub(crate) groups: Option<Field>,
    pub(crate) account_control: Option<Field>,
    pub(crate) account_expires: Option<Field>,
}

/// A checked mapping, ready to read exports.
#[derive(Clone, Debug)]
pub struct ImportMapping {
    pub(crate) source: Source,
    pub(crate) format: Format,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) timezone: TimeZone,
    pub(crate) date_format: Option<String>,
    pub(crate) delimiter: u8,
    /// JSON: the pointer's reference tokens to the array of records.
    pub(crate) records: Vec<String>,
    pub(crate) lowercase_ids: bool,
    pub(crate) list_separator: String,
    /// LDAP: lowercase; empty for no filter.
    pub(crate) object_classes: Vec<String>,
    pub(crate) replaces: Vec<IdKind>,
    /// The slots' names: columns, JSON pointers, or lowercase LDAP attribute names.
    pub(crate) slots: Vec<String>,
    pub(crate) person_id: Field,
    pub(crate) fields: Fields,
    pub(crate) kind_values: Option<Table<Mapped<Kind>>>,
    pub(crate) status_values: Option<Table<Mapped<Status>>>,
    pub(crate) access_levels: Option<Table<Vec<String>>>,
    /// LDAP: lowercase group CNs and normalized DNs → grants.
    pub(crate) groups: HashMap<String, Grant>,
    pub(crate) groups_grant_roles: bool,
    pub(crate) groups_grant_clearances: bool,
    pub(crate) identifiers: Vec<IdentifierSpec>,
    pub(crate) cards: Vec<CardSpec>,
}

impl ImportMapping {
    /// Reads and checks a mapping file; every problem found is returned, each at its place.
    pub fn from_toml(text: &str) -> Result<ImportMapping, Vec<MappingError>> {
        let mut loader = Loader {
            text,
            errors: Vec::new(),
            slots: Vec::new(),
            slot_index: HashMap::new(),
        };
        let raw: RawMapping = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(error) => {
                let mut message = error.message().trim_end().trim_end_matches('.').to_string();
                if message.contains("untagged enum RawField") {
                    // serde's words for a value none of the field forms reads.
                    message = "a field is a name (\"email\"), a list of names of which the first present is read ([\"displayName\", \"cn\"]), or { join = [names], separator = \" \" }".to_string();
                }
                loader.error_at(error.span(), message);
                return Err(loader.errors);
            }
        };
        match compile(&mut loader, raw) {
            Some(mapping) if loader.errors.is_empty() => Ok(mapping),
            _ => Err(loader.errors),
        }
    }

    pub fn source(&self) -> Source {
        self.source
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

// ------------------------------------------------------------------------------- loading

struct Loader<'a> {
    text: &'a str,
    errors: Vec<MappingError>,
    slots: Vec<String>,
    slot_index: HashMap<String, usize>,
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
            position,
            message: message.into(),
        });
    }

    fn error<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.error_at(Some(spanned.span()), message);
    }

    fn slot(&mut self, name: String) -> usize {
        if let Some(slot) = self.slot_index.get(&name) {
            return *slot;
        }
        let slot = self.slots.len();
        self.slot_index.insert(name.clone(), slot);
        self.slots.push(name);
        slot
    }
}

fn compile(loader: &mut Loader<'_>, raw: RawMapping) -> Option<ImportMapping> {
    let source = match raw.source.get_ref().as_str() {
        "hr" => Source::Hr,
        "pacs" => Source::Pacs,
        "ldap" => Source::Ldap,
        other => {
            loader.error(
                &raw.source,
                format!("unknown source `{other}`: expected `hr`, `pacs` or `ldap`"),
            );
            return None;
        }
    };
    let format = match raw.format.as_ref().map(|f| (f, f.get_ref().as_str())) {
        None if source == Source::Ldap => Format::Ldif,
        None => Format::Csv,
        Some((_, "csv")) => Format::Csv,
        Some((_, "json")) => Format::Json,
        Some((_, "ndjson")) => Format::Ndjson,
        Some((_, "ldif")) => Format::Ldif,
        Some((spanned, other)) => {
            loader.error(
                spanned,
                format!("unknown format `{other}`: expected `csv`, `json`, `ndjson` or `ldif`"),
            );
            return None;
        }
    };
    if (source == Source::Ldap) != (format == Format::Ldif) {
        let message = if source == Source::Ldap {
            "an ldap source is read from `ldif`"
        } else {
            "`ldif` is read by an `ldap` source"
        };
        match &raw.format {
            Some(spanned) => loader.error(spanned, message),
            None => loader.error(&raw.source, message),
        }
        return None;
    }

    let timezone = match &raw.timezone {
        None => TimeZone::UTC,
        Some(text) => zone(text.get_ref()).unwrap_or_else(|message| {
            loader.error(text, message);
            TimeZone::UTC
        }),
    };
    let date_format = raw.date_format.as_ref().map(|pattern| {
        if !dates::pattern_reads_dates(pattern.get_ref()) {
            loader.error(
                pattern,
                format!(
                    "`date_format` `{}` does not read back a date it writes: expected a strftime pattern with a year, month and day, such as `%d.%m.%Y`",
                    pattern.get_ref()
                ),
            );
        }
        pattern.get_ref().clone()
    });

    let delimiter = match &raw.csv {
        Some(csv) if format != Format::Csv => {
            loader.error(
                csv,
                "a `[csv]` table in a mapping whose format is not `csv`",
            );
            b','
        }
        Some(csv) => match &csv.get_ref().delimiter {
            None => b',',
            Some(text) => match text.get_ref().as_bytes() {
                [byte] if byte.is_ascii() && !matches!(byte, b'"' | b'\n' | b'\r') => *byte,
                _ => {
                    loader.error(
                        text,
                        "the delimiter must be one ASCII character (not a quote or line break), such as `,`, `;`, `|` or `\\t`",
                    );
                    b','
                }
            },
        },
        None => b',',
    };
    let records = match &raw.json {
        Some(json) if format != Format::Json => {
            loader.error(
                json,
                "a `[json]` table in a mapping whose format is not `json`",
            );
            Vec::new()
        }
        Some(json) => match &json.get_ref().records {
            None => Vec::new(),
            Some(pointer) => pointer_tokens(pointer.get_ref()).unwrap_or_else(|| {
                loader.error(
                    pointer,
                    "`records` must be a JSON pointer such as `/cardholders`",
                );
                Vec::new()
            }),
        },
        None => Vec::new(),
    };

    let list_separator = match &raw.list_separator {
        None => ";".to_string(),
        Some(text) if text.get_ref().is_empty() => {
            loader.error(text, "the list separator is empty");
            ";".to_string()
        }
        Some(text) => text.get_ref().clone(),
    };

    let person_id = field(loader, &raw.person_id, format, "person_id");
    let raw_fields = raw.fields.unwrap_or_default();
    let mut fields = Fields::default();
    {
        let one = |loader: &mut Loader<'_>,
                   spec: &Option<Spanned<RawField>>,
                   key: &str,
                   allowed: &[Source]|
         -> Option<Field> {
            let spec = spec.as_ref()?;
            if !allowed.contains(&source) {
                let sources: Vec<String> = allowed
                    .iter()
                    .map(|s| format!("`{}`", s.as_str()))
                    .collect();
                loader.error(
                    spec,
                    format!(
                        "`fields.{key}` is read for {} sources only, not `{}`",
                        sources.join(" and "),
                        source.as_str()
                    ),
                );
                return None;
            }
            field(loader, spec, format, &format!("fields.{key}"))
        };
        let all = [Source::Hr, Source::Pacs, Source::Ldap];
        fields.source_ref = one(loader, &raw_fields.source_ref, "source_ref", &all);
        fields.name = one(loader, &raw_fields.name, "name", &all);
        fields.kind = one(loader, &raw_fields.kind, "kind", &all);
        fields.status = one(loader, &raw_fields.status, "status", &all);
        fields.department = one(loader, &raw_fields.department, "department", &all);
        fields.team = one(loader, &raw_fields.team, "team", &all);
        fields.manager = one(loader, &raw_fields.manager, "manager", &all);
        fields.home_site = one(loader, &raw_fields.home_site, "home_site", &all);
        fields.roles = one(loader, &raw_fields.roles, "roles", &all);
        fields.start = one(loader, &raw_fields.start, "start", &[Source::Hr]);
        fields.end = one(loader, &raw_fields.end, "end", &[Source::Hr]);
        fields.access_levels = one(
            loader,
            &raw_fields.access_levels,
            "access_levels",
            &[Source::Pacs],
        );
        fields.groups = one(loader, &raw_fields.groups, "groups", &[Source::Ldap]);
        fields.account_control = one(
            loader,
            &raw_fields.account_control,
            "account_control",
            &[Source::Ldap],
        );
        fields.account_expires = one(
            loader,
            &raw_fields.account_expires,
            "account_expires",
            &[Source::Ldap],
        );
    }
    if source == Source::Ldap {
        // Active Directory's names, so that an AD export needs no `[fields]` for them; an
        // export without these attributes simply has no values there.
        let mut default = |name: &str| {
            let slot = loader.slot(name.to_ascii_lowercase());
            Some(Field {
                slots: vec![slot],
                join: None,
                label: name.to_string(),
            })
        };
        if fields.groups.is_none() {
            fields.groups = default("memberOf");
        }
        if fields.account_control.is_none() {
            fields.account_control = default("userAccountControl");
        }
        if fields.account_expires.is_none() {
            fields.account_expires = default("accountExpires");
        }
        // The filter reads it on every entry.
        loader.slot("objectclass".to_string());
    }

    let kind_values = raw.kind_values.as_ref().map(|table| {
        value_table(loader, table, "kind_values", "kind", |word| {
            if word == "skip" {
                return Ok(Mapped::Skip);
            }
            Kind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == word)
                .map(Mapped::To)
                .ok_or_else(|| {
                    "expected `employee`, `contractor`, `visitor`, `service` or `skip`".to_string()
                })
        })
    });
    let status_values = raw.status_values.as_ref().map(|table| {
        value_table(loader, table, "status_values", "status", |word| {
            if word == "skip" {
                return Ok(Mapped::Skip);
            }
            match Status::ALL.into_iter().find(|status| status.as_str() == word) {
                Some(status) if status.cards_only() && source != Source::Pacs => Err(format!(
                    "`{}` (for cards, not the person) is for pacs sources; expected `active`, `suspended`, `terminated` or `skip`",
                    status.as_str()
                )),
                Some(status) => Ok(Mapped::To(status)),
                None if source == Source::Pacs => Err(
                    "expected `active`, `suspended`, `terminated`, `valid`, `void` or `skip`"
                        .to_string(),
                ),
                None => Err("expected `active`, `suspended`, `terminated` or `skip`".to_string()),
            }
        })
    });
    if let Some(table) = &raw.kind_values
        && fields.kind.is_none()
    {
        loader.error(
            table,
            "`[kind_values]` without `fields.kind` to read them from",
        );
    }
    if let Some(table) = &raw.status_values
        && fields.status.is_none()
        && !raw.card.iter().any(|card| card.get_ref().status.is_some())
    {
        loader.error(
            table,
            "`[status_values]` without a status field (`fields.status`, or a card's `status`) to read them from",
        );
    }

    let access_levels = match (&raw.access_levels, &fields.access_levels) {
        (Some(table), _) if source != Source::Pacs => {
            loader.error(table, "`[access_levels]` is read for pacs sources only");
            None
        }
        (Some(table), None) => {
            loader.error(
                table,
                "`[access_levels]` without `fields.access_levels` to read them from",
            );
            None
        }
        (None, Some(_)) => {
            loader.error_at(
                raw_fields.access_levels.as_ref().map(Spanned::span),
                "`fields.access_levels` without an `[access_levels]` table of the zones each grants",
            );
            None
        }
        (Some(table), Some(_)) => Some(value_table(
            loader,
            table,
            "access_levels",
            "access level",
            |zones| match zones.iter().find(|zone| zone.trim().is_empty()) {
                Some(_) => Err("a zone id is empty".to_string()),
                None => Ok(zones.iter().map(|zone| zone.trim().to_string()).collect()),
            },
        )),
        (None, None) => None,
    };

    let mut groups = HashMap::new();
    let mut groups_grant_roles = false;
    let mut groups_grant_clearances = false;
    if let Some(table) = &raw.groups {
        if source != Source::Ldap {
            loader.error(table, "`[groups]` is read for ldap sources only");
        }
        for (name, grant) in table.get_ref() {
            let grant_ref = grant.get_ref();
            let key = if name.contains('=') {
                normalize_dn(name)
            } else {
                name.trim().to_lowercase()
            };
            if key.is_empty() {
                loader.error(grant, "a group name is empty");
                continue;
            }
            if grant_ref
                .roles
                .iter()
                .chain(&grant_ref.clearances)
                .any(|value| value.trim().is_empty())
            {
                loader.error(
                    grant,
                    format!("group `{name}` grants an empty role or zone"),
                );
            }
            groups_grant_roles |= !grant_ref.roles.is_empty();
            groups_grant_clearances |= !grant_ref.clearances.is_empty();
            let grant_value = Grant {
                roles: grant_ref
                    .roles
                    .iter()
                    .map(|r| r.trim().to_string())
                    .collect(),
                clearances: grant_ref
                    .clearances
                    .iter()
                    .map(|z| z.trim().to_string())
                    .collect(),
            };
            if groups.insert(key, grant_value).is_some() {
                loader.error(
                    grant,
                    format!("group `{name}` is listed twice (names compare ignoring case)"),
                );
            }
        }
    }

    let object_classes = match &raw.object_classes {
        Some(classes) if source != Source::Ldap => {
            loader.error(classes, "`object_classes` is read for ldap sources only");
            Vec::new()
        }
        Some(classes) => classes
            .get_ref()
            .iter()
            .map(|class| class.trim().to_ascii_lowercase())
            .collect(),
        None if source == Source::Ldap => vec!["user".to_string(), "person".to_string()],
        None => Vec::new(),
    };

    let mut identifiers = Vec::new();
    for spec in &raw.identifier {
        let spec_ref = spec.get_ref();
        let Some(kind) = IdKind::parse(spec_ref.kind.get_ref()) else {
            loader.error(
                &spec_ref.kind,
                format!(
                    "unknown identifier kind `{}`: expected one of {}{}",
                    spec_ref.kind.get_ref(),
                    IdKind::ALL
                        .iter()
                        .map(|kind| format!("`{}`", kind.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    seam_model::text::did_you_mean(
                        spec_ref.kind.get_ref(),
                        IdKind::ALL.iter().map(|kind| kind.as_str())
                    )
                ),
            );
            continue;
        };
        let separator = separator(loader, &spec_ref.separator);
        if let Some(field) = field(loader, &spec_ref.field, format, "identifier.field") {
            identifiers.push(IdentifierSpec {
                kind,
                field,
                separator,
            });
        }
    }

    let mut cards = Vec::new();
    match (source, raw.card.first()) {
        (Source::Pacs, None) => loader.error(
            &raw.source,
            "a pacs mapping needs at least one `[[card]]`: the export states the badges",
        ),
        (Source::Pacs, Some(_)) => {
            for spec in &raw.card {
                if let Some(card) = card(loader, spec, format) {
                    cards.push(card);
                }
            }
        }
        (_, Some(spec)) => loader.error(spec, "`[[card]]` is read for pacs sources only"),
        (_, None) => {}
    }

    let mut replaces = Vec::new();
    if source == Source::Pacs {
        replaces.push(IdKind::Badge);
    }
    for kind in raw.replaces.iter().flatten() {
        match IdKind::parse(kind.get_ref()) {
            Some(parsed) if identifiers.iter().any(|spec| spec.kind == parsed) => {
                if !replaces.contains(&parsed) {
                    replaces.push(parsed);
                }
            }
            Some(IdKind::Badge) if source == Source::Pacs => {}
            Some(_) => loader.error(
                kind,
                format!(
                    "`replaces` names `{}`, which no `[[identifier]]` reads: an export can state completely only what it maps",
                    kind.get_ref()
                ),
            ),
            None => loader.error(
                kind,
                format!("unknown identifier kind `{}` in `replaces`", kind.get_ref()),
            ),
        }
    }

    let person_id = person_id?;
    Some(ImportMapping {
        source,
        format,
        name: raw.name,
        description: raw.description,
        timezone,
        date_format,
        delimiter,
        records,
        lowercase_ids: raw.lowercase_ids.unwrap_or(false),
        list_separator,
        object_classes,
        replaces,
        slots: std::mem::take(&mut loader.slots),
        person_id,
        fields,
        kind_values,
        status_values,
        access_levels,
        groups,
        groups_grant_roles,
        groups_grant_clearances,
        identifiers,
        cards,
    })
}

fn field(
    loader: &mut Loader<'_>,
    spec: &Spanned<RawField>,
    format: Format,
    key: &str,
) -> Option<Field> {
    let (names, join) = match spec.get_ref() {
        RawField::One(name) => (vec![name.clone()], None),
        RawField::First(names) => (names.clone(), None),
        RawField::Join(join) => (
            join.join.clone(),
            Some(join.separator.clone().unwrap_or_else(|| " ".to_string())),
        ),
    };
    if names.is_empty() {
        loader.error(
            spec,
            format!("`{key}` needs at least one column, pointer or attribute"),
        );
        return None;
    }
    let mut slots = Vec::with_capacity(names.len());
    let mut ok = true;
    for name in &names {
        let checked = match format {
            Format::Csv if name.trim().is_empty() => Err("a column name is empty".to_string()),
            Format::Csv => Ok(name.trim().to_string()),
            Format::Json | Format::Ndjson => {
                if name.starts_with('/') {
                    Ok(name.clone())
                } else {
                    Err(format!(
                        "`{name}` is not a JSON pointer: it starts with `/`, as in `/{name}`"
                    ))
                }
            }
            Format::Ldif => {
                let valid = name
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if valid {
                    Ok(name.to_ascii_lowercase())
                } else {
                    Err(format!(
                        "`{name}` is not an attribute name: letters, digits and `-`, such as `sAMAccountName`"
                    ))
                }
            }
        };
        match checked {
            Ok(key) => slots.push(loader.slot(key)),
            Err(message) => {
                loader.error(spec, format!("`{key}`: {message}"));
                ok = false;
            }
        }
    }
    let label = match &join {
        Some(_) => names.join("+"),
        None => names.join("|"),
    };
    ok.then_some(Field { slots, join, label })
}

fn separator(loader: &mut Loader<'_>, text: &Option<Spanned<String>>) -> Option<String> {
    let text = text.as_ref()?;
    if text.get_ref().is_empty() {
        loader.error(text, "the separator is empty");
        return None;
    }
    Some(text.get_ref().clone())
}

fn card(loader: &mut Loader<'_>, spec: &Spanned<RawCard>, format: Format) -> Option<CardSpec> {
    let raw = spec.get_ref();
    let list = match &raw.list {
        None => None,
        Some(pointer) if format != Format::Json && format != Format::Ndjson => {
            loader.error(
                pointer,
                "a card `list` is a JSON pointer: for json and ndjson only",
            );
            None
        }
        Some(pointer) if pointer.get_ref().starts_with('/') => Some(pointer.get_ref().clone()),
        Some(pointer) => {
            loader.error(
                pointer,
                "a card `list` must be a JSON pointer such as `/cards`",
            );
            None
        }
    };
    let optional = |loader: &mut Loader<'_>, spec: &Option<Spanned<RawField>>, key: &str| {
        spec.as_ref()
            .and_then(|spec| field(loader, spec, format, &format!("card.{key}")))
    };
    let number = field(loader, &raw.number, format, "card.number");
    let facility = optional(loader, &raw.facility, "facility");
    let valid_from = optional(loader, &raw.valid_from, "valid_from");
    let valid_until = optional(loader, &raw.valid_until, "valid_until");
    let status = optional(loader, &raw.status, "status");
    let separator = separator(loader, &raw.separator);
    let template = match &raw.template {
        None => vec![TemplatePart::Card],
        Some(text) => match template(text.get_ref()) {
            Ok(parts) => parts,
            Err(message) => {
                loader.error(text, message);
                vec![TemplatePart::Card]
            }
        },
    };
    let uses_facility = template.contains(&TemplatePart::Facility);
    match (&raw.facility, uses_facility) {
        (Some(facility), false) => loader.error(
            facility,
            "the facility code is read but the template does not use it: write `template = \"{facility}:{card}\"`",
        ),
        (None, true) => loader.error_at(
            Some(raw.template.as_ref().map_or(raw.number.span(), Spanned::span)),
            "the template uses `{facility}` but the card has no `facility` field",
        ),
        _ => {}
    }
    Some(CardSpec {
        number: number?,
        separator,
        facility,
        template,
        valid_from,
        valid_until,
        status,
        list,
    })
}

/// `{facility}:{card}` → its parts; `{card}` must appear.
fn template(text: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let literal = rest.get(..open).unwrap_or_default();
        if literal.contains('}') {
            return Err(format!("template `{text}` has a `}}` without its `{{`"));
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(literal.to_string()));
        }
        let after = rest.get(open + 1..).unwrap_or_default();
        let close = after
            .find('}')
            .ok_or_else(|| format!("template `{text}` has a `{{` without its `}}`"))?;
        match after.get(..close).unwrap_or_default() {
            "card" => parts.push(TemplatePart::Card),
            "facility" => parts.push(TemplatePart::Facility),
            other => {
                return Err(format!(
                    "unknown placeholder `{{{other}}}` in template `{text}`: expected `{{card}}` or `{{facility}}`"
                ));
            }
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err(format!("template `{text}` has a `}}` without its `{{`"));
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    if !parts.contains(&TemplatePart::Card) {
        return Err(format!("template `{text}` does not use `{{card}}`"));
    }
    Ok(parts)
}

fn value_table<R, T: Clone>(
    loader: &mut Loader<'_>,
    table: &Spanned<BTreeMap<String, Spanned<R>>>,
    table_name: &str,
    what: &str,
    mut read: impl FnMut(&R) -> Result<T, String>,
) -> Table<T>
where
    R: fmt::Debug + WordLike,
{
    let mut out = Table {
        exact: HashMap::new(),
        folded: HashMap::new(),
        keys: Vec::new(),
    };
    let mut folded_from: HashMap<String, String> = HashMap::new();
    for (key, value) in table.get_ref() {
        // Rows' values are read trimmed.
        let key = key.trim();
        match read(value.get_ref()) {
            Ok(mapped) => {
                let folded = key.to_lowercase();
                if let Some(other) = folded_from.get(&folded) {
                    loader.error(
                        value,
                        format!("{what} `{key}` and `{other}` in `[{table_name}]` differ only in case: values compare ignoring case"),
                    );
                    continue;
                }
                folded_from.insert(folded.clone(), key.to_string());
                out.exact.insert(key.to_string(), mapped.clone());
                out.folded.insert(folded, mapped);
                out.keys.push(key.to_string());
            }
            Err(expected) => {
                let word = value.get_ref().word();
                loader.error(
                    value,
                    format!("unknown {what} {word}for `{key}` in `[{table_name}]`: {expected}"),
                );
            }
        }
    }
    out
}

/// How a table's value is named in an error.
trait WordLike {
    fn word(&self) -> String;
}

impl WordLike for String {
    fn word(&self) -> String {
        format!("`{self}` ")
    }
}

impl WordLike for Vec<String> {
    fn word(&self) -> String {
        String::new()
    }
}

/// A time zone by IANA name (`Europe/Amsterdam`), `UTC`, or a fixed offset (`+01:00`).
fn zone(text: &str) -> Result<TimeZone, String> {
    let text = text.trim();
    if let Some(offset) = fixed_offset(text) {
        return Ok(TimeZone::fixed(offset));
    }
    TimeZone::get(text).map_err(|_| {
        format!("unknown time zone `{text}` in `timezone`: expected an IANA name such as `Europe/Amsterdam`, `UTC` or an offset such as `+01:00`")
    })
}

fn fixed_offset(text: &str) -> Option<Offset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..)?.parse().ok()?;
    if hours > 18 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// `/a/b~1c` → `["a", "b/c"]`; the empty pointer is the whole document.
fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match ImportMapping::from_toml(text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn templates() {
        assert_eq!(template("{card}"), Ok(vec![TemplatePart::Card]));
        assert_eq!(
            template("{facility}:{card}"),
            Ok(vec![
                TemplatePart::Facility,
                TemplatePart::Text(":".into()),
                TemplatePart::Card
            ])
        );
        assert!(template("{facility}").is_err());
        assert!(template("{card").is_err());
        assert!(template("card}").is_err());
        assert!(template("{number}").is_err());
    }

    #[test]
    fn unknown_keys_and_values_are_located() {
        let text = "source = \"hr\"\nperson_id = \"id\"\ncolour = \"red\"\n";
        let found = errors(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("3:1: unknown field `colour`"),
            "{found:?}"
        );

        let text = "source = \"hr\"\nperson_id = \"id\"\ntimezone = \"Europe/Amsterdm\"\n\n[[identifier]]\nkind = \"badg\"\nfield = \"b\"\n[kind_values]\nFT = \"employe\"\n";
        let found = errors(text);
        assert!(
            found
                .iter()
                .any(|e| e.starts_with("3:12: unknown time zone `Europe/Amsterdm` in `timezone`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|e| e.starts_with("6:8: unknown identifier kind `badg`")
                    && e.ends_with("did you mean `badge`?")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|e| e.starts_with("9:6: unknown kind `employe` for `FT` in `[kind_values]`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|e| e.contains("`[kind_values]` without `fields.kind`")),
            "{found:?}"
        );
    }

    #[test]
    fn fields_belong_to_their_sources() {
        let found = errors(
            "source = \"ldap\"\nperson_id = \"sAMAccountName\"\n[fields]\nstart = \"whenCreated\"\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`fields.start` is read for `hr` sources only"),
            "{found:?}"
        );
        let found = errors("source = \"pacs\"\nperson_id = \"Id\"\n");
        assert!(found[0].contains("at least one `[[card]]`"), "{found:?}");
        let found = errors("source = \"hr\"\nformat = \"ldif\"\nperson_id = \"x\"\n");
        assert!(
            found[0].contains("`ldif` is read by an `ldap` source"),
            "{found:?}"
        );
        let found = errors(
            "source = \"pacs\"\nformat = \"json\"\nperson_id = \"id\"\n[[card]]\nnumber = \"/cards\"\n",
        );
        assert!(
            found[0].contains("`person_id`: `id` is not a JSON pointer"),
            "{found:?}"
        );
        let found = errors(
            "source = \"hr\"\nperson_id = \"x\"\n[status_values]\nLost = \"void\"\n[fields]\nstatus = \"s\"\n",
        );
        assert!(found[0].contains("`void`"), "{found:?}");
    }

    #[test]
    fn field_forms() {
        let found = errors("source = \"hr\"\nperson_id = { join = [\"a\"], sep = \" \" }\n");
        assert!(found[0].starts_with("2:13: a field is a name"), "{found:?}");
        let mapping = ImportMapping::from_toml(
            "source = \"hr\"\nperson_id = \"id\"\n[fields]\nname = { join = [\"first\", \"last\"] }\nteam = [\"team\", \"unit\"]\n",
        )
        .unwrap();
        assert_eq!(mapping.slots, ["id", "first", "last", "team", "unit"]);
        let name = mapping.fields.name.unwrap();
        assert_eq!(
            (name.label.as_str(), name.join.as_deref()),
            ("first+last", Some(" "))
        );
        assert_eq!(mapping.fields.team.unwrap().label, "team|unit");
    }

    #[test]
    fn card_templates_and_facilities_agree() {
        let found = errors(
            "source = \"pacs\"\nperson_id = \"Id\"\n[[card]]\nnumber = \"Card\"\nfacility = \"Fac\"\n",
        );
        assert!(found[0].contains("does not use it"), "{found:?}");
        let found = errors(
            "source = \"pacs\"\nperson_id = \"Id\"\n[[card]]\nnumber = \"Card\"\ntemplate = \"{facility}-{card}\"\n",
        );
        assert!(found[0].contains("no `facility` field"), "{found:?}");
    }

    #[test]
    fn replaces_names_mapped_kinds() {
        let found = errors("source = \"hr\"\nperson_id = \"x\"\nreplaces = [\"upn\"]\n");
        assert!(
            found[0].contains("which no `[[identifier]]` reads"),
            "{found:?}"
        );
        let mapping = ImportMapping::from_toml(
            "source = \"hr\"\nperson_id = \"x\"\nreplaces = [\"upn\"]\n[[identifier]]\nkind = \"upn\"\nfield = \"mail\"\n",
        )
        .unwrap();
        assert_eq!(mapping.replaces, vec![IdKind::Upn]);
    }

    #[test]
    fn value_tables_ignore_case_but_not_twice() {
        let found = errors(
            "source = \"hr\"\nperson_id = \"x\"\n[fields]\nkind = \"k\"\n[kind_values]\nFT = \"employee\"\nft = \"contractor\"\n",
        );
        assert!(found[0].contains("differ only in case"), "{found:?}");
    }

    #[test]
    fn zones() {
        assert!(zone("Europe/Amsterdam").is_ok());
        assert!(zone("UTC").is_ok());
        assert!(zone("+01:00").is_ok());
        assert!(zone("-0530").is_ok());
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("+25:00").is_err());
    }
}
