//! Syslog listeners. UDP: datagrams are gathered into batches of lines; nothing can be
//! acknowledged, so a batch the queues cannot take is dropped and counted (and the kernel's own
//! drops on the socket are read from `/proc/net/udp`). TCP: RFC 6587 framing, octet counting
//! (`LEN SP MSG`) or one message per line, told apart per frame; a connection is read further
//! only once what it sent so far is durable, so TCP flow control is the backpressure.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seam_model::Ts;
use seam_store::DeadLetter;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};

use crate::ingest::{self, Prepared, RejectedRecord};
use crate::server::Shared;
use crate::tls::{Acceptor, Stream};

/// The most lines one UDP batch gathers before it is parsed.
const UDP_BATCH_LINES: usize = 1024;
/// How long a full writer queue may hold a UDP batch back before it is dropped (and counted);
/// the socket buffer keeps the datagrams that arrive meanwhile.
const UDP_QUEUE_PATIENCE: Duration = Duration::from_millis(500);

pub(crate) async fn udp(shared: Arc<Shared>, index: usize, socket: UdpSocket, max_message: usize) {
    let name = shared
        .sources
        .get(index)
        .map(|s| s.config.name.clone())
        .unwrap_or_default();
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    // The receiving loop only gathers; a second task parses and queues, so datagrams keep
    // being read while a batch is parsed.
    let (batches, mut to_parse) = tokio::sync::mpsc::channel::<Gathered>(4);
    let allow = shared
        .sources
        .get(index)
        .map(|s| s.config.allow.clone())
        .unwrap_or_default();
    let parser = {
        let shared = Arc::clone(&shared);
        let name = name.clone();
        tokio::spawn(async move {
            while let Some(Gathered {
                lines,
                count,
                oversize,
            }) = to_parse.recv().await
            {
                let now = Ts(crate::now_ms());
                let origin = format!("udp:{}:{}", now.0, shared.next_input());
                let queued = match ingest::prepare(&shared, index, &lines, None, &origin, now) {
                    Ok(mut prepared) => {
                        add_oversize(&shared, index, &mut prepared, oversize, &origin, now);
                        ingest::submit_no_wait(&shared, prepared, UDP_QUEUE_PATIENCE).await
                    }
                    Err(_) => false,
                };
                if !queued && let Some(counters) = shared.metrics.source(&name) {
                    counters
                        .udp_dropped
                        .fetch_add(count as u64, Ordering::Relaxed);
                }
            }
        })
    };
    let mut shutdown = shared.shutdown.clone();
    // Larger than any UDP datagram, so that a datagram's true length is always known.
    let mut buffer = vec![0u8; 65_536];
    let mut gathered = Gathered::new();
    let mut last_drop_check = Instant::now();
    loop {
        let received = tokio::select! {
            _ = crate::listen::stopped(shutdown.clone()) => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        if let Ok((size, peer)) = received {
            take_datagram(
                &shared,
                &name,
                &allow,
                peer,
                &mut gathered,
                buffer.get(..size).unwrap_or(&[]),
                max_message,
            );
        }
        while gathered.count + gathered.oversize.len() < UDP_BATCH_LINES {
            match socket.try_recv_from(&mut buffer) {
                Ok((size, peer)) => {
                    take_datagram(
                        &shared,
                        &name,
                        &allow,
                        peer,
                        &mut gathered,
                        buffer.get(..size).unwrap_or(&[]),
                        max_message,
                    );
                }
                Err(_) => break,
            }
        }
        if gathered.count > 0 || !gathered.oversize.is_empty() {
            let batch = std::mem::replace(&mut gathered, Gathered::new());
            if batches.send(batch).await.is_err() {
                break;
            }
        }
        if last_drop_check.elapsed() >= Duration::from_secs(1) {
            last_drop_check = Instant::now();
            if let (Some(drops), Some(counters)) =
                (kernel_udp_drops(port), shared.metrics.source(&name))
            {
                counters.udp_kernel_drops.store(drops, Ordering::Relaxed);
            }
        }
    }
    let _ = shutdown.borrow_and_update();
    drop(batches);
    let _ = parser.await;
}

/// Datagrams gathered for one parse: their lines, and the first bytes and true length of
/// those over the message limit (dead letters).
struct Gathered {
    lines: Vec<u8>,
    count: usize,
    oversize: Vec<(Vec<u8>, usize)>,
}

impl Gathered {
    fn new() -> Gathered {
        Gathered {
            lines: Vec::with_capacity(1 << 20),
            count: 0,
            oversize: Vec::new(),
        }
    }
}

/// Takes one datagram from `peer`, unless the source's allowlist leaves that address out
/// (counted, not stored: a sender that may not send cannot fill the dead letters either).
fn take_datagram(
    shared: &Shared,
    name: &str,
    allow: &[crate::conn::Network],
    peer: std::net::SocketAddr,
    gathered: &mut Gathered,
    datagram: &[u8],
    max_message: usize,
) {
    if !crate::conn::allowed(allow, peer.ip()) {
        if let Some(counters) = shared.metrics.source(name) {
            counters.refused_address.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
    add_datagram(gathered, datagram, max_message);
}

/// Appends one datagram as a line (or several, if it carries newlines), trimmed of trailing
/// newlines and NULs. A datagram over the message limit is a dead letter, with its length.
fn add_datagram(gathered: &mut Gathered, datagram: &[u8], max_message: usize) {
    let mut end = datagram.len();
    while end > 0 && matches!(datagram.get(end - 1), Some(b'\n' | b'\r' | b'\0')) {
        end -= 1;
    }
    if end > max_message {
        let prefix = datagram
            .get(..seam_adapters::MAX_REJECTED_RAW_BYTES.min(end))
            .unwrap_or(&[]);
        gathered.oversize.push((prefix.to_vec(), end));
        return;
    }
    let message = datagram.get(..end).unwrap_or(&[]);
    if message.is_empty() {
        return;
    }
    gathered.lines.extend_from_slice(message);
    gathered.lines.push(b'\n');
    gathered.count += 1;
}

/// The kernel's drop count for UDP sockets bound to `port` (Linux; `None` elsewhere).
pub fn kernel_udp_drops(port: u16) -> Option<u64> {
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if local_port == Some(port)
                && let Some(drops) = fields.last().and_then(|d| d.parse::<u64>().ok())
            {
                total = Some(total.unwrap_or(0) + drops);
            }
        }
    }
    total
}

pub(crate) async fn tcp(
    shared: Arc<Shared>,
    index: usize,
    listener: TcpListener,
    acceptor: Acceptor,
    max_message: usize,
) {
    let Some(source) = shared.sources.get(index) else {
        return;
    };
    let name = source.config.name.clone();
    let allow = source.config.allow.clone();
    let registry = shared.connections(&format!("syslog-tcp:{name}"));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of descriptors and the like: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if !crate::conn::allowed(&allow, peer.ip()) {
            if let Some(counters) = shared.metrics.source(&name) {
                counters.refused_address.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        // At a cap the longest-idle connection is closed for this one: idle connections can
        // no longer lock the senders that send out.
        let Some(ticket) = registry.admit(peer.ip()) else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        let registry = Arc::clone(&registry);
        connections.spawn(async move {
            let serving = async {
                // The handshake runs in the connection's own task: a slow sender holds up
                // no one.
                if let Some(stream) = acceptor.accept(stream).await {
                    let stream = crate::conn::Tracked::new(stream, Arc::clone(&ticket.activity));
                    connection(shared, index, stream, max_message).await;
                }
            };
            crate::conn::supervise(&ticket, &registry, serving).await;
        });
        while connections.try_join_next().is_some() {}
    }
    crate::conn::drain(connections, registry.limits()).await;
}

async fn connection(
    shared: Arc<Shared>,
    index: usize,
    mut stream: crate::conn::Tracked<Stream>,
    max_message: usize,
) {
    let mut framer = Framer::new(max_message);
    let mut chunk = vec![0u8; 64 * 1024];
    let shutdown = shared.shutdown.clone();
    loop {
        let read = tokio::select! {
            _ = crate::listen::stopped(shutdown.clone()) => break,
            read = stream.read(&mut chunk) => read,
        };
        let size = match read {
            Ok(0) | Err(_) => {
                framer.finish();
                let _ = deliver(&shared, index, &mut framer).await;
                break;
            }
            Ok(size) => size,
        };
        framer.push(chunk.get(..size).unwrap_or(&[]));
        // Nothing more is read from this connection until what it sent is durable; meanwhile
        // it waits on Seam, not on its sender, and is never evicted.
        let busy = stream.activity().busy();
        let delivered = deliver(&shared, index, &mut framer).await;
        drop(busy);
        if !delivered {
            break;
        }
    }
}

/// Makes the framer's complete messages durable; false when the connection should close.
async fn deliver(shared: &Arc<Shared>, index: usize, framer: &mut Framer) -> bool {
    if framer.messages.is_empty() && framer.oversize.is_empty() {
        return true;
    }
    let now = Ts(crate::now_ms());
    let origin = format!("tcp:{}:{}", now.0, shared.next_input());
    let messages = std::mem::take(&mut framer.messages);
    let mut prepared = match ingest::prepare(shared, index, &messages, None, &origin, now) {
        Ok(prepared) => prepared,
        Err(_) => return false,
    };
    add_oversize(
        shared,
        index,
        &mut prepared,
        std::mem::take(&mut framer.oversize),
        &origin,
        now,
    );
    ingest::submit_patiently(shared, prepared).await.is_ok()
}

fn source_limit(transport: &crate::config::Transport) -> usize {
    match transport {
        crate::config::Transport::Syslog {
            max_message_bytes, ..
        } => *max_message_bytes,
        _ => 0,
    }
}

/// Frames over the size limit become dead letters (their first bytes).
fn add_oversize(
    shared: &Shared,
    index: usize,
    prepared: &mut Prepared,
    oversize: Vec<(Vec<u8>, usize)>,
    origin: &str,
    now: Ts,
) {
    let Some(source) = shared.sources.get(index) else {
        return;
    };
    for (number, (prefix, size)) in oversize.into_iter().enumerate() {
        let reason = format!(
            "a syslog message of {size} bytes is over the limit of {} bytes; its first bytes are kept",
            source_limit(&source.config.transport)
        );
        prepared.job.dead_letters.push(DeadLetter {
            source: source.config.name.clone(),
            position: format!("{origin}#oversize-{}", number + 1),
            observed: now,
            reason: reason.clone(),
            raw: prefix,
        });
        prepared.rejected.push(RejectedRecord { index: 0, reason });
        if let Some(counters) = shared.metrics.source(&source.config.name) {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// RFC 6587 framing of a TCP syslog stream, told apart per frame: a frame that starts with a
/// digit is octet-counted (`LEN SP MSG`), anything else runs to the next newline.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    buffer: Vec<u8>,
    /// Complete messages, one per line.
    pub messages: Vec<u8>,
    /// Messages over the limit: their first bytes and their size.
    pub oversize: Vec<(Vec<u8>, usize)>,
    /// Bytes still to throw away of an oversize frame (octet counting), or `usize::MAX` to
    /// throw away up to the next newline.
    discard: usize,
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer {
            max,
            buffer: Vec::new(),
            messages: Vec::new(),
            oversize: Vec::new(),
            discard: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let rest = self.buffer.get(start..).unwrap_or(&[]);
            if self.discard == usize::MAX {
                match rest.iter().position(|b| *b == b'\n') {
                    Some(newline) => {
                        start += newline + 1;
                        self.discard = 0;
                        continue;
                    }
                    None => {
                        start = self.buffer.len();
                        break;
                    }
                }
            }
            if self.discard > 0 {
                let skip = self.discard.min(rest.len());
                self.discard -= skip;
                start += skip;
                if self.discard > 0 {
                    break;
                }
                continue;
            }
            // Blank lines between frames.
            let skip = rest
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r' | b' '))
                .count();
            if skip > 0 {
                start += skip;
                continue;
            }
            let Some(first) = rest.first() else {
                break;
            };
            if first.is_ascii_digit() {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 9 {
                    // No sane length: treat what follows as garbage up to a newline.
                    self.oversize
                        .push((rest.iter().take(64).copied().collect(), rest.len()));
                    self.discard = usize::MAX;
                    continue;
                }
                let Some(after) = rest.get(digits) else {
                    break; // the length is not complete yet
                };
                if *after != b' ' {
                    // Digits without a space: not octet counting; read it as a line.
                    match self.take_line(start) {
                        Some(next) => {
                            start = next;
                            continue;
                        }
                        None => break,
                    }
                }
                let length: usize = std::str::from_utf8(rest.get(..digits).unwrap_or(&[]))
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let body_start = digits + 1;
                if length > self.max {
                    let available = rest.get(body_start..).unwrap_or(&[]);
                    self.oversize.push((
                        available
                            .iter()
                            .take(seam_adapters::MAX_REJECTED_RAW_BYTES)
                            .copied()
                            .collect(),
                        length,
                    ));
                    start += body_start;
                    self.discard = length;
                    continue;
                }
                let Some(message) = rest.get(body_start..body_start + length) else {
                    break; // the frame is not complete yet
                };
                push_message(&mut self.messages, message);
                start += body_start + length;
                continue;
            }
            match self.take_line(start) {
                Some(next) => start = next,
                None => break,
            }
        }
        self.buffer.drain(..start.min(self.buffer.len()));
    }

    /// Takes the line starting at `start`, if complete; returns where the next frame starts.
    fn take_line(&mut self, start: usize) -> Option<usize> {
        let rest = self.buffer.get(start..).unwrap_or(&[]);
        match rest.iter().position(|b| *b == b'\n') {
            Some(newline) => {
                let line = rest.get(..newline).unwrap_or(&[]).to_vec();
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                if line.len() > self.max {
                    self.oversize.push((
                        line.iter()
                            .take(seam_adapters::MAX_REJECTED_RAW_BYTES)
                            .copied()
                            .collect(),
                        line.len(),
                    ));
                } else {
                    self.add_message(line);
                }
                Some(start + newline + 1)
            }
            None if rest.len() > self.max => {
                self.oversize.push((
                    rest.iter()
                        .take(seam_adapters::MAX_REJECTED_RAW_BYTES)
                        .copied()
                        .collect(),
                    rest.len(),
                ));
                self.discard = usize::MAX;
                Some(self.buffer.len())
            }
            None => None,
        }
    }

    fn add_message(&mut self, message: &[u8]) {
        push_message(&mut self.messages, message);
    }

    /// End of stream: a last line without its newline is still a message.
    pub fn finish(&mut self) {
        if self.discard == 0 && !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            if rest.first().is_some_and(u8::is_ascii_digit) {
                // An octet-counted frame cut short: keep it as a dead letter.
                self.oversize.push((
                    rest.iter()
                        .take(seam_adapters::MAX_REJECTED_RAW_BYTES)
                        .copied()
                        .collect(),
                    rest.len(),
                ));
            } else if rest.len() <= self.max {
                self.add_message(&rest);
            }
        }
        self.buffer.clear();
    }
}

fn push_message(messages: &mut Vec<u8>, message: &[u8]) {
    let message = message.strip_suffix(b"\n").unwrap_or(message);
    if message.is_empty() {
        return;
    }
    // One message per line downstream: a newline inside an octet-counted frame is a space.
    messages.extend(message.iter().map(|b| if *b == b'\n' { b' ' } else { *b }));
    messages.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(chunks: &[&[u8]], max: usize) -> (Vec<String>, Vec<usize>) {
        let mut framer = Framer::new(max);
        for chunk in chunks {
            framer.push(chunk);
        }
        framer.finish();
        let messages = String::from_utf8(framer.messages.clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        (
            messages,
            framer.oversize.iter().map(|(_, size)| *size).collect(),
        )
    }

    #[test]
    fn newline_framing_across_reads() {
        let (messages, oversize) = frame(&[b"<1>a b\n<2>c", b" d\r\n\n<3>e"], 100);
        assert_eq!(messages, ["<1>a b", "<2>c d", "<3>e"]);
        assert!(oversize.is_empty());
    }

    #[test]
    fn octet_counting_across_reads_and_mixed_with_lines() {
        let (messages, _) = frame(&[b"14 <1>hello w", b"orld8 <2>a\nb c\n<3>line\n"], 100);
        assert_eq!(messages, ["<1>hello world", "<2>a b c", "<3>line"]);
    }

    #[test]
    fn oversize_frames_are_skipped_and_reported() {
        let long = vec![b'x'; 50];
        let mut input = b"50 ".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"5 <1>ok<2>");
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\n<3>fine\n");
        let (messages, oversize) = frame(&[&input[..20], &input[20..]], 40);
        assert_eq!(messages, ["<1>ok", "<3>fine"]);
        assert_eq!(oversize, [50, 53]);
    }

    #[test]
    fn garbage_never_panics() {
        let mut framer = Framer::new(16);
        for chunk in [
            &b"99999999999999 x\n"[..],
            b"12",
            b"3",
            b" abc",
            b"\0\0\n",
            b"7\n",
            b"\xff\xfe",
        ] {
            framer.push(chunk);
        }
        framer.finish();
    }

    #[test]
    fn datagrams_become_lines_and_oversized_ones_keep_their_length() {
        let mut gathered = Gathered::new();
        add_datagram(&mut gathered, b"<1>one\n", 100);
        add_datagram(&mut gathered, b"\n\0", 100);
        add_datagram(&mut gathered, b"<2>two is long", 8);
        add_datagram(&mut gathered, b"<3>three\n", 8);
        assert_eq!(gathered.lines, b"<1>one\n<3>three\n");
        assert_eq!(gathered.count, 2);
        assert_eq!(gathered.oversize, vec![(b"<2>two is long".to_vec(), 14)]);
    }
}
