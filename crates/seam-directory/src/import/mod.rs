//! Imports from the directory's systems of record: an HR export, an access-control
//! cardholder export and an LDAP directory's LDIF, read through a TOML mapping file into one
//! [`DirectoryDelta`] per row. Pure: the caller hands in the text and its clock.
//!
//! ```toml
//! source = "hr"                    # hr | pacs | ldap: what the rows mean
//! format = "csv"                   # hr, pacs: csv (default) | json | ndjson; ldap: ldif
//! timezone = "Europe/Amsterdam"    # dates without an offset are read here (default UTC)
//! date_format = "%d.%m.%Y"         # optional strftime; ISO 8601 dates and times always read
//! person_id = "employee_id"        # the field that gives the Seam person id
//! lowercase_ids = true             # person ids and manager references in lowercase
//! list_separator = ";"             # splits list fields (roles, access levels) in text
//! replaces = ["upn"]               # identifier kinds the export states completely
//!
//! [csv]                            # delimiter: one ASCII character (default ","); the first
//! delimiter = ","                  # record names the columns; UTF-8, optional BOM
//! [json]                           # json only: the pointer to the array of records
//! records = "/cardholders"         # (default: the document is the array)
//!
//! [fields]                         # a column, a JSON pointer or an LDAP attribute; a list
//! name = ["display", "cn"]         # takes the first present, { join = [..], separator }
//! department = "dept"              # joins them. Optional: source_ref, name, kind, status,
//! manager = "manager_id"           # department, team, manager, home_site, roles; hr: start,
//! start = "start_date"             # end (the last day); pacs: access_levels; ldap: groups,
//! end = "last_day"                 # account_control, account_expires
//!
//! [kind_values]                    # source value → employee | contractor | visitor |
//! "Full-time" = "employee"         # service | skip (the row is skipped, counted)
//! [status_values]                  # → active | suspended | terminated | skip; pacs also
//! "Active" = "valid"               # valid (the cards hold) and void (they end, as a lost or
//! "Lost" = "void"                  # stolen card does), the person's status left unstated
//! [access_levels]                  # pacs: access level → zone ids
//! "HQ General" = ["hq-lobby", "hq-office"]
//! [groups]                         # ldap: group CN (or DN) → roles and clearances
//! "HQ Engineers" = { roles = ["engineer"], clearances = ["hq-office"] }
//!
//! [[identifier]]                   # badge upn email okta entra username device mac
//! kind = "upn"
//! field = "email"
//! [[card]]                         # pacs, at least one: badges; `separator` splits several
//! number = "cards"                 # numbers in one field (and their facility, validity and
//! separator = ";"                  # status alike: one value for all, or one per card);
//! facility = "facility"            # template "{card}" (default) or "{facility}:{card}";
//! template = "{facility}:{card}"   # valid_from, valid_until, status; json: `list` names an
//! valid_until = "expires"          # array of card objects whose fields are relative pointers
//! ```
//!
//! What a row states (values match tables exactly, else ignoring case; identifiers are
//! kept in the directory's compared form: accounts in lowercase, MACs `aa:bb:cc:dd:ee:ff`):
//! - **hr**: status `active` from `start`, or `terminated` from the day after `end` once the
//!   start has been reached (a date is the start of that local day, a last day ends at the next
//!   midnight); a contractor's or visitor's window is `[start, day after end)`; identifiers
//!   from `start`. A status field mapped through `status_values` overrides the dates.
//! - **pacs**: the badges, completely (`replaces` always holds `badge`): a card that is void,
//!   expired or not active is left out, so it ends at the import; `valid_until` as a date is
//!   valid to the end of that day. Unknown access levels are warnings.
//! - **ldap**: content records only; entries of none of `object_classes` (default `user`,
//!   `person`) and computer accounts are skipped. `userAccountControl` bit 2 suspends,
//!   `accountExpires` ends the window and terminates from then, `memberOf` grants through
//!   `[groups]` (others grant nothing), a manager's DN becomes the person id of the entry
//!   with that DN (else its RDN value, with a warning). The source ref is the DN.
//!
//! No status or identifier starts before the import time ([`ImportOptions::now`]): a change
//! never rewrites the past. One identifier on two people in overlapping intervals is an error
//! on both rows, a person on two rows an error on the second; each row is a delta, an error
//! or a skip.

mod build;
mod csv;
mod dates;
mod json;
mod ldif;
mod mapping;
mod rows;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use seam_model::{DirectoryDelta, Ts};

pub use mapping::{Format, ImportMapping, MappingError, Source};

use build::{Built, Ctx};
use rows::Row;

/// The most an import reads; above any one of them the input (or the row) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The whole input, in bytes.
    pub max_input_bytes: usize,
    /// One record (a CSV record, an NDJSON line, a JSON array element) or one LDIF line.
    pub max_record_bytes: usize,
    pub max_rows: usize,
    /// Card numbers listed for one cardholder.
    pub max_cards: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_input_bytes: 512 << 20,
            max_record_bytes: 1 << 20,
            max_rows: 1_000_000,
            max_cards: 64,
        }
    }
}

/// How to read one import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// The import time, on the caller's clock: nothing the import states starts before it.
    pub now: Ts,
    pub limits: Limits,
}

impl ImportOptions {
    /// Options for an import at `now`, with the default limits.
    pub fn at(now: Ts) -> ImportOptions {
        ImportOptions {
            now,
            limits: Limits::default(),
        }
    }
}

/// A row that yields no change, and why. `field` names the column, pointer or attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The 1-based line the row starts on (an LDIF entry's `dn:` line).
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// Something of a row that was not used, while the rest of the row was.
pub type RowWarning = RowError;

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {field}: {}", self.line, self.message),
            None => write!(f, "{}: {}", self.line, self.message),
        }
    }
}

/// A row that describes nothing the directory keeps (a computer account, an organizational
/// unit, a kind mapped to `skip`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub line: usize,
    pub reason: String,
}

/// What an import yields: `rows == deltas.len() + errors.len() + skipped.len()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub deltas: Vec<DirectoryDelta>,
    /// The line of each delta's row.
    pub lines: Vec<usize>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowWarning>,
    pub skipped: Vec<Skip>,
    pub rows: usize,
}

/// Why a whole input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the input is {size} bytes, over the limit of {limit}: split the export")]
    TooLarge { size: usize, limit: usize },
    #[error("more than {limit} rows: split the export")]
    TooManyRows { limit: usize },
    /// A CSV header that is missing, malformed or lacks a mapped column.
    #[error("{line}: {message}")]
    Header { line: usize, message: String },
    /// A JSON document that does not parse, or has no array of records where the mapping
    /// says.
    #[error("{line}:{column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads one export through its mapping.
pub fn import(
    mapping: &ImportMapping,
    text: &str,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    let limits = options.limits;
    if text.len() > limits.max_input_bytes {
        return Err(ImportError::TooLarge {
            size: text.len(),
            limit: limits.max_input_bytes,
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut collector = Collector::new(mapping, options);
    match mapping.format {
        Format::Csv => csv::read(mapping, text, &mut collector)?,
        Format::Json => json::read_array(mapping, text, &mut collector)?,
        Format::Ndjson => json::read_lines(mapping, text, &mut collector)?,
        Format::Ldif => ldif::read(mapping, text, &mut collector)?,
    }
    Ok(collector.finish())
}

/// Why one row failed, before it has a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

impl Fault {
    pub(crate) fn new(field: Option<&str>, message: impl Into<String>) -> Fault {
        Fault {
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    pub(crate) fn at(field: &str, message: impl Into<String>) -> Fault {
        Fault::new(Some(field), message)
    }
}

/// Input text as messages echo it: in backticks, at most 200 characters, control characters
/// escaped so that a message stays on one line.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::with_capacity(text.len().min(MAX) + 4);
    out.push('`');
    for (count, c) in text.chars().enumerate() {
        if count == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// Gathers each row's outcome, then checks what only the whole import shows.
pub(crate) struct Collector<'m> {
    pub(crate) ctx: Ctx<'m>,
    limits: Limits,
    rows: usize,
    deltas: Vec<(usize, DirectoryDelta)>,
    errors: Vec<RowError>,
    warnings: Vec<RowWarning>,
    skipped: Vec<Skip>,
    /// Person id → the line that stated it first.
    persons: HashMap<String, usize>,
}

impl<'m> Collector<'m> {
    fn new(mapping: &'m ImportMapping, options: &ImportOptions) -> Collector<'m> {
        Collector {
            ctx: Ctx::new(mapping, options.now, options.limits.max_cards),
            limits: options.limits,
            rows: 0,
            deltas: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            persons: HashMap::new(),
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    fn count(&mut self) -> Result<(), ImportError> {
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(ImportError::TooManyRows {
                limit: self.limits.max_rows,
            });
        }
        Ok(())
    }

    /// A row that could not be read at all.
    pub(crate) fn fail(&mut self, line: usize, fault: Fault) -> Result<(), ImportError> {
        self.count()?;
        self.errors.push(RowError {
            line,
            field: fault.field,
            message: fault.message,
        });
        Ok(())
    }

    pub(crate) fn skip(&mut self, line: usize, reason: String) -> Result<(), ImportError> {
        self.count()?;
        self.skipped.push(Skip { line, reason });
        Ok(())
    }

    /// A row read: built into a delta, an error or a skip.
    pub(crate) fn row(&mut self, line: usize, row: &dyn Row) -> Result<(), ImportError> {
        self.count()?;
        let mut notes = Vec::new();
        let built = self.ctx.build(row, &mut notes);
        self.warnings
            .extend(notes.into_iter().map(|fault| RowWarning {
                line,
                field: fault.field,
                message: fault.message,
            }));
        match built {
            Built::Delta(delta) => {
                if let Some(first) = self.persons.get(&delta.person) {
                    let fault = Fault::at(
                        self.ctx.person_id_label(),
                        format!(
                            "person {} is already stated on line {first}: one row per person",
                            quote(&delta.person)
                        ),
                    );
                    self.errors.push(RowError {
                        line,
                        field: fault.field,
                        message: fault.message,
                    });
                } else {
                    self.persons.insert(delta.person.clone(), line);
                    self.deltas.push((line, *delta));
                }
            }
            Built::Error(fault) => self.errors.push(RowError {
                line,
                field: fault.field,
                message: fault.message,
            }),
            Built::Skip(reason) => self.skipped.push(Skip { line, reason }),
        }
        Ok(())
    }

    fn finish(mut self) -> ImportOutcome {
        let conflicts = identifier_conflicts(&self.deltas, self.ctx.now());
        let mut outcome = ImportOutcome {
            rows: self.rows,
            warnings: self.warnings,
            skipped: self.skipped,
            ..ImportOutcome::default()
        };
        for ((line, delta), conflict) in self.deltas.into_iter().zip(conflicts) {
            match conflict {
                Some((kind, message)) => self.errors.push(RowError {
                    line,
                    field: self.ctx.identifier_label(&kind),
                    message,
                }),
                None => {
                    outcome.lines.push(line);
                    outcome.deltas.push(delta);
                }
            }
        }
        self.errors.sort_by_key(|error| error.line);
        outcome.errors = self.errors;
        debug_assert_eq!(
            outcome.rows,
            outcome.deltas.len() + outcome.errors.len() + outcome.skipped.len()
        );
        outcome
    }
}

/// For each delta, the first identifier it holds that another row (or itself, twice) holds
/// over an overlapping interval: the identifier's kind and the message.
fn identifier_conflicts(
    deltas: &[(usize, DirectoryDelta)],
    now: Ts,
) -> Vec<Option<(String, String)>> {
    struct Holding<'d> {
        kind: &'d str,
        value: &'d str,
        from: i64,
        until: i64,
        delta: usize,
    }
    let mut holdings: Vec<Holding<'_>> = Vec::new();
    for (index, (_, delta)) in deltas.iter().enumerate() {
        for identifier in &delta.identifiers {
            holdings.push(Holding {
                kind: &identifier.kind,
                value: &identifier.value,
                // An identifier without `from` starts with the change, at the import.
                from: identifier.from.unwrap_or(now).millis().max(now.millis()),
                until: identifier.until.map_or(i64::MAX, Ts::millis),
                delta: index,
            });
        }
    }
    holdings.sort_unstable_by(|a, b| {
        (a.kind, a.value, a.from, a.delta).cmp(&(b.kind, b.value, b.from, b.delta))
    });
    let mut conflicts: Vec<Option<(String, String)>> = vec![None; deltas.len()];
    let describe = |holder: usize, other: usize, kind: &str, value: &str| {
        let line = deltas.get(other).map_or(0, |(line, _)| *line);
        let person = deltas
            .get(other)
            .map_or("", |(_, delta)| delta.person.as_str());
        let message = if holder == other {
            format!(
                "{kind} {} is listed twice for {} over overlapping intervals: one holding at a time",
                quote(value),
                quote(person)
            )
        } else {
            format!(
                "{kind} {} is also held by {} (line {line}) over an overlapping interval: one holder at a time",
                quote(value),
                quote(person)
            )
        };
        (kind.to_string(), message)
    };
    // Sorted by start within each identifier, a holding overlaps an earlier one exactly when
    // it starts before the latest end seen so far; that one is reported with it, which marks
    // every holding that overlaps any other (an earlier holding that reaches furthest also
    // overlaps each one it is paired with).
    let mut group: Option<(&str, &str)> = None;
    let mut reach: Option<(i64, usize, usize)> = None; // (until, holding index, delta)
    for (position, holding) in holdings.iter().enumerate() {
        if group != Some((holding.kind, holding.value)) {
            group = Some((holding.kind, holding.value));
            reach = None;
        }
        if let Some((until, earlier, earlier_delta)) = reach
            && holding.from < until
            && earlier != position
        {
            for (mine, theirs) in [
                (holding.delta, earlier_delta),
                (earlier_delta, holding.delta),
            ] {
                if let Some(slot) = conflicts.get_mut(mine)
                    && slot.is_none()
                {
                    *slot = Some(describe(mine, theirs, holding.kind, holding.value));
                }
            }
        }
        if reach.is_none_or(|(until, _, _)| holding.until > until) {
            reach = Some((holding.until, position, holding.delta));
        }
    }
    conflicts
}
