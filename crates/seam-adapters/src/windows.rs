//! Windows Security event log: sign-ins, sign-outs, special privileges and account changes.
//! Two shapes, told apart per input by its first character:
//!
//! - Winlogbeat or Elastic Agent JSON (NDJSON, an array or one object): `@timestamp`,
//!   `winlog.{event_id, channel, computer_name, record_id, event_data}`;
//! - the event's XML rendering (`wevtutil qe Security /f:xml`, `Get-WinEvent … ToXml()`): one
//!   or more `<Event>` elements, one per line or wrapped in `<Events>`.
//!
//! Service sign-ins and the built-in system accounts are machine noise and are skipped;
//! machine accounts (`HQ-WS-DAN$`) are kept as they are, so that the engine can tell machines
//! from people.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::Value;

use seam_model::{Activity, Event, EventClass, Outcome};

use crate::common::{self, Collector, Read, RecordResult};
use crate::xml::Document;
use crate::{Batch, MAX_RECORD_BYTES, ParseContext, timefmt};

const NAME: &str = "windows";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if body.trim_ascii_start().starts_with(b"<") {
        parse_xml(body, ctx)
    } else {
        common::parse_json_owned(input, ctx, &[], |value, raw| parse_json(value, raw, ctx))
    }
}

// ------------------------------------------------------------------------------- the record

/// What the mapping reads from a record, whichever shape it came in.
struct View<'v> {
    event_id: Option<Cow<'v, str>>,
    channel: Option<Cow<'v, str>>,
    computer: Option<Cow<'v, str>>,
    record_id: Option<Cow<'v, str>>,
    time: Option<Cow<'v, str>>,
    data: Data<'v>,
}

/// The `EventData` fields the mapping reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    TargetUserName,
    SubjectUserName,
    TargetDomainName,
    TargetServerName,
    LogonType,
    IpAddress,
    WorkstationName,
    Status,
    SubStatus,
}

impl Field {
    const ALL: [Field; 9] = [
        Field::TargetUserName,
        Field::SubjectUserName,
        Field::TargetDomainName,
        Field::TargetServerName,
        Field::LogonType,
        Field::IpAddress,
        Field::WorkstationName,
        Field::Status,
        Field::SubStatus,
    ];

    fn name(self) -> &'static str {
        match self {
            Field::TargetUserName => "TargetUserName",
            Field::SubjectUserName => "SubjectUserName",
            Field::TargetDomainName => "TargetDomainName",
            Field::TargetServerName => "TargetServerName",
            Field::LogonType => "LogonType",
            Field::IpAddress => "IpAddress",
            Field::WorkstationName => "WorkstationName",
            Field::Status => "Status",
            Field::SubStatus => "SubStatus",
        }
    }

    fn of(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }
}

/// The values of the fields the mapping reads, each trimmed; `None` when missing, empty or
/// `-` (Windows' "none").
#[derive(Default)]
struct Data<'v>([Option<Cow<'v, str>>; Field::ALL.len()]);

impl<'v> Data<'v> {
    fn get(&self, field: Field) -> Option<&str> {
        self.0.get(field as usize)?.as_deref()
    }

    fn set(&mut self, field: Field, value: Option<Cow<'v, str>>) {
        if let Some(slot) = self.0.get_mut(field as usize) {
            *slot = value;
        }
    }
}

fn present(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed == "-" {
        return None;
    }
    Some(match value {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) if text.len() == trimmed.len() => Cow::Owned(text),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    })
}

// ------------------------------------------------------------------------------- JSON

fn parse_json(value: Value, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let read = {
        if !value.is_object() {
            return Err("a Winlogbeat record must be a JSON object".to_string());
        }
        let winlog = value.get("winlog");
        let view = View {
            event_id: text(winlog.and_then(|w| w.get("event_id")))
                .or_else(|| text(value.get("event").and_then(|e| e.get("code")))),
            channel: text(winlog.and_then(|w| w.get("channel"))),
            computer: text(winlog.and_then(|w| w.get("computer_name")))
                .or_else(|| text(value.get("host").and_then(|h| h.get("name")))),
            record_id: text(winlog.and_then(|w| w.get("record_id"))),
            time: text(value.get("@timestamp")),
            data: json_data(winlog.and_then(|w| w.get("event_data"))),
        };
        map(&view, raw, ctx)?
    };
    Ok(match read {
        Read::Event(mut event) => {
            event.raw = Some(value);
            Read::Event(event)
        }
        skip => skip,
    })
}

fn json_data(event_data: Option<&Value>) -> Data<'_> {
    let mut data = Data::default();
    if let Some(Value::Object(fields)) = event_data {
        // One walk over the fields rather than a search for each.
        for (name, value) in fields {
            if let Some(field) = Field::of(name) {
                data.set(field, text(Some(value)));
            }
        }
    }
    data
}

/// A string or number as text, when present.
fn text(value: Option<&Value>) -> Option<Cow<'_, str>> {
    let text = match value? {
        Value::String(text) => Cow::Borrowed(text.as_str()),
        Value::Number(number) => Cow::Owned(number.to_string()),
        _ => return None,
    };
    present(text)
}

// ------------------------------------------------------------------------------- XML

/// Reads every `<Event>` element. Each is read from its start tag to the start of the next at
/// the most, so a broken one is rejected alone; what stands between events must be
/// whitespace, comments, declarations or the `<Events>` wrapper, and anything else is
/// rejected on its own. A record's `index` is the line its `<Event>` starts on.
fn parse_xml(input: &[u8], ctx: &ParseContext) -> Batch {
    // Bytes that are not UTF-8 become U+FFFD, as in syslog lines.
    let text = match std::str::from_utf8(input) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(input),
    };
    let text = text.as_ref();
    let mut collector = Collector::new(ctx);
    let mut document = Document::default();
    let mut raw = RawBuilder::default();
    let mut lines = LineCounter::default();
    let starts = event_starts(text);
    collector.expect_records(starts.len());
    let first = starts.first().copied().unwrap_or(text.len());
    between(text, 0, first, &mut lines, &mut collector);
    for (position, start) in starts.iter().enumerate() {
        let end = starts.get(position + 1).copied().unwrap_or(text.len());
        let record = text.get(*start..end).unwrap_or_default();
        let line = lines.at(text, *start);
        if record.len() > MAX_RECORD_BYTES {
            collector.reject_oversize(line, record.as_bytes());
            continue;
        }
        match document.read(record) {
            Ok(used) => {
                let element = record.get(..used).unwrap_or(record);
                let result = from_document(&document, element.as_bytes(), ctx, &mut raw);
                collector.record(line, element.as_bytes(), result);
                between(text, start + used, end, &mut lines, &mut collector);
            }
            Err(reason) => {
                // A broken record ends at its `</Event>` when it has one, so that a stray line
                // after it is a dead letter of its own; a record cut short runs to the next.
                let failed = record
                    .find("</Event>")
                    .map_or(record.len(), |at| at + "</Event>".len());
                let broken = record.get(..failed).unwrap_or(record);
                collector.reject(line, broken.trim_end().as_bytes(), reason);
                between(text, start + failed, end, &mut lines, &mut collector);
            }
        }
    }
    collector.finish()
}

/// Where each `<Event>` start tag begins (not `<Events>`, `<EventData>`, `<EventID>`).
fn event_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let is_start = |at: usize| {
        bytes.get(at..at + "<Event".len()) == Some(b"<Event".as_slice())
            && matches!(
                bytes.get(at + "<Event".len()),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
            )
    };
    let mut starts = Vec::new();
    // Every `<`, eight bytes at a time, looked at in place.
    const OPENS: u64 = u64::from_le_bytes([b'<'; 8]);
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let mut opens = common::zero_bytes(u64::from_le_bytes(*word) ^ OPENS);
        while opens != 0 {
            let at = index * 8 + (opens.trailing_zeros() / 8) as usize;
            if is_start(at) {
                starts.push(at);
            }
            opens &= opens - 1;
        }
    }
    let tail_start = words.len() * 8;
    for (offset, byte) in tail.iter().enumerate() {
        if *byte == b'<' && is_start(tail_start + offset) {
            starts.push(tail_start + offset);
        }
    }
    starts
}

/// Rejects what stands between events unless it is only whitespace, comments, XML
/// declarations and the `<Events>` wrapper's tags.
fn between(
    text: &str,
    start: usize,
    end: usize,
    lines: &mut LineCounter,
    collector: &mut Collector<'_>,
) {
    let gap = text.get(start..end).unwrap_or_default();
    if let Some(offset) = stray(gap) {
        let junk = gap.get(offset..).unwrap_or_default().trim_end();
        let line = lines.at(text, start + offset);
        let reason = if start == 0 && end == text.len() {
            "no <Event> element in the input"
        } else {
            "text between events that is not an <Event> element"
        };
        collector.reject(line, junk.as_bytes(), reason);
    }
}

/// Where the first thing that is not whitespace, a comment, a declaration or an `<Events>`
/// tag starts.
fn stray(gap: &str) -> Option<usize> {
    let mut rest = gap;
    loop {
        let trimmed = rest.trim_start();
        let offset = gap.len() - trimmed.len();
        if trimmed.is_empty() {
            return None;
        }
        let skip = if let Some(after) = trimmed.strip_prefix("<!--") {
            after.find("-->").map(|end| 4 + end + 3)
        } else if let Some(after) = trimmed.strip_prefix("<?") {
            after.find("?>").map(|end| 2 + end + 2)
        } else if trimmed.starts_with("<Events") || trimmed.starts_with("</Events") {
            let name_end = if trimmed.starts_with("</") { 8 } else { 7 };
            let next = trimmed.as_bytes().get(name_end);
            match next {
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'>') => trimmed.find('>').map(|end| end + 1),
                _ => None,
            }
        } else {
            None
        };
        match skip {
            Some(length) => rest = trimmed.get(length..).unwrap_or_default(),
            None => return Some(offset),
        }
    }
}

/// Line numbers of increasing positions, counted once.
#[derive(Default)]
struct LineCounter {
    position: usize,
    line: usize,
}

impl LineCounter {
    fn at(&mut self, text: &str, position: usize) -> usize {
        if position >= self.position {
            let counted = text.get(self.position..position).unwrap_or_default();
            self.line += common::count_byte(counted.as_bytes(), b'\n');
            self.position = position;
        }
        self.line + 1
    }
}

fn from_document(
    document: &Document<'_>,
    bytes: &[u8],
    ctx: &ParseContext,
    raw: &mut RawBuilder,
) -> RecordResult {
    let root = Document::ROOT;
    let system = document
        .child(root, "System")
        .ok_or("an <Event> without <System>")?;
    let event_data = document.child(root, "EventData");
    let mut view = View {
        event_id: None,
        channel: None,
        computer: None,
        record_id: None,
        time: None,
        data: Data::default(),
    };
    // One walk, backwards, so that the first of a repeated element is the one kept.
    for index in (system + 1..document.len()).rev() {
        let Some(element) = document.get(index) else {
            continue;
        };
        if element.parent == Some(system) {
            let text = || present(Cow::Borrowed(element.text.as_ref()));
            match element.name {
                "EventID" => view.event_id = text(),
                "Channel" => view.channel = text(),
                "Computer" => view.computer = text(),
                "EventRecordID" => view.record_id = text(),
                "TimeCreated" => {
                    view.time = document
                        .attribute(index, "SystemTime")
                        .and_then(|time| present(Cow::Borrowed(time)));
                }
                _ => {}
            }
        } else if event_data.is_some()
            && element.parent == event_data
            && element.name == "Data"
            && let Some(field) = document.attribute(index, "Name").and_then(Field::of)
        {
            view.data
                .set(field, present(Cow::Borrowed(element.text.as_ref())));
        }
    }
    Ok(match map(&view, bytes, ctx)? {
        Read::Event(mut event) => {
            event.raw = Some(raw.build(document, system, event_data));
            Read::Event(event)
        }
        skip => skip,
    })
}

/// The XML record as one flat JSON object, named as Sigma's Windows rules name the fields:
/// each `<System>` child's text under its name (`EventID`, `Channel`, `Computer`,
/// `EventRecordID`) and its attributes under `<child>_<attribute>` (`Provider_Name`,
/// `TimeCreated_SystemTime`, `Execution_ProcessID`); then each `<Data Name="X">` of
/// `<EventData>` under `X` (never replacing a `<System>` field), and unnamed `<Data>` in a
/// `Data` list. Every value is a string.
///
/// The map is built from its entries in sorted order, not by a search per entry. What that
/// takes is kept from record to record: the entries' buffer, and for each number of entries
/// the order that sorted the last record of that size. Records of one event id name their
/// fields alike, so a remembered order nearly always sorts the next record too, which one
/// pass over the names confirms. Names are nearly always distinct; when one repeats, the
/// entries are gathered again and sorted stably, so that the strongest one of each name is
/// kept.
#[derive(Debug, Default)]
struct RawBuilder {
    entries: Vec<(String, Value)>,
    /// Orders by number of entries, the most recent last.
    orders: Vec<(usize, Vec<usize>)>,
}

impl RawBuilder {
    /// How many orders are remembered (an input mixing more event ids sorts some anew).
    const ORDERS: usize = 16;

    fn build(
        &mut self,
        document: &Document<'_>,
        system: usize,
        event_data: Option<usize>,
    ) -> Value {
        let RawBuilder { entries, orders } = self;
        gather_raw(document, system, event_data, entries);
        let count = entries.len();
        if let Some((_, order)) = orders.iter().find(|(size, _)| *size == count)
            && sorts_strictly(entries, order)
        {
            return Value::Object(take_in_order(entries, order));
        }
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_unstable_by(|a, b| name_at(entries, *a).cmp(name_at(entries, *b)));
        if !sorts_strictly(entries, &order) {
            gather_raw(document, system, event_data, entries);
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|later, kept| later.0 == kept.0);
            return Value::Object(entries.drain(..).collect());
        }
        let object = take_in_order(entries, &order);
        orders.retain(|(size, _)| *size != count);
        if orders.len() >= Self::ORDERS {
            orders.remove(0);
        }
        orders.push((count, order));
        Value::Object(object)
    }
}

fn name_at(entries: &[(String, Value)], index: usize) -> &str {
    entries.get(index).map_or("", |(name, _)| name.as_str())
}

/// Whether `order` lists every entry once with the names strictly increasing: then it is the
/// one order that sorts them, and no name repeats.
fn sorts_strictly(entries: &[(String, Value)], order: &[usize]) -> bool {
    order.len() == entries.len()
        && order.iter().all(|index| *index < entries.len())
        && order.windows(2).all(|pair| match pair {
            [a, b] => name_at(entries, *a) < name_at(entries, *b),
            _ => true,
        })
}

/// The map of the entries taken in `order` (names already sorted and distinct).
fn take_in_order(
    entries: &mut Vec<(String, Value)>,
    order: &[usize],
) -> serde_json::Map<String, Value> {
    let object = order
        .iter()
        .filter_map(|index| entries.get_mut(*index).map(std::mem::take))
        .collect();
    entries.clear();
    object
}

/// The entries of [`RawBuilder::build`]'s object, strongest first among those of one name: `<System>`'s
/// from the last to the first (a later element replaces an earlier one), then the `<Data>`
/// fields from the first (the first named `X` is kept), then the unnamed ones' list.
fn gather_raw(
    document: &Document<'_>,
    system: usize,
    event_data: Option<usize>,
    entries: &mut Vec<(String, Value)>,
) {
    entries.clear();
    for (index, element) in document.children(system) {
        let text = element.text.trim();
        if !text.is_empty() {
            entries.push((element.name.to_string(), Value::String(text.to_string())));
        }
        for (key, value) in document.attributes(index) {
            let mut name = String::with_capacity(element.name.len() + 1 + key.len());
            name.push_str(element.name);
            name.push('_');
            name.push_str(key);
            entries.push((name, Value::String(value.to_string())));
        }
    }
    entries.reverse();
    let mut unnamed = Vec::new();
    if let Some(data) = event_data {
        for (index, element) in document.children(data) {
            if element.name != "Data" {
                continue;
            }
            // Values as written: a trailing space is part of some (`User32 `).
            let value = Value::String(element.text.to_string());
            match document.attribute(index, "Name").unwrap_or_default() {
                "" => unnamed.push(value),
                name => entries.push((name.to_string(), value)),
            }
        }
    }
    if !unnamed.is_empty() {
        entries.push(("Data".to_string(), Value::Array(unnamed)));
    }
}

// ------------------------------------------------------------------------------- mapping

/// The event ids Seam reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// 4624: an account signed in.
    Logon,
    /// 4625: a sign-in failed.
    LogonFailed,
    /// 4634: a session ended.
    Logoff,
    /// 4647: the user signed out.
    UserLogoff,
    /// 4648: a process signed in with credentials given explicitly (`runas`, a mapped drive
    /// with another account, a remote desktop with saved credentials).
    ExplicitCredentials,
    /// 4672: special privileges assigned to a new sign-in (an administrator's 4624).
    SpecialPrivileges,
    /// 4720.
    AccountCreated,
    /// 4726.
    AccountDeleted,
    /// 4740.
    AccountLocked,
}

impl Kind {
    fn of(id: u32) -> Option<Kind> {
        Some(match id {
            4624 => Kind::Logon,
            4625 => Kind::LogonFailed,
            4634 => Kind::Logoff,
            4647 => Kind::UserLogoff,
            4648 => Kind::ExplicitCredentials,
            4672 => Kind::SpecialPrivileges,
            4720 => Kind::AccountCreated,
            4726 => Kind::AccountDeleted,
            4740 => Kind::AccountLocked,
            _ => return None,
        })
    }

    /// The field naming the event's subject: the account signed in, or the one acting.
    fn user_field(self) -> Field {
        match self {
            Kind::ExplicitCredentials | Kind::SpecialPrivileges => Field::SubjectUserName,
            _ => Field::TargetUserName,
        }
    }

    fn is_account_change(self) -> bool {
        matches!(
            self,
            Kind::AccountCreated | Kind::AccountDeleted | Kind::AccountLocked
        )
    }
}

const SERVICE_OR_SYSTEM: &str = "service or system logon";

fn map(view: &View<'_>, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    if let Some(channel) = &view.channel
        && !channel.eq_ignore_ascii_case("Security")
    {
        return Ok(Read::Skip("a channel other than Security"));
    }
    let id_text = view.event_id.as_deref().ok_or("no EventID")?;
    let id: u32 = id_text
        .parse()
        .map_err(|_| format!("EventID `{}` is not a number", timefmt::shorten(id_text)))?;
    let Some(kind) = Kind::of(id) else {
        return Ok(Read::Skip("event id not mapped"));
    };
    let time = timefmt::rfc3339(view.time.as_deref().ok_or("no event time")?)?;
    let computer = view
        .computer
        .as_deref()
        .map(|name| name.trim_end_matches('.').to_lowercase())
        .filter(|name| !name.is_empty())
        .ok_or("no Computer")?;
    let host = short_host(&computer);
    let field = kind.user_field();
    let user = view
        .data
        .get(field)
        .map(|user| plain_user(user).to_string())
        .filter(|user| !user.is_empty())
        .ok_or_else(|| format!("event {id} has no {}", field.name()))?;
    let logon_type = view.data.get(Field::LogonType);
    let logon_type_number = logon_type.and_then(|text| text.parse::<u32>().ok());
    if !kind.is_account_change() && (logon_type_number == Some(5) || is_system_account(&user)) {
        return Ok(Read::Skip(SERVICE_OR_SYSTEM));
    }

    let uid = match view.record_id.as_deref() {
        Some(record) => record_uid(&computer, record, raw),
        None => common::digest_uid(NAME, &[raw]),
    };
    let (class, activity, outcome) = match kind {
        Kind::Logon | Kind::ExplicitCredentials => (
            EventClass::Authentication,
            Activity::Logon,
            Outcome::Success,
        ),
        Kind::LogonFailed => (
            EventClass::Authentication,
            Activity::Logon,
            Outcome::Failure,
        ),
        Kind::Logoff | Kind::UserLogoff => (
            EventClass::Authentication,
            Activity::Logoff,
            Outcome::Unknown,
        ),
        Kind::SpecialPrivileges => (
            EventClass::Authentication,
            Activity::AuthOther,
            Outcome::Success,
        ),
        Kind::AccountCreated => (
            EventClass::AccountChange,
            Activity::AccountCreated,
            Outcome::Success,
        ),
        Kind::AccountDeleted => (
            EventClass::AccountChange,
            Activity::AccountDeleted,
            Outcome::Success,
        ),
        Kind::AccountLocked => (
            EventClass::AccountChange,
            Activity::AccountLocked,
            Outcome::Success,
        ),
    };
    let mut event = common::new_event(ctx, uid, time, class, activity);
    event.outcome = outcome;
    event.subject.user = Some(user);
    event.asset = Some(host.to_string());
    if kind.is_account_change() {
        if kind == Kind::AccountLocked {
            // 4740 writes the caller computer (where the bad passwords came from) in
            // TargetDomainName.
            event.reason = view
                .data
                .get(Field::TargetDomainName)
                .map(|caller| format!("caller computer {caller}"));
        }
        return Ok(Read::Event(event));
    }
    event.dst.host = Some(host.to_string());
    event.src.ip = view.data.get(Field::IpAddress).and_then(address);
    event.subject.device = view.data.get(Field::WorkstationName).map(str::to_string);
    event.app = Some(match kind {
        Kind::Logon | Kind::LogonFailed | Kind::Logoff => app(logon_type),
        Kind::ExplicitCredentials => "windows:explicit_credentials".to_string(),
        _ => "windows".to_string(),
    });
    match kind {
        Kind::LogonFailed => {
            event.reason = failure_reason(
                view.data.get(Field::Status),
                view.data.get(Field::SubStatus),
            );
        }
        Kind::ExplicitCredentials => {
            event.reason = Some(match view.data.get(Field::TargetUserName) {
                Some(target) => format!("explicit credentials for {}", plain_user(target)),
                None => "explicit credentials".to_string(),
            });
            if let Some(server) = view.data.get(Field::TargetServerName) {
                set_target(&mut event, server, host);
            }
        }
        Kind::SpecialPrivileges => {
            event.privileged = true;
            event.reason = Some("special privileges assigned".to_string());
        }
        _ => {}
    }
    Ok(Read::Event(event))
}

/// `windows-<computer>-<record id>`, the same for a record in either shape; a digest of the
/// record when that is too long for a uid.
fn record_uid(computer: &str, record: &str, raw: &[u8]) -> String {
    let length = NAME.len() + computer.len() + record.len() + 2;
    if length > Event::MAX_UID_BYTES {
        return common::digest_uid(NAME, &[raw]);
    }
    let mut uid = String::with_capacity(length);
    for part in [NAME, "-", computer, "-", record] {
        uid.push_str(part);
    }
    uid
}

/// `hq-db1` of `hq-db1.corp.example` (already lowercase).
fn short_host(computer: &str) -> &str {
    computer.split('.').next().unwrap_or(computer)
}

/// `EXAMPLE\bob` → `bob`; a UPN stays whole, as the directory knows people by it too.
fn plain_user(user: &str) -> &str {
    user.rsplit('\\').next().unwrap_or(user).trim()
}

/// The built-in accounts services and the desktop run as (`NT AUTHORITY\SYSTEM`, the
/// Desktop Window Manager's `DWM-1`, the font driver host's `UMFD-0`).
fn is_system_account(user: &str) -> bool {
    let starts_with = |prefix: &str| {
        user.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    [
        "SYSTEM",
        "LOCAL SERVICE",
        "NETWORK SERVICE",
        "ANONYMOUS LOGON",
    ]
    .iter()
    .any(|name| user.eq_ignore_ascii_case(name))
        || starts_with("DWM-")
        || starts_with("UMFD-")
}

/// An address as Windows writes it; an IPv4 address mapped into IPv6 (`::ffff:10.10.1.21`)
/// becomes the IPv4 address, as the estate knows it.
fn address(text: &str) -> Option<IpAddr> {
    common::ip(Some(text)).map(|address| address.to_canonical())
}

/// Where explicit credentials were used: an address, or a host (the local machine for
/// `localhost`).
fn set_target(event: &mut Event, server: &str, local: &str) {
    if let Some(ip) = address(server) {
        event.dst.ip = Some(ip);
        event.dst.host = None;
        return;
    }
    let server = server.trim_end_matches('.').to_lowercase();
    event.dst.host = Some(if server == "localhost" {
        local.to_string()
    } else {
        short_host(&server).to_string()
    });
}

/// `windows:<logon type>`; an unknown number is kept, a missing or garbled type is `windows`.
fn app(logon_type: Option<&str>) -> String {
    let Some(number) = logon_type.and_then(|text| text.parse::<u32>().ok()) else {
        return "windows".to_string();
    };
    let name = match number {
        2 => "interactive",
        3 => "network",
        4 => "batch",
        5 => "service",
        7 => "unlock",
        8 => "network_cleartext",
        9 => "new_credentials",
        10 => "remote_interactive",
        11 => "cached_interactive",
        12 => "cached_remote_interactive",
        13 => "cached_unlock",
        _ => return format!("windows:unknown-logon-type-{number}"),
    };
    format!("windows:{name}")
}

/// Why a sign-in failed: the SubStatus when it says more than "none", else the Status, in
/// words for the well-known NTSTATUS codes and as the code otherwise.
fn failure_reason(status: Option<&str>, sub_status: Option<&str>) -> Option<String> {
    let sub_status = sub_status.filter(|code| ntstatus(code) != Some(0));
    let code = sub_status.or(status)?;
    let Some(number) = ntstatus(code) else {
        return Some(timefmt::shorten(code));
    };
    Some(match ntstatus_words(number) {
        Some(words) => words.to_string(),
        None => format!("0x{number:08X}"),
    })
}

fn ntstatus(code: &str) -> Option<u32> {
    let hex = code
        .strip_prefix("0x")
        .or_else(|| code.strip_prefix("0X"))?;
    u32::from_str_radix(hex, 16).ok()
}

fn ntstatus_words(code: u32) -> Option<&'static str> {
    Some(match code {
        0xC000_006A => "bad password",
        0xC000_0064 => "no such user",
        0xC000_0234 => "account locked out",
        0xC000_0072 => "account disabled",
        0xC000_006F => "outside allowed logon hours",
        0xC000_0070 => "workstation not allowed",
        0xC000_0071 => "password expired",
        0xC000_0193 => "account expired",
        0xC000_0133 => "clock skew with the domain controller",
        0xC000_015B => "logon type not granted",
        0xC000_0224 => "password must change",
        // The two generic codes, when no SubStatus says more.
        0xC000_006D => "bad user name or password",
        0xC000_006E => "account restriction",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::new("windows", timefmt::rfc3339("2026-03-02T12:00:00Z").unwrap())
    }

    fn xml_event(id: u32, data: &str) -> String {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>{id}</EventID><TimeCreated SystemTime='2026-03-02T21:14:05.1234567Z'/><EventRecordID>77</EventRecordID><Channel>Security</Channel><Computer>HQ-DB1.corp.example</Computer></System><EventData>{data}</EventData></Event>"
        )
    }

    fn one(input: &str) -> Event {
        let batch = parse(input.as_bytes(), &ctx());
        assert_eq!(batch.rejected, [], "{input}");
        assert_eq!(batch.events.len(), 1, "{input}: {batch:?}");
        batch.events.into_iter().next().unwrap()
    }

    #[test]
    fn ntstatus_codes_in_words() {
        assert_eq!(
            failure_reason(Some("0xC000006D"), Some("0xC000006A")).as_deref(),
            Some("bad password")
        );
        assert_eq!(
            failure_reason(Some("0xc0000234"), Some("0x0")).as_deref(),
            Some("account locked out")
        );
        assert_eq!(
            failure_reason(Some("0xC000006D"), None).as_deref(),
            Some("bad user name or password")
        );
        assert_eq!(
            failure_reason(Some("0xC000006E"), Some("0xC0000072")).as_deref(),
            Some("account disabled")
        );
        assert_eq!(
            failure_reason(Some("0xc00000dc"), None).as_deref(),
            Some("0xC00000DC")
        );
        assert_eq!(
            failure_reason(Some("%%2313"), None).as_deref(),
            Some("%%2313")
        );
        assert_eq!(failure_reason(None, None), None);
        for (code, words) in [
            ("0xC0000064", "no such user"),
            ("0xC000006F", "outside allowed logon hours"),
            ("0xC0000070", "workstation not allowed"),
            ("0xC0000071", "password expired"),
            ("0xC0000193", "account expired"),
            ("0xC0000133", "clock skew with the domain controller"),
            ("0xC000015B", "logon type not granted"),
            ("0xC0000224", "password must change"),
        ] {
            assert_eq!(
                failure_reason(Some("0xC000006D"), Some(code)).as_deref(),
                Some(words)
            );
        }
    }

    #[test]
    fn logon_types_name_the_app() {
        assert_eq!(app(Some("10")), "windows:remote_interactive");
        assert_eq!(app(Some("3")), "windows:network");
        assert_eq!(app(Some("42")), "windows:unknown-logon-type-42");
        assert_eq!(app(Some("x")), "windows");
        assert_eq!(app(None), "windows");
    }

    #[test]
    fn an_xml_sign_in() {
        let event = one(&xml_event(
            4624,
            "<Data Name='TargetUserName'>bob</Data><Data Name='TargetDomainName'>EXAMPLE</Data><Data Name='LogonType'>10</Data><Data Name='IpAddress'>::ffff:10.10.1.22</Data><Data Name='WorkstationName'>HQ-WS-BOB</Data>",
        ));
        assert_eq!(event.uid, "windows-hq-db1.corp.example-77");
        assert_eq!(event.time.to_string(), "2026-03-02T21:14:05.123Z");
        assert_eq!(event.subject.user.as_deref(), Some("bob"));
        assert_eq!(event.asset.as_deref(), Some("hq-db1"));
        assert_eq!(event.dst.host.as_deref(), Some("hq-db1"));
        assert_eq!(event.src.ip, "10.10.1.22".parse().ok());
        assert_eq!(event.app.as_deref(), Some("windows:remote_interactive"));
        let raw = event.raw.unwrap();
        assert_eq!(raw["EventID"], "4624");
        assert_eq!(raw["Provider_Name"], "Microsoft-Windows-Security-Auditing");
        assert_eq!(
            raw["TimeCreated_SystemTime"],
            "2026-03-02T21:14:05.1234567Z"
        );
        assert_eq!(raw["Computer"], "HQ-DB1.corp.example");
        assert_eq!(raw["TargetUserName"], "bob");
    }

    #[test]
    fn machine_accounts_stay_and_system_accounts_go() {
        let event = one(&xml_event(
            4624,
            "<Data Name='TargetUserName'>HQ-WS-DAN$</Data><Data Name='LogonType'>3</Data>",
        ));
        assert_eq!(event.subject.user.as_deref(), Some("HQ-WS-DAN$"));
        for data in [
            "<Data Name='TargetUserName'>SYSTEM</Data><Data Name='LogonType'>0</Data>",
            "<Data Name='TargetUserName'>DWM-3</Data><Data Name='LogonType'>2</Data>",
            "<Data Name='TargetUserName'>svc-backup</Data><Data Name='LogonType'>5</Data>",
        ] {
            let batch = parse(xml_event(4624, data).as_bytes(), &ctx());
            assert_eq!(
                batch.skip_reasons.get(SERVICE_OR_SYSTEM),
                Some(&1),
                "{data}"
            );
        }
    }

    #[test]
    fn the_shapes_between_events() {
        let input = format!(
            "<?xml version='1.0'?>\n<Events>\n{}\n<!-- exported -->\n{}\n</Events>\n",
            xml_event(4634, "<Data Name='TargetUserName'>bob</Data>"),
            xml_event(4647, "<Data Name='TargetUserName'>bob</Data>"),
        );
        let batch = parse(input.as_bytes(), &ctx());
        assert_eq!((batch.events.len(), batch.rejected.len()), (2, 0));
        let junk = format!(
            "{}\nnot xml\n",
            xml_event(4647, "<Data Name='TargetUserName'>bob</Data>")
        );
        let batch = parse(junk.as_bytes(), &ctx());
        assert_eq!((batch.events.len(), batch.rejected.len()), (1, 1));
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(batch.rejected[0].raw, b"not xml");
        let nothing = parse(b"<Foo/>", &ctx());
        assert_eq!(
            nothing.rejected[0].reason,
            "no <Event> element in the input"
        );
    }

    /// The raw object as first written, one map insertion at a time: the reference the sorted
    /// build must agree with.
    fn reference_raw(document: &Document<'_>, system: usize, data: Option<usize>) -> Value {
        let mut object = serde_json::Map::new();
        for (index, element) in document.children(system) {
            let text = element.text.trim();
            if !text.is_empty() {
                object.insert(element.name.to_string(), Value::String(text.to_string()));
            }
            for (key, value) in document.attributes(index) {
                let name = format!("{}_{key}", element.name);
                object.insert(name, Value::String(value.to_string()));
            }
        }
        let mut unnamed = Vec::new();
        for (index, element) in data.into_iter().flat_map(|data| document.children(data)) {
            if element.name == "Data" {
                let value = Value::String(element.text.to_string());
                match document.attribute(index, "Name").unwrap_or_default() {
                    "" => unnamed.push(value),
                    name => {
                        object.entry(name).or_insert(value);
                    }
                }
            }
        }
        if !unnamed.is_empty() {
            object.entry("Data").or_insert(Value::Array(unnamed));
        }
        Value::Object(object)
    }

    #[test]
    fn raw_objects_keep_the_strongest_of_repeated_names() {
        // One builder for all, each record twice (the second time in a remembered order),
        // records of one size with other names between (a remembered order that no longer
        // sorts).
        let mut builder = RawBuilder::default();
        let records = [
            xml_event(4624, "<Data Name='TargetUserName'>bob</Data><Data>x</Data>"),
            // A repeated <System> child (the later one wins), a <Data> named as a <System>
            // field (never replacing it), a repeated <Data> (the first wins), unnamed ones
            // beside a <Data Name='Data'>.
            "<Event><System><EventID>1</EventID><EventID>2</EventID><Level>4</Level><Provider Name='a'/><Provider_Name>b</Provider_Name></System><EventData><Data Name='Level'>9</Data><Data Name='X'>first</Data><Data Name='X'>second</Data><Data>u1</Data><Data Name=''>u2</Data><Data Name='Data'>named</Data><Other Name='Y'>z</Other></EventData></Event>".to_string(),
            "<Event><System/><EventData><Data>only</Data><Data Name='Keywords'> spaced </Data></EventData><EventData><Data Name='Late'>1</Data></EventData></Event>".to_string(),
            "<Event><System><Channel>  </Channel><Execution ProcessID='4' ThreadID='8'/></System></Event>".to_string(),
            "<Event><System><B>1</B><A>2</A></System></Event>".to_string(),
            "<Event><System><A>1</A><B>2</B></System></Event>".to_string(),
            "<Event><System><C>1</C><A>2</A></System></Event>".to_string(),
            "<Event><System><A>1</A><A>2</A></System></Event>".to_string(),
            xml_event(4625, "<Data Name='TargetUserName'>bob</Data><Data Name='Status'>0x0</Data>"),
            xml_event(4625, "<Data Name='SubStatus'>0x0</Data><Data Name='Status'>0x0</Data>"),
        ];
        for record in records.iter().chain(records.iter()) {
            let (document, _) = crate::xml::element(record).unwrap();
            let system = document.child(Document::ROOT, "System").unwrap();
            let data = document.child(Document::ROOT, "EventData");
            assert_eq!(
                builder.build(&document, system, data),
                reference_raw(&document, system, data),
                "{record}"
            );
            assert!(builder.entries.is_empty());
        }
    }

    proptest::proptest! {
        #[test]
        fn event_starts_are_found_as_a_plain_search_finds_them(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("<Event"),
                    proptest::strategy::Just("<Events>"),
                    proptest::strategy::Just("<EventID>"),
                    proptest::strategy::Just("</Event>"),
                    proptest::strategy::Just("<"),
                    proptest::strategy::Just(" "),
                    proptest::strategy::Just("\n"),
                    proptest::strategy::Just(">"),
                    proptest::strategy::Just("/"),
                    proptest::strategy::Just("x"),
                ],
                0..24,
            )
        ) {
            let text = pieces.concat();
            let expected: Vec<usize> = text
                .match_indices("<Event")
                .map(|(at, _)| at)
                .filter(|at| {
                    matches!(
                        text.as_bytes().get(at + 6),
                        Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
                    )
                })
                .collect();
            proptest::prop_assert_eq!(event_starts(&text), expected);
        }
    }

    #[test]
    fn explicit_credentials_name_the_actor_and_the_target() {
        let event = one(&xml_event(
            4648,
            "<Data Name='SubjectUserName'>dan</Data><Data Name='TargetUserName'>EXAMPLE\\bob</Data><Data Name='TargetServerName'>localhost</Data>",
        ));
        assert_eq!(event.subject.user.as_deref(), Some("dan"));
        assert_eq!(
            event.reason.as_deref(),
            Some("explicit credentials for bob")
        );
        assert_eq!(event.dst.host.as_deref(), Some("hq-db1"));
        let event = one(&xml_event(
            4648,
            "<Data Name='SubjectUserName'>dan</Data><Data Name='TargetUserName'>bob</Data><Data Name='TargetServerName'>10.40.0.11</Data>",
        ));
        assert_eq!(event.dst.ip, "10.40.0.11".parse().ok());
        assert_eq!(event.dst.host, None);
    }
}
