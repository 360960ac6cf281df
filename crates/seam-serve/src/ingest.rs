//! The path every transport shares: bytes of one source → adapter → events and dead letters →
//! a job for the writer → the answer once durable.

use std::sync::atomic::Ordering;

use seam_adapters::{Adapter, Batch, ParseContext};
use seam_model::Ts;
use seam_store::DeadLetter;

use crate::config::{AdapterChoice, SourceConfig};
use crate::server::Shared;
use crate::writer::{Committed, Job, SubmitError};

/// A configured source, ready to parse.
#[derive(Debug)]
pub(crate) struct SourceRuntime {
    pub config: SourceConfig,
    /// The context with the source's name, zone and bounds; `observed` is set per input.
    pub context: ParseContext,
    /// Nonces seen within the replay window (HMAC sources).
    pub nonces: std::sync::Mutex<seam_adapters::NonceSet>,
    /// A pulled source whose last pull failed.
    pub pull_failing: std::sync::atomic::AtomicBool,
}

/// One rejected record, for the sender.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedRecord {
    pub index: usize,
    pub reason: String,
}

/// What became of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestReport {
    /// Events durable in the log now (new ones and ones already there).
    pub accepted: usize,
    /// Of those, events that were already stored (same uid).
    pub duplicates: usize,
    /// Records that parsed but carry nothing Seam uses.
    pub skipped: usize,
    /// Records that could not be read, each kept as a dead letter.
    pub rejected: Vec<RejectedRecord>,
}

/// Why an input was not made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the queues are full; retry shortly")]
    Busy,
    #[error("the service is stopping")]
    Closed,
    #[error("the input is {size} bytes, more than the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("the store could not write: {0}")]
    Store(String),
}

/// An input parsed and serialized, ready to queue.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub job: Job,
    pub skipped: usize,
    pub rejected: Vec<RejectedRecord>,
}

/// Parses one input of `source`. `origin` names the input (it goes into dead letters'
/// positions as `origin#index`). Pure but for the clock reading passed in.
pub(crate) fn prepare(
    shared: &Shared,
    source_index: usize,
    input: &[u8],
    topic: Option<&str>,
    origin: &str,
    observed: Ts,
) -> Result<Prepared, IngestError> {
    let Some(source) = shared.sources.get(source_index) else {
        return Err(IngestError::Closed);
    };
    let mut ctx = source.context.clone();
    ctx.observed = observed;
    if let Some(topic) = topic {
        ctx.topic = Some(topic.to_string());
    }
    let batch = match &source.config.adapter {
        AdapterChoice::One(adapter) => parse_one(adapter, input, &ctx)?,
        AdapterChoice::SyslogAuto => parse_syslog_auto(input, &ctx)?,
        AdapterChoice::DirectoryImport(mapping) => {
            crate::import::parse(mapping, &shared.estate, input, &ctx)
        }
    };
    let received = Received {
        inputs: 1,
        bytes: input.len() as u64,
    };
    Ok(prepare_parsed(
        shared,
        source_index,
        batch,
        received,
        observed,
        &|index| format!("{origin}#{index}"),
    ))
}

/// How much one prepared job received, for the source's counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Requests, messages, files or datagrams.
    pub inputs: u64,
    pub bytes: u64,
}

/// Turns what an adapter (or a flow decoder) made of an input into a job for the writer:
/// counts it, notes its sequence numbers, serializes its events and makes each rejected record
/// a dead letter at `position(index)`.
pub(crate) fn prepare_parsed(
    shared: &Shared,
    source_index: usize,
    batch: Batch,
    received: Received,
    observed: Ts,
    position: &dyn Fn(usize) -> String,
) -> Prepared {
    let name = shared
        .sources
        .get(source_index)
        .map_or_else(String::new, |s| s.config.name.clone());
    shared.note_sequences(source_index, &batch.sequences);
    if let Some(counters) = shared.metrics.source(&name) {
        counters
            .inputs
            .fetch_add(received.inputs, Ordering::Relaxed);
        counters.bytes.fetch_add(received.bytes, Ordering::Relaxed);
        counters
            .rejected
            .fetch_add(batch.rejected.len() as u64, Ordering::Relaxed);
        counters
            .skipped
            .fetch_add(batch.skipped as u64, Ordering::Relaxed);
        if !batch.skip_reasons.is_empty()
            && let Ok(mut reasons) = counters.skip_reasons.lock()
        {
            for (reason, count) in &batch.skip_reasons {
                *reasons.entry(reason.clone()).or_default() += *count as u64;
            }
        }
    }
    let mut jsons = Vec::with_capacity(batch.events.len());
    let mut events = Vec::with_capacity(batch.events.len());
    let mut rejected: Vec<RejectedRecord> = Vec::new();
    let mut dead_letters = Vec::with_capacity(batch.rejected.len());
    for event in batch.events {
        match serde_json::to_string(&event) {
            Ok(json) => {
                jsons.push(json);
                events.push(event);
            }
            Err(error) => rejected.push(RejectedRecord {
                index: 0,
                reason: format!("event `{}` cannot be serialized: {error}", event.uid),
            }),
        }
    }
    for record in batch.rejected {
        dead_letters.push(DeadLetter {
            source: name.clone(),
            position: position(record.index),
            observed,
            reason: record.reason.clone(),
            raw: record.raw,
        });
        rejected.push(RejectedRecord {
            index: record.index,
            reason: record.reason,
        });
    }
    Prepared {
        job: Job {
            events,
            jsons,
            dead_letters,
            documents: Box::default(),
            reply: None,
            source: source_index,
        },
        skipped: batch.skipped,
        rejected,
    }
}

/// An input that cannot be read at all (over the size limit, or refused by its adapter as a
/// whole): one dead letter with the reason and the first bytes, so that the transport can
/// acknowledge it instead of receiving it again forever.
pub(crate) fn dead_letter_only(
    shared: &Shared,
    source_index: usize,
    sample: &[u8],
    reason: String,
    origin: &str,
    observed: Ts,
) -> Prepared {
    let name = shared
        .sources
        .get(source_index)
        .map_or_else(String::new, |s| s.config.name.clone());
    if let Some(counters) = shared.metrics.source(&name) {
        counters.inputs.fetch_add(1, Ordering::Relaxed);
        counters.rejected.fetch_add(1, Ordering::Relaxed);
    }
    let raw = sample
        .get(..seam_adapters::MAX_REJECTED_RAW_BYTES)
        .unwrap_or(sample)
        .to_vec();
    Prepared {
        job: Job {
            events: Vec::new(),
            jsons: Vec::new(),
            dead_letters: vec![DeadLetter {
                source: name,
                position: format!("{origin}#1"),
                observed,
                reason: reason.clone(),
                raw,
            }],
            documents: Box::default(),
            reply: None,
            source: source_index,
        },
        skipped: 0,
        rejected: vec![RejectedRecord { index: 1, reason }],
    }
}

fn parse_one(adapter: &Adapter, input: &[u8], ctx: &ParseContext) -> Result<Batch, IngestError> {
    adapter.parse(input, ctx).map_err(|error| match error {
        seam_adapters::BatchError::TooLarge { size, max } => IngestError::TooLarge { size, max },
    })
}

/// Which syslog adapter a line's format belongs to.
pub(crate) fn classify_syslog(line: &[u8]) -> Option<Adapter> {
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    if is_windows_event(line) {
        return Some(Adapter::Windows);
    }
    if has(b"CISE_") {
        return Some(Adapter::Ise);
    }
    if has(b",GLOBALPROTECT,") {
        return Some(Adapter::GlobalProtect);
    }
    if is_panos_record(line, b",TRAFFIC,") || is_panos_record(line, b",THREAT,") {
        return Some(Adapter::Panos);
    }
    if has(b"dhcpd") || has(b"DHCPACK") || has(b"DHCPRELEASE") || has(b"DHCP4_") || has(b"kea-dhcp")
    {
        return Some(Adapter::Dhcp);
    }
    if has(b" sshd[") || has(b" sshd ") || has(b" sudo:") || has(b" sudo[") || has(b"pam_unix(") {
        return Some(Adapter::LinuxAuth);
    }
    // Meraki: `<PRI>1 <epoch>.<fraction> <device> <feed> …`.
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix('<')?;
    let (_, rest) = rest.split_once('>')?;
    let mut fields = rest.split(' ');
    let version = fields.next()?;
    let stamp = fields.next()?;
    if version == "1"
        && stamp.split_once('.').is_some_and(|(s, f)| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && f.bytes().all(|b| b.is_ascii_digit())
        })
    {
        return Some(Adapter::Meraki);
    }
    None
}

/// A PAN-OS record of the type `marker` (`,TRAFFIC,`): the type is the fourth field of the CSV
/// after the syslog header, behind the Receive Time (`YYYY/MM/DD hh:mm:ss`) and the serial
/// number. Checking both keeps a line that merely mentions the word elsewhere out.
fn is_panos_record(line: &[u8], marker: &[u8]) -> bool {
    let Some(at) = line.windows(marker.len()).position(|w| w == marker) else {
        return false;
    };
    let Some(before) = line.get(..at) else {
        return false;
    };
    let mut fields = before.rsplit(|b| *b == b',');
    let serial = fields.next().unwrap_or_default();
    let received = fields.next().unwrap_or_default();
    let stamp_shape = b"dddd/dd/dd dd:dd:dd";
    !serial.is_empty()
        && serial.iter().all(u8::is_ascii_alphanumeric)
        && received.len() == stamp_shape.len()
        && received
            .iter()
            .zip(stamp_shape)
            .all(|(byte, shape)| match shape {
                b'd' => byte.is_ascii_digit(),
                other => byte == other,
            })
}

/// A Windows event as the `windows` adapter reads it, one per line: the event's XML (NXLog's
/// `to_xml()` sends it so over TCP) or Winlogbeat's JSON. Windows events in syslog text
/// (Snare's `MSWinEventLog`, NXLog's default syslog output) carry their fields in forms the
/// adapter does not read, so they are not recognized.
fn is_windows_event(line: &[u8]) -> bool {
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let text = line.get(start..).unwrap_or_default();
    (text.starts_with(b"<Event ") || text.starts_with(b"<Event>"))
        && has(b"schemas.microsoft.com/win/2004/08/events/event")
        || text.starts_with(b"{") && has(b"\"winlog\"")
}

/// Syslog lines of several formats: each line goes to the adapter of its format, the events
/// under that adapter's name as their source; lines no adapter recognizes are rejected.
fn parse_syslog_auto(input: &[u8], ctx: &ParseContext) -> Result<Batch, IngestError> {
    if input.len() > seam_adapters::MAX_BATCH_BYTES {
        return Err(IngestError::TooLarge {
            size: input.len(),
            max: seam_adapters::MAX_BATCH_BYTES,
        });
    }
    // Per adapter: its lines joined, and each line's 1-based number in the input.
    let mut groups: Vec<(Adapter, Vec<u8>, Vec<usize>)> = Vec::new();
    let mut batch = Batch::default();
    for (number, line) in input.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Some(adapter) = classify_syslog(line) else {
            batch.rejected.push(seam_adapters::Rejected {
                index: number + 1,
                raw: line
                    .get(..seam_adapters::MAX_REJECTED_RAW_BYTES)
                    .unwrap_or(line)
                    .to_vec(),
                reason: "no syslog adapter recognizes this line (ISE, Meraki, GlobalProtect, PAN-OS traffic and threats, DHCP, Linux authentication, Windows event XML or Winlogbeat JSON)"
                    .into(),
            });
            continue;
        };
        let group = match groups
            .iter()
            .position(|(a, _, _)| a.name() == adapter.name())
        {
            Some(index) => groups.get_mut(index),
            None => {
                groups.push((adapter, Vec::new(), Vec::new()));
                groups.last_mut()
            }
        };
        if let Some((_, text, numbers)) = group {
            text.extend_from_slice(line);
            text.push(b'\n');
            numbers.push(number + 1);
        }
    }
    for (adapter, text, numbers) in groups {
        let mut group_ctx = ctx.clone();
        group_ctx.source = adapter.name().to_string();
        let mut parsed = parse_one(&adapter, &text, &group_ctx)?;
        batch.events.append(&mut parsed.events);
        batch.skipped += parsed.skipped;
        for (reason, count) in parsed.skip_reasons {
            *batch.skip_reasons.entry(reason).or_default() += count;
        }
        for mut rejected in parsed.rejected {
            rejected.index = numbers
                .get(rejected.index.saturating_sub(1))
                .copied()
                .unwrap_or(rejected.index);
            batch.rejected.push(rejected);
        }
    }
    batch.rejected.sort_by_key(|r| r.index);
    Ok(batch)
}

/// An input queued for the writer, waiting to be durable.
#[derive(Debug)]
pub(crate) struct Waiting {
    answer: tokio::sync::oneshot::Receiver<Result<Committed, String>>,
    events: usize,
    skipped: usize,
    rejected: Vec<RejectedRecord>,
}

impl Waiting {
    /// Resolves once the input is durable (or could not be made so).
    pub(crate) async fn wait(self) -> Result<IngestReport, IngestError> {
        match self.answer.await {
            Ok(Ok(Committed {
                inserted,
                duplicates,
            })) => {
                debug_assert_eq!(inserted + duplicates, self.events);
                Ok(IngestReport {
                    accepted: inserted + duplicates,
                    duplicates,
                    skipped: self.skipped,
                    rejected: self.rejected,
                })
            }
            Ok(Err(reason)) => Err(IngestError::Store(reason)),
            // The writer stopped before answering: nothing is promised.
            Err(_) => Err(IngestError::Closed),
        }
    }
}

/// Queues a prepared input; on a full or closed queue, gives it back.
pub(crate) fn enqueue(
    shared: &Shared,
    prepared: Prepared,
) -> Result<Waiting, (IngestError, Box<Prepared>)> {
    let Prepared {
        mut job,
        skipped,
        rejected,
    } = prepared;
    let events = job.events.len();
    // Past its source's rate or quota, a dead letter is counted (and sampled), not stored.
    shared
        .dead_letters
        .admit(&mut job.dead_letters, &shared.metrics);
    let (reply, answer) = tokio::sync::oneshot::channel();
    job.reply = Some(reply);
    match shared.writer.try_submit(job) {
        Ok(()) => Ok(Waiting {
            answer,
            events,
            skipped,
            rejected,
        }),
        Err((error, mut job)) => {
            job.reply = None;
            let error = match error {
                SubmitError::Busy => IngestError::Busy,
                SubmitError::Closed => IngestError::Closed,
            };
            Err((
                error,
                Box::new(Prepared {
                    job,
                    skipped,
                    rejected,
                }),
            ))
        }
    }
}

/// Queues a prepared input and waits until it is durable; a full queue is an error (HTTP
/// answers 503 and the sender retries).
pub(crate) async fn submit(
    shared: &Shared,
    prepared: Prepared,
) -> Result<IngestReport, IngestError> {
    let source = prepared.job.source;
    match enqueue(shared, prepared) {
        Ok(waiting) => waiting.wait().await,
        Err((error, _)) => {
            if let Some(counters) = shared
                .sources
                .get(source)
                .and_then(|s| shared.metrics.source(&s.config.name))
            {
                counters.refused_busy.fetch_add(1, Ordering::Relaxed);
            }
            Err(error)
        }
    }
}

/// Queues a prepared input, waiting while the queue is full (for transports that hold the
/// sender back instead: TCP syslog, MQTT, files), then waits until it is durable.
pub(crate) async fn submit_patiently(
    shared: &Shared,
    mut prepared: Prepared,
) -> Result<IngestReport, IngestError> {
    loop {
        match enqueue(shared, prepared) {
            Ok(waiting) => return waiting.wait().await,
            Err((IngestError::Busy, back)) if !*shared.shutdown.borrow() => {
                prepared = *back;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// Queues a prepared input without waiting for it to be durable (UDP: nobody to answer). A full
/// queue is retried for up to `patience`: meanwhile the receiving loop stops reading and
/// datagrams wait in the socket's receive buffer (16 MiB) instead of being dropped here. Returns
/// false when it was dropped because the queue stayed full or is closed.
pub(crate) async fn submit_no_wait(
    shared: &Shared,
    prepared: Prepared,
    patience: std::time::Duration,
) -> bool {
    let started = std::time::Instant::now();
    let mut job = prepared.job;
    shared
        .dead_letters
        .admit(&mut job.dead_letters, &shared.metrics);
    loop {
        match shared.writer.try_submit(job) {
            Ok(()) => return true,
            Err((crate::writer::SubmitError::Busy, back))
                if started.elapsed() < patience && !*shared.shutdown.borrow() =>
            {
                job = back;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines_are_told_apart() {
        let name = |line: &str| classify_syslog(line.as_bytes()).map(|a| a.name().to_string());
        assert_eq!(
            name("<181>Mar  2 08:52:00 ise01 CISE_Passed_Authentications 0000012001 1 0 …")
                .as_deref(),
            Some("ise")
        );
        assert_eq!(
            name("<134>1 1772437980.118204551 hq-ap-office events type=association").as_deref(),
            Some("meraki")
        );
        assert_eq!(
            name("<30>Mar  2 08:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32 to 3c:22:fb:00:00:02 via eth1").as_deref(),
            Some("dhcp")
        );
        assert_eq!(
            name("<14>Mar  2 08:00:00 fw1 1,2026/03/02 08:00:00,0123,GLOBALPROTECT,0,2561")
                .as_deref(),
            Some("globalprotect")
        );
        assert_eq!(
            name("<38>Mar  2 22:14:05 db01 sshd[4121]: Accepted password for bob from 10.10.1.22 port 40110 ssh2")
                .as_deref(),
            Some("linux-auth")
        );
        assert_eq!(
            name("<14>1 2026-03-02T08:00:00Z host app - - - hello"),
            None
        );
        for (line, adapter) in [
            (
                "<14>Mar  2 08:57:10 pa-fw01 1,2026/03/02 08:57:10,013201009876,TRAFFIC,start,2561,2026/03/02 08:57:09,10.10.1.21,203.0.113.80",
                Some("panos"),
            ),
            (
                "<14>Mar  2 09:05:12 pa-fw01 1,2026/03/02 09:05:12,013201009876,THREAT,url,2049,2026/03/02 09:05:11,10.10.1.21",
                Some("panos"),
            ),
            // The word elsewhere in a line is not a PAN-OS record.
            ("<14>Mar  2 09:05:12 app1 audit: kind=a,TRAFFIC,b", None),
            (
                "<14>Mar  2 09:05:12 pa-fw01 1,2026/03/02 09:05:12,0132 01,THREAT,url",
                None,
            ),
            (
                "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4624</EventID></System></Event>",
                Some("windows"),
            ),
            (
                r#"{"@timestamp":"2026-03-02T08:00:00Z","winlog":{"event_id":4624,"channel":"Security"}}"#,
                Some("windows"),
            ),
            ("<Event><System/></Event>", None),
            (
                "<13>Mar  2 08:00:00 HQ-DB1 MSWinEventLog\t1\tSecurity\t4624\tAn account was successfully logged on",
                None,
            ),
        ] {
            assert_eq!(name(line).as_deref(), adapter, "{line}");
        }
        assert_eq!(name("\u{0}\u{1}binary"), None);
    }

    #[test]
    fn mixed_syslog_keeps_line_numbers_for_rejections() {
        let ctx = ParseContext::new("syslog", Ts(1_772_445_600_000));
        let input = b"<134>1 1772437980.118204551 hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:00:00:01' client_ip='10.10.1.31' identity='alice@example.com' aid='1'\nnot syslog at all\n<30>Mar  2 08:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32 to 3c:22:fb:00:00:02 (bob-phone) via eth1\n";
        let batch = parse_syslog_auto(input, &ctx).unwrap();
        assert_eq!(batch.events.len(), 2, "{batch:?}");
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        let sources: Vec<&str> = batch.events.iter().map(|e| e.source.as_str()).collect();
        assert!(
            sources.contains(&"meraki") && sources.contains(&"dhcp"),
            "{sources:?}"
        );
    }

    /// The PAN-OS and Windows fixtures of the adapters, mixed into one syslog stream: every
    /// TRAFFIC and THREAT line goes to `panos`, every event to `windows`, and they come out as
    /// those adapters make them when read alone.
    #[test]
    fn panos_and_windows_lines_reach_their_adapters() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../seam-adapters/tests/fixtures");
        let panos = std::fs::read_to_string(fixtures.join("panos.log")).unwrap();
        let windows = std::fs::read_to_string(fixtures.join("windows.jsonl")).unwrap();
        let ctx = ParseContext::new("syslog", Ts(1_772_445_600_000));
        let records: Vec<&str> = panos
            .lines()
            .filter(|l| l.contains(",TRAFFIC,") || l.contains(",THREAT,"))
            .collect();
        let mut input = String::new();
        for (panos, windows) in records
            .iter()
            .zip(windows.lines().chain(std::iter::repeat("")))
        {
            input.push_str(&format!("{panos}\n{windows}\n"));
        }
        let batch = parse_syslog_auto(input.as_bytes(), &ctx).unwrap();
        let alone = |adapter: Adapter, text: &str| {
            let mut ctx = ctx.clone();
            ctx.source = adapter.name().to_string();
            adapter.parse(text.as_bytes(), &ctx).unwrap()
        };
        let panos_alone = alone(Adapter::Panos, &records.join("\n"));
        let windows_alone = alone(
            Adapter::Windows,
            &windows
                .lines()
                .take(records.len())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let uids = |events: &[seam_model::Event], source: &str| -> Vec<String> {
            events
                .iter()
                .filter(|e| e.source == source)
                .map(|e| e.uid.clone())
                .collect()
        };
        assert!(!panos_alone.events.is_empty() && !windows_alone.events.is_empty());
        assert_eq!(
            uids(&batch.events, "panos"),
            uids(&panos_alone.events, "panos")
        );
        assert_eq!(
            uids(&batch.events, "windows"),
            uids(&windows_alone.events, "windows")
        );
        assert_eq!(
            batch.rejected.len(),
            panos_alone.rejected.len() + windows_alone.rejected.len(),
            "{:?}",
            batch.rejected
        );
    }
}
