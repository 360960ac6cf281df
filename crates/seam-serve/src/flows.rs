//! The NetFlow v5, v9 and IPFIX listener: export datagrams over UDP, decoded by one
//! [`FlowDecoder`] per listener.
//!
//! v9 and IPFIX data can only be read with the templates an exporter sent before, so the
//! decoder's state is the listener's: one task owns it and decodes every datagram in the order
//! it arrived, without a lock. As for syslog over UDP, the receiving loop only gathers
//! datagrams (several into one batch while the decoder is busy), and nothing can be
//! acknowledged: a batch the queues cannot take within a short patience is dropped and
//! counted, and the kernel's own drops on the socket are read from `/proc/net/udp`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seam_adapters::{Batch, FlowDecoder, FlowLimits};
use seam_model::Ts;
use tokio::net::UdpSocket;

use crate::ingest::{self, Prepared, Received};
use crate::server::Shared;

/// The most datagram bytes one batch gathers before it is decoded: about 45 datagrams of the
/// usual 1,500 bytes, some 1,300 flows. A batch is one job in the writer's queue, so this
/// bounds what a full queue holds in memory (256 jobs, each event about 3 KB with its JSON)
/// near what syslog's batches of 1,024 lines hold.
const BATCH_BYTES: usize = 64 << 10;
/// How long a full writer queue may hold a batch back before it is dropped (and counted); the
/// socket's receive buffer keeps the datagrams that arrive meanwhile.
const QUEUE_PATIENCE: Duration = Duration::from_millis(500);

/// Datagrams gathered for one decoding, back to back in `bytes`, each with its exporter's
/// address and where it ends.
struct Gathered {
    bytes: Vec<u8>,
    datagrams: Vec<(IpAddr, usize)>,
}

impl Gathered {
    fn new() -> Gathered {
        Gathered {
            bytes: Vec::with_capacity(BATCH_BYTES + 65_536),
            datagrams: Vec::with_capacity(64),
        }
    }

    fn push(&mut self, exporter: IpAddr, datagram: &[u8]) {
        self.bytes.extend_from_slice(datagram);
        self.datagrams.push((exporter, self.bytes.len()));
    }

    /// Each datagram with its exporter, in the order they arrived.
    fn each(&self) -> impl Iterator<Item = (IpAddr, &[u8])> {
        let mut start = 0;
        self.datagrams.iter().map(move |(exporter, end)| {
            let datagram = self.bytes.get(start..*end).unwrap_or(&[]);
            start = *end;
            (*exporter, datagram)
        })
    }
}

pub(crate) async fn udp(shared: Arc<Shared>, index: usize, socket: UdpSocket, limits: FlowLimits) {
    let Some(source) = shared.sources.get(index) else {
        return;
    };
    let name = source.config.name.clone();
    let allow = source.config.allow.clone();
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    // The receiving loop only gathers; the decoder's task decodes and queues, so datagrams
    // keep being read while a batch is decoded.
    let (batches, mut to_decode) = tokio::sync::mpsc::channel::<Gathered>(4);
    let decoding = {
        let shared = Arc::clone(&shared);
        let name = name.clone();
        tokio::spawn(async move {
            let mut decoder = FlowDecoder::with_limits(limits);
            while let Some(gathered) = to_decode.recv().await {
                let now = Ts(crate::now_ms());
                let origin = format!("udp:{}:{}", now.0, shared.next_input());
                let count = gathered.datagrams.len() as u64;
                let prepared = decode(&shared, index, &mut decoder, &gathered, &origin, now);
                let counters = shared.metrics.source(&name);
                if let Some(flows) = counters.and_then(|c| c.flows.as_ref()) {
                    flows.update(&decoder);
                }
                let queued = match prepared {
                    Some(prepared) => {
                        ingest::submit_no_wait(&shared, prepared, QUEUE_PATIENCE).await
                    }
                    None => false,
                };
                if !queued && let Some(counters) = counters {
                    counters.udp_dropped.fetch_add(count, Ordering::Relaxed);
                }
            }
        })
    };
    let mut shutdown = shared.shutdown.clone();
    // Larger than any UDP datagram, so that none is cut.
    let mut buffer = vec![0u8; 65_536];
    let mut gathered = Gathered::new();
    let mut last_drop_check = Instant::now();
    loop {
        let received = tokio::select! {
            _ = crate::listen::stopped(shutdown.clone()) => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        if let Ok((size, peer)) = received {
            take(
                &shared,
                &name,
                &allow,
                &mut gathered,
                peer,
                buffer.get(..size),
            );
        }
        while gathered.bytes.len() < BATCH_BYTES {
            match socket.try_recv_from(&mut buffer) {
                Ok((size, peer)) => {
                    take(
                        &shared,
                        &name,
                        &allow,
                        &mut gathered,
                        peer,
                        buffer.get(..size),
                    );
                }
                Err(_) => break,
            }
        }
        if !gathered.datagrams.is_empty() {
            let batch = std::mem::replace(&mut gathered, Gathered::new());
            if batches.send(batch).await.is_err() {
                break;
            }
        }
        if last_drop_check.elapsed() >= Duration::from_secs(1) {
            last_drop_check = Instant::now();
            if let (Some(drops), Some(counters)) = (
                crate::syslog::kernel_udp_drops(port),
                shared.metrics.source(&name),
            ) {
                counters.udp_kernel_drops.store(drops, Ordering::Relaxed);
            }
        }
    }
    let _ = shutdown.borrow_and_update();
    drop(batches);
    let _ = decoding.await;
}

/// Takes one datagram from `peer`, unless the source's allowlist leaves that address out:
/// counted then, not decoded, so that a sender that may not send can neither fill the dead
/// letters nor plant templates.
fn take(
    shared: &Shared,
    name: &str,
    allow: &[crate::conn::Network],
    gathered: &mut Gathered,
    peer: std::net::SocketAddr,
    datagram: Option<&[u8]>,
) {
    if crate::conn::allowed(allow, peer.ip()) {
        gathered.push(peer.ip(), datagram.unwrap_or(&[]));
    } else if let Some(counters) = shared.metrics.source(name) {
        counters.refused_address.fetch_add(1, Ordering::Relaxed);
    }
}

/// Decodes a batch of datagrams in the order they arrived into one job. A rejected set or
/// record is a dead letter at `origin#<datagram>.<set>@<exporter>` (the set's position in its
/// datagram, 1-based; 0 is the datagram's header).
fn decode(
    shared: &Shared,
    index: usize,
    decoder: &mut FlowDecoder,
    gathered: &Gathered,
    origin: &str,
    now: Ts,
) -> Option<Prepared> {
    let source = shared.sources.get(index)?;
    let mut ctx = source.context.clone();
    ctx.observed = now;
    let mut batch = Batch::default();
    let mut skip_reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut positions: Vec<String> = Vec::new();
    for (number, (exporter, datagram)) in gathered.each().enumerate() {
        let mut one = decoder.decode(exporter, datagram, &ctx);
        batch.events.append(&mut one.events);
        batch.sequences.append(&mut one.sequences);
        batch.skipped += one.skipped;
        for (reason, count) in one.skip_reasons {
            *skip_reasons.entry(reason).or_default() += count;
        }
        for mut rejected in one.rejected {
            positions.push(format!(
                "{origin}#{}.{}@{exporter}",
                number + 1,
                rejected.index
            ));
            rejected.index = positions.len();
            batch.rejected.push(rejected);
        }
    }
    batch.skip_reasons = skip_reasons;
    let received = Received {
        inputs: gathered.datagrams.len() as u64,
        bytes: gathered.bytes.len() as u64,
    };
    Some(ingest::prepare_parsed(
        shared,
        index,
        batch,
        received,
        now,
        &|index| {
            positions
                .get(index.wrapping_sub(1))
                .cloned()
                .unwrap_or_else(|| format!("{origin}#{index}"))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathered_datagrams_come_back_whole_in_order() {
        let mut gathered = Gathered::new();
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let two: IpAddr = "2001:db8::2".parse().unwrap();
        gathered.push(one, b"abc");
        gathered.push(two, b"");
        gathered.push(one, b"defg");
        let each: Vec<(IpAddr, Vec<u8>)> = gathered
            .each()
            .map(|(ip, bytes)| (ip, bytes.to_vec()))
            .collect();
        assert_eq!(
            each,
            [
                (one, b"abc".to_vec()),
                (two, Vec::new()),
                (one, b"defg".to_vec())
            ]
        );
    }
}
