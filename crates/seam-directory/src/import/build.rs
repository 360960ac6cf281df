//! One row into one delta: what an HR, cardholder or LDAP record states of its person.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use seam_model::{DeltaIdentifier, DeltaWindow, DirectoryDelta, Ts};

use super::dates;
use super::json::JsonRow;
use super::ldif::{normalize_dn, rdns};
use super::mapping::{
    CardSpec, Field, ImportMapping, Kind, Mapped, Source, Status, Table, TemplatePart,
};
use super::rows::{IdKind, Row, list, positional, text};
use super::{Fault, quote};

/// What became of a row.
#[derive(Debug)]
pub(crate) enum Built {
    Delta(Box<DirectoryDelta>),
    Error(Fault),
    Skip(String),
}

/// Why a row yields no delta.
enum NotBuilt {
    Fault(Fault),
    Skip(String),
}

impl From<Fault> for NotBuilt {
    fn from(fault: Fault) -> NotBuilt {
        NotBuilt::Fault(fault)
    }
}

/// What every row of one import is read with.
pub(crate) struct Ctx<'m> {
    mapping: &'m ImportMapping,
    now: Ts,
    max_cards: usize,
    /// LDAP: normalized DN → person id, of the entries imported.
    persons_by_dn: HashMap<String, String>,
}

impl<'m> Ctx<'m> {
    pub(crate) fn new(mapping: &'m ImportMapping, now: Ts, max_cards: usize) -> Ctx<'m> {
        Ctx {
            mapping,
            now,
            max_cards,
            persons_by_dn: HashMap::new(),
        }
    }

    pub(crate) fn now(&self) -> Ts {
        self.now
    }

    pub(crate) fn set_persons_by_dn(&mut self, persons: HashMap<String, String>) {
        self.persons_by_dn = persons;
    }

    pub(crate) fn person_id_label(&self) -> &str {
        &self.mapping.person_id.label
    }

    /// The field an identifier kind is read from, for messages.
    pub(crate) fn identifier_label(&self, kind: &str) -> Option<String> {
        let mapping = self.mapping;
        mapping
            .identifiers
            .iter()
            .find(|spec| spec.kind.as_str() == kind)
            .map(|spec| spec.field.label.clone())
            .or_else(|| {
                (kind == IdKind::Badge.as_str())
                    .then(|| mapping.cards.first().map(|card| card.number.label.clone()))
                    .flatten()
            })
    }

    pub(crate) fn build(&self, row: &dyn Row, notes: &mut Vec<Fault>) -> Built {
        match self.delta(row, notes) {
            Ok(delta) => Built::Delta(Box::new(delta)),
            Err(NotBuilt::Fault(fault)) => Built::Error(fault),
            Err(NotBuilt::Skip(reason)) => Built::Skip(reason),
        }
    }

    /// The row's person id, checked, in lowercase when the mapping says so.
    pub(crate) fn person_id(&self, row: &dyn Row) -> Result<String, Fault> {
        let field = &self.mapping.person_id;
        let Some(value) = text(row, field) else {
            return Err(Fault::at(&field.label, "the person id is empty"));
        };
        if value.chars().count() > 256 {
            return Err(Fault::at(
                &field.label,
                format!("person id {} is longer than 256 characters", quote(&value)),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(Fault::at(
                &field.label,
                format!("person id {} holds control characters", quote(&value)),
            ));
        }
        Ok(self.id(value))
    }

    fn id(&self, value: Cow<'_, str>) -> String {
        if self.mapping.lowercase_ids {
            value.to_lowercase()
        } else {
            value.into_owned()
        }
    }

    fn delta(&self, row: &dyn Row, notes: &mut Vec<Fault>) -> Result<DirectoryDelta, NotBuilt> {
        let mapping = self.mapping;
        let fields = &mapping.fields;
        let mut delta = DirectoryDelta::for_person(self.person_id(row)?);
        let kind = self.kind(row)?;
        let status = match &fields.status {
            Some(field) => match text(row, field) {
                Some(value) => Some(self.status(&value, field)?),
                None => None,
            },
            None => None,
        };
        let status = match status {
            Some(Mapped::Skip) => {
                return Err(NotBuilt::Skip("its status is mapped to `skip`".to_string()));
            }
            Some(Mapped::To(status)) => Some(status),
            None => None,
        };
        delta.kind = kind.map(|kind| kind.as_str().to_string());
        let owned = |field: &Option<Field>| {
            field
                .as_ref()
                .and_then(|field| text(row, field))
                .map(Cow::into_owned)
        };
        delta.source_ref = owned(&fields.source_ref).or_else(|| row.dn().map(str::to_string));
        delta.name = owned(&fields.name);
        delta.department = owned(&fields.department);
        delta.team = owned(&fields.team);
        delta.home_site = owned(&fields.home_site);
        delta.manager = self.manager(row, notes)?;
        if let Some(field) = &fields.roles {
            let mut roles = Vec::new();
            list(row, field, Some(&mapping.list_separator), &mut roles);
            delta.roles = Some(set(roles.iter().map(|role| role.as_ref())));
        }
        let identifiers_from = match mapping.source {
            Source::Hr => self.hr(row, kind, status, &mut delta)?,
            Source::Pacs => {
                self.pacs(row, status, &mut delta, notes)?;
                None
            }
            Source::Ldap => {
                self.ldap(row, status, &mut delta)?;
                None
            }
        };
        self.identifiers(row, identifiers_from, &mut delta)?;
        delta.replaces = mapping
            .replaces
            .iter()
            .map(|kind| kind.as_str().to_string())
            .collect();
        Ok(delta)
    }

    fn kind(&self, row: &dyn Row) -> Result<Option<Kind>, NotBuilt> {
        let Some(field) = &self.mapping.fields.kind else {
            return Ok(None);
        };
        let Some(value) = text(row, field) else {
            return Ok(None);
        };
        let mapped = match &self.mapping.kind_values {
            Some(table) => table.get(&value).copied(),
            None => Kind::ALL
                .into_iter()
                .find(|kind| kind.as_str().eq_ignore_ascii_case(&value))
                .map(Mapped::To),
        };
        match mapped {
            Some(Mapped::To(kind)) => Ok(Some(kind)),
            Some(Mapped::Skip) => Err(NotBuilt::Skip(format!(
                "kind {} is mapped to `skip`",
                quote(&value)
            ))),
            None => Err(Fault::at(
                &field.label,
                unknown(
                    "kind",
                    &value,
                    self.mapping.kind_values.as_ref(),
                    Kind::ALL.iter().map(|kind| kind.as_str()),
                    "kind_values",
                ),
            )
            .into()),
        }
    }

    fn status(&self, value: &str, field: &Field) -> Result<Mapped<Status>, Fault> {
        let pacs = self.mapping.source == Source::Pacs;
        let mapped = match &self.mapping.status_values {
            Some(table) => table.get(value).copied(),
            None => Status::ALL
                .into_iter()
                .filter(|status| pacs || !status.cards_only())
                .find(|status| status.as_str().eq_ignore_ascii_case(value))
                .map(Mapped::To),
        };
        mapped.ok_or_else(|| {
            let words = Status::ALL
                .iter()
                .filter(|status| pacs || !status.cards_only())
                .map(|status| status.as_str());
            Fault::at(
                &field.label,
                unknown(
                    "status",
                    value,
                    self.mapping.status_values.as_ref(),
                    words,
                    "status_values",
                ),
            )
        })
    }

    fn manager(&self, row: &dyn Row, notes: &mut Vec<Fault>) -> Result<Option<String>, Fault> {
        let Some(field) = &self.mapping.fields.manager else {
            return Ok(None);
        };
        let Some(value) = text(row, field) else {
            return Ok(None);
        };
        if self.mapping.source != Source::Ldap || !value.contains('=') {
            return Ok(Some(self.id(value)));
        }
        if let Some(person) = self.persons_by_dn.get(&normalize_dn(&value)) {
            return Ok(Some(person.clone()));
        }
        let Some((_, rdn)) = rdns(&value)
            .into_iter()
            .next()
            .filter(|(_, v)| !v.is_empty())
        else {
            return Err(Fault::at(
                &field.label,
                format!("manager {} is not a DN", quote(&value)),
            ));
        };
        let person = self.id(Cow::Borrowed(&rdn));
        notes.push(Fault::at(
            &field.label,
            format!(
                "manager {} is not among the imported entries: its RDN value {} is taken as the person id",
                quote(&value),
                quote(&person)
            ),
        ));
        Ok(Some(person))
    }

    /// A date field read as an instant by `read` (a start, or the end of a last day), with
    /// its text for messages.
    fn date<'s>(
        &self,
        row: &'s dyn Row,
        field: &Option<Field>,
        read: fn(dates::When, &jiff::tz::TimeZone) -> Result<Ts, String>,
    ) -> Result<Option<(Ts, Cow<'s, str>)>, Fault> {
        let Some(field) = field else { return Ok(None) };
        let Some(value) = text(row, field) else {
            return Ok(None);
        };
        self.instant(&value, field, read)
            .map(|ts| Some((ts, value)))
    }

    fn instant(
        &self,
        value: &str,
        field: &Field,
        read: fn(dates::When, &jiff::tz::TimeZone) -> Result<Ts, String>,
    ) -> Result<Ts, Fault> {
        let tz = &self.mapping.timezone;
        dates::parse(value, self.mapping.date_format.as_deref(), tz)
            .and_then(|when| read(when, tz))
            .map_err(|message| Fault::at(&field.label, message))
    }

    fn future(&self, ts: Option<Ts>) -> Option<Ts> {
        ts.filter(|ts| *ts > self.now)
    }

    /// Joiners, leavers and contracts; returns when the row's identifiers start.
    fn hr(
        &self,
        row: &dyn Row,
        kind: Option<Kind>,
        status: Option<Status>,
        delta: &mut DirectoryDelta,
    ) -> Result<Option<Ts>, Fault> {
        let fields = &self.mapping.fields;
        let start = self.date(row, &fields.start, dates::start)?;
        let end = self.date(row, &fields.end, dates::end)?;
        if let (Some((start, start_text)), Some((end, end_text)), Some(field)) =
            (&start, &end, &fields.end)
            && end <= start
        {
            return Err(Fault::at(
                &field.label,
                format!(
                    "the last day {} is before the start {}",
                    quote(end_text),
                    quote(start_text)
                ),
            ));
        }
        let start = start.map(|(ts, _)| ts);
        let end = end.map(|(ts, _)| ts);
        let now = self.now;
        let (status, from) = match status {
            Some(Status::Active) => (Status::Active, self.future(start)),
            Some(Status::Suspended) => (Status::Suspended, None),
            Some(Status::Terminated) => (Status::Terminated, self.future(end)),
            // `void` and `valid` are refused for HR mappings when they load.
            Some(Status::Void | Status::Valid) | None => match end {
                Some(end) if end <= now => (Status::Terminated, None),
                // One status per change: a row that has not started states the start; the
                // end it states again, as the termination, once it has.
                Some(_) if start.is_some_and(|start| start > now) => (Status::Active, start),
                Some(end) => (Status::Terminated, Some(end)),
                None => (Status::Active, self.future(start)),
            },
        };
        delta.status = Some(status.as_str().to_string());
        delta.status_from = from;
        if matches!(kind, Some(Kind::Contractor | Kind::Visitor))
            && (start.is_some() || end.is_some())
        {
            delta.window = Some(DeltaWindow { start, end });
        }
        Ok(self.future(start))
    }

    /// A cardholder: status, clearances through access levels, and the badges.
    fn pacs(
        &self,
        row: &dyn Row,
        status: Option<Status>,
        delta: &mut DirectoryDelta,
        notes: &mut Vec<Fault>,
    ) -> Result<(), Fault> {
        let mapping = self.mapping;
        let void = status == Some(Status::Void);
        if let Some(status) = status.filter(|status| !status.cards_only()) {
            delta.status = Some(status.as_str().to_string());
        }
        if let (Some(field), Some(table)) = (&mapping.fields.access_levels, &mapping.access_levels)
        {
            let mut levels = Vec::new();
            list(row, field, Some(&mapping.list_separator), &mut levels);
            let mut zones: Vec<&str> = Vec::new();
            for level in &levels {
                match table.get(level) {
                    Some(granted) => zones.extend(granted.iter().map(String::as_str)),
                    None => notes.push(Fault::at(
                        &field.label,
                        format!(
                            "unknown access level {}: not in `[access_levels]`, so it grants no clearance here{}",
                            quote(level),
                            seam_model::text::did_you_mean(level, table.keys())
                        ),
                    )),
                }
            }
            delta.clearances = Some(set(zones.into_iter()));
        }
        let mut count = 0;
        for spec in &mapping.cards {
            match (&spec.list, row.json()) {
                (Some(pointer), Some(record)) => {
                    let items = match record.pointer(pointer) {
                        Some(Value::Array(items)) => items.as_slice(),
                        Some(Value::Null) | None => &[],
                        Some(other) => std::slice::from_ref(other),
                    };
                    for item in items {
                        let card = JsonRow {
                            value: item,
                            slots: &mapping.slots,
                        };
                        self.cards(&card, spec, void, &mut count, delta)?;
                    }
                }
                _ => self.cards(row, spec, void, &mut count, delta)?,
            }
        }
        Ok(())
    }

    /// The cards one `[[card]]` finds in a row: those in force from now on become badges.
    fn cards(
        &self,
        row: &dyn Row,
        spec: &CardSpec,
        void: bool,
        count: &mut usize,
        delta: &mut DirectoryDelta,
    ) -> Result<(), Fault> {
        let separator = spec.separator.as_deref();
        // Values pair up with cards by place, so blanks keep theirs.
        let mut numbers = Vec::new();
        positional(row, &spec.number, separator, &mut numbers);
        let listed = numbers.iter().filter(|number| !number.is_empty()).count();
        if listed == 0 {
            return Ok(());
        }
        *count += listed;
        if *count > self.max_cards {
            return Err(Fault::at(
                &spec.number.label,
                format!(
                    "{count} cards, over the limit of {} per cardholder",
                    self.max_cards
                ),
            ));
        }
        let facilities = per_card(row, &spec.facility, separator, numbers.len())?;
        let froms = per_card(row, &spec.valid_from, separator, numbers.len())?;
        let untils = per_card(row, &spec.valid_until, separator, numbers.len())?;
        let statuses = per_card(row, &spec.status, separator, numbers.len())?;
        for (index, number) in numbers.iter().enumerate() {
            if void || number.is_empty() {
                continue;
            }
            if let (Some(status), Some(field)) = (pick(&statuses, index), &spec.status)
                && !matches!(
                    self.status(status, field)?,
                    Mapped::To(Status::Active | Status::Valid)
                )
            {
                // Lost, stolen, disabled: the card ends, with the export.
                continue;
            }
            let facility = pick(&facilities, index);
            let mut badge = String::with_capacity(number.len() + 8);
            for part in &spec.template {
                match part {
                    TemplatePart::Text(text) => badge.push_str(text),
                    TemplatePart::Card => badge.push_str(number),
                    TemplatePart::Facility => match facility {
                        Some(facility) => badge.push_str(facility),
                        None => {
                            return Err(Fault::at(
                                spec.facility
                                    .as_ref()
                                    .map_or("facility", |f| f.label.as_str()),
                                format!("card {} has no facility code", quote(number)),
                            ));
                        }
                    },
                }
            }
            let from = match (pick(&froms, index), &spec.valid_from) {
                (Some(value), Some(field)) => Some(self.instant(value, field, dates::start)?),
                _ => None,
            };
            let until = match (pick(&untils, index), &spec.valid_until) {
                (Some(value), Some(field)) => Some(self.instant(value, field, dates::end)?),
                _ => None,
            };
            if let (Some(from), Some(until)) = (from, until)
                && from >= until
            {
                return Err(Fault::at(
                    spec.valid_until
                        .as_ref()
                        .map_or(spec.number.label.as_str(), |f| f.label.as_str()),
                    format!(
                        "card {} is valid from {} until {}: no time at all",
                        quote(number),
                        quote(&from.to_string()),
                        quote(&until.to_string())
                    ),
                ));
            }
            if until.is_some_and(|until| until <= self.now) {
                // Expired: left out, so the export ends it.
                continue;
            }
            let value = IdKind::Badge
                .normalize(&badge)
                .map_err(|message| Fault::at(&spec.number.label, message))?;
            delta.identifiers.push(DeltaIdentifier {
                kind: IdKind::Badge.as_str().to_string(),
                value,
                from: self.future(from),
                until,
            });
        }
        Ok(())
    }

    /// An LDAP account: its status from `userAccountControl` and `accountExpires`, and
    /// roles and clearances through its groups.
    fn ldap(
        &self,
        row: &dyn Row,
        status: Option<Status>,
        delta: &mut DirectoryDelta,
    ) -> Result<(), Fault> {
        let mapping = self.mapping;
        let fields = &mapping.fields;
        let disabled = match fields.account_control.as_ref().map(|f| (f, text(row, f))) {
            Some((field, Some(value))) => {
                let flags: u64 = value.parse().map_err(|_| {
                    Fault::at(
                        &field.label,
                        format!(
                            "{} is not a number: expected userAccountControl flags, such as `512`",
                            quote(&value)
                        ),
                    )
                })?;
                // ACCOUNTDISABLE.
                Some(flags & 0x2 != 0)
            }
            _ => None,
        };
        let expires = match fields.account_expires.as_ref().map(|f| (f, text(row, f))) {
            Some((field, Some(value))) => {
                dates::filetime(&value).map_err(|message| Fault::at(&field.label, message))?
            }
            _ => None,
        };
        if let Some(end) = expires {
            delta.window = Some(DeltaWindow {
                start: None,
                end: Some(end),
            });
        }
        let now = self.now;
        let stated = match (status, expires, disabled) {
            (Some(status), _, _) if !status.cards_only() => Some((status, None)),
            (_, Some(end), _) if end <= now => Some((Status::Terminated, None)),
            (_, _, Some(true)) => Some((Status::Suspended, None)),
            (_, Some(end), _) => Some((Status::Terminated, Some(end))),
            (_, None, Some(false)) => Some((Status::Active, None)),
            (_, None, None) => None,
        };
        if let Some((status, from)) = stated {
            delta.status = Some(status.as_str().to_string());
            delta.status_from = from;
        }
        if let Some(field) = &fields.groups
            && (mapping.groups_grant_roles || mapping.groups_grant_clearances)
        {
            let mut groups = Vec::new();
            list(row, field, None, &mut groups);
            let mut roles: Vec<&str> = delta.roles.iter().flatten().map(String::as_str).collect();
            let mut zones: Vec<&str> = Vec::new();
            for group in &groups {
                let grant = mapping.groups.get(&normalize_dn(group)).or_else(|| {
                    let (_, name) = rdns(group).into_iter().next()?;
                    mapping.groups.get(&name.to_lowercase())
                });
                if let Some(grant) = grant {
                    roles.extend(grant.roles.iter().map(String::as_str));
                    zones.extend(grant.clearances.iter().map(String::as_str));
                }
            }
            let roles = set(roles.into_iter());
            if mapping.groups_grant_roles {
                delta.roles = Some(roles);
            }
            if mapping.groups_grant_clearances {
                delta.clearances = Some(set(zones.into_iter()));
            }
        }
        Ok(())
    }

    fn identifiers(
        &self,
        row: &dyn Row,
        from: Option<Ts>,
        delta: &mut DirectoryDelta,
    ) -> Result<(), Fault> {
        let mut values = Vec::new();
        for spec in &self.mapping.identifiers {
            list(row, &spec.field, spec.separator.as_deref(), &mut values);
            for value in &values {
                let value = spec
                    .kind
                    .normalize(value)
                    .map_err(|message| Fault::at(&spec.field.label, message))?;
                delta.identifiers.push(DeltaIdentifier {
                    kind: spec.kind.as_str().to_string(),
                    value,
                    from,
                    until: None,
                });
            }
        }
        // The same identifier read twice (a upn that is also the mail column) is one.
        let mut index = 0;
        while index < delta.identifiers.len() {
            let repeated = delta.identifiers.get(index).is_some_and(|this| {
                delta
                    .identifiers
                    .iter()
                    .take(index)
                    .any(|seen| seen == this)
            });
            if repeated {
                delta.identifiers.remove(index);
            } else {
                index += 1;
            }
        }
        Ok(())
    }
}

/// A per-card field's values: none, one for every card, or one per card.
fn per_card<'s>(
    row: &'s dyn Row,
    field: &Option<Field>,
    separator: Option<&str>,
    cards: usize,
) -> Result<Vec<Cow<'s, str>>, Fault> {
    let mut values = Vec::new();
    if let Some(field) = field {
        positional(row, field, separator, &mut values);
        if values.len() > 1 && values.len() != cards {
            return Err(Fault::at(
                &field.label,
                format!(
                    "{} values for {cards} card{}: expected one for all of them, or one per card",
                    values.len(),
                    if cards == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    Ok(values)
}

fn pick<'v>(values: &'v [Cow<'_, str>], index: usize) -> Option<&'v str> {
    if values.len() == 1 {
        values.first()
    } else {
        values.get(index)
    }
    .map(|value| value.as_ref())
    .filter(|value| !value.is_empty())
}

/// Sorted, without repeats: a set stated completely.
fn set<'v>(values: impl Iterator<Item = &'v str>) -> Vec<String> {
    let mut out: Vec<String> = values.map(str::to_string).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// "unknown kind `x`: expected …", naming the table's values or Seam's words.
fn unknown<'w, T: Clone>(
    what: &str,
    value: &str,
    table: Option<&Table<T>>,
    words: impl Iterator<Item = &'w str> + Clone,
    table_name: &str,
) -> String {
    match table {
        Some(table) => {
            let keys: Vec<String> = table.keys().take(12).map(quote).collect();
            format!(
                "unknown {what} {}: expected one of `[{table_name}]`: {}{}",
                quote(value),
                keys.join(", "),
                seam_model::text::did_you_mean(value, table.keys())
            )
        }
        None => {
            let listed: Vec<String> = words.clone().map(quote).collect();
            format!(
                "unknown {what} {}: expected {} (or map the export's values in `[{table_name}]`){}",
                quote(value),
                listed.join(", "),
                seam_model::text::did_you_mean(value, words)
            )
        }
    }
}
