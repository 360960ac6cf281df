//! Connection hygiene for every TCP listener (HTTP and syslog): caps per listener and per
//! address that evict the longest-idle connection first, an idle time-out, and activity
//! tracked as bytes move. A flood of idle or slow connections can then neither exhaust the
//! descriptors nor lock out the senders that do send.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The bounds every listener applies to its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once on one listener; a new one evicts the longest-idle.
    pub max_connections: usize,
    /// Connections open at once from one address on one listener.
    pub max_per_address: usize,
    /// A connection that moves no byte for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP: a request's headers must arrive within this time.
    pub header_timeout: Duration,
    /// HTTP: a request's body must arrive within this time, whatever its rate.
    pub body_timeout: Duration,
    /// HTTP: after the first `body_grace`, a body must arrive at this many bytes a second at
    /// least, counted from the request's start.
    pub min_body_rate: u64,
    pub body_grace: Duration,
    /// Bytes of request bodies held at once, across requests, before their signature could be
    /// checked (HMAC sources): such requests cannot take the whole in-flight budget.
    pub max_unverified_bytes: usize,
    /// On SIGTERM, how long requests and connections in flight may take to finish before the
    /// final snapshot.
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 1024,
            max_per_address: 64,
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            min_body_rate: 16 * 1024,
            body_grace: Duration::from_secs(5),
            max_unverified_bytes: 32 << 20,
            drain: Duration::from_secs(10),
        }
    }
}

/// When a connection last moved a byte, in ms since its registry started.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    /// The peer has sent at least one byte.
    spoke: std::sync::atomic::AtomicBool,
    /// Requests (or deliveries) in flight: such a connection waits on Seam, not on its peer,
    /// and is never evicted.
    busy: std::sync::atomic::AtomicU32,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let activity = Activity {
            epoch,
            last_ms: AtomicU64::new(0),
            spoke: std::sync::atomic::AtomicBool::new(false),
            busy: std::sync::atomic::AtomicU32::new(0),
        };
        activity.touch();
        activity
    }

    pub(crate) fn touch(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn heard(&self) {
        self.spoke.store(true, Ordering::Relaxed);
        self.touch();
    }

    /// Marks a request in flight until the guard is dropped.
    pub(crate) fn busy(self: &Arc<Activity>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// How eager eviction is to close this connection: busy ones never; ones that never
    /// sent a byte (a flood of idle connections) before any that did; then the longest idle.
    fn eviction_rank(&self) -> Option<(bool, Duration)> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        Some((!self.spoke.load(Ordering::Relaxed), self.idle_for()))
    }

    fn idle_for(&self) -> Duration {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A request in flight on a connection; see [`Activity::busy`].
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

#[derive(Debug)]
struct Entry {
    address: IpAddr,
    activity: Arc<Activity>,
    close: Arc<Notify>,
}

/// The open connections of one listener.
#[derive(Debug)]
pub(crate) struct Registry {
    limits: ConnectionLimits,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Entry>>,
    /// Connections refused or evicted, for the metrics.
    pub evicted: AtomicU64,
    pub refused: AtomicU64,
    pub timed_out: AtomicU64,
}

/// A connection's place in its registry; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Ticket {
    id: u64,
    registry: Arc<Registry>,
    pub activity: Arc<Activity>,
    close: Arc<Notify>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut open) = self.registry.open.lock() {
            open.remove(&self.id);
        }
    }
}

impl Registry {
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Registry> {
        Arc::new(Registry {
            limits,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        })
    }

    pub(crate) fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    /// Admits a connection from `address`. At a cap, the longest-idle connection (of that
    /// address, at the per-address cap) is told to close and the newcomer takes its place;
    /// with none to evict, the newcomer is refused (`None`).
    pub(crate) fn admit(self: &Arc<Registry>, address: IpAddr) -> Option<Ticket> {
        let Ok(mut open) = self.open.lock() else {
            return None;
        };
        let from_address = open.values().filter(|e| e.address == address).count();
        if from_address >= self.limits.max_per_address.max(1)
            && !evict_longest_idle(&mut open, Some(address))
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        } else if from_address >= self.limits.max_per_address.max(1) {
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        if open.len() >= self.limits.max_connections.max(1) {
            if !evict_longest_idle(&mut open, None) {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        let close = Arc::new(Notify::new());
        open.insert(
            id,
            Entry {
                address,
                activity: Arc::clone(&activity),
                close: Arc::clone(&close),
            },
        );
        Some(Ticket {
            id,
            registry: Arc::clone(self),
            activity,
            close,
        })
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or(0)
    }
}

/// Tells the connection most worth closing (of `address`, if given) to close and forgets it:
/// one that never sent a byte before one that did, the longest idle first, never one with a
/// request in flight.
fn evict_longest_idle(open: &mut HashMap<u64, Entry>, address: Option<IpAddr>) -> bool {
    let victim = open
        .iter()
        .filter(|(_, e)| address.is_none_or(|a| e.address == a))
        .filter_map(|(id, e)| {
            e.activity
                .eviction_rank()
                .map(|rank| (rank, std::cmp::Reverse(*id)))
        })
        .max()
        .map(|(_, std::cmp::Reverse(id))| id);
    match victim.and_then(|id| open.remove(&id)) {
        Some(entry) => {
            // `notify_one` stores a permit: the connection closes even if it is not waiting yet.
            entry.close.notify_one();
            true
        }
        None => false,
    }
}

/// Runs a connection's future until it ends, it is evicted, or it moves no byte for the idle
/// time-out (or the shutdown's drain has passed). Returns whether it ended by itself.
pub(crate) async fn supervise<F>(ticket: &Ticket, registry: &Registry, connection: F) -> bool
where
    F: Future<Output = ()>,
{
    let idle_timeout = registry.limits.idle_timeout;
    let watchdog = async {
        loop {
            let idle = ticket.activity.idle_for();
            // A connection waiting on Seam (a request in flight) is not idle.
            let waiting_on_us = ticket.activity.busy.load(Ordering::Relaxed) > 0;
            if idle >= idle_timeout && !waiting_on_us {
                registry.timed_out.fetch_add(1, Ordering::Relaxed);
                return;
            }
            tokio::time::sleep(idle_timeout.saturating_sub(idle) + Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        _ = connection => true,
        _ = ticket.close.notified() => false,
        _ = watchdog => false,
    }
}

/// On stop: lets a listener's connections finish within the drain, then ends the rest.
pub(crate) async fn drain(mut connections: tokio::task::JoinSet<()>, limits: &ConnectionLimits) {
    let drain = limits.drain + Duration::from_millis(200);
    let _ = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

/// A stream that notes the time of every byte it moves.
#[derive(Debug)]
pub(crate) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>) -> Tracked<S> {
        Tracked { inner, activity }
    }

    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.heard();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Raises the soft limit on open descriptors as far as the hard limit allows (each connection
/// takes one), and says so when the result is still low.
pub(crate) fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        // Refused (a hard limit the process may not take): the soft one stays, read below.
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let soft = getrlimit(Resource::Nofile).current;
    if let Some(soft) = soft
        && soft < 4096
    {
        eprintln!(
            "seam serve: warning: only {soft} file descriptors may be open (the hard limit); each connection takes one: raise it (systemd: LimitNOFILE=65536)"
        );
    }
    soft
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: max,
            max_per_address: per_address,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn a_full_listener_evicts_the_longest_idle_connection() {
        let registry = Registry::new(limits(2, 2));
        let a: IpAddr = "127.0.0.2".parse().unwrap_or(IpAddr::from([127, 0, 0, 2]));
        let b: IpAddr = IpAddr::from([127, 0, 0, 3]);
        let first = registry.admit(a);
        std::thread::sleep(Duration::from_millis(5));
        let second = registry.admit(b);
        assert!(first.is_some() && second.is_some());
        if let Some(second) = &second {
            second.activity.touch();
        }
        if let Some(second) = &second {
            second.activity.heard();
        }
        let third = registry.admit(b);
        assert!(third.is_some());
        assert_eq!(registry.open_connections(), 2);
        assert_eq!(registry.evicted.load(Ordering::Relaxed), 1);
        // The evicted one is the first (idle longest): its ticket's notification is pending.
        let evicted_first = first
            .as_ref()
            .is_some_and(|t| !registry.open.lock().is_ok_and(|o| o.contains_key(&t.id)));
        assert!(evicted_first);
    }

    #[test]
    fn a_connection_with_a_request_in_flight_is_never_evicted_and_silent_ones_go_first() {
        let registry = Registry::new(limits(2, 10));
        let a = IpAddr::from([127, 0, 0, 2]);
        let Some(working) = registry.admit(a) else {
            panic!("admitted");
        };
        working.activity.heard();
        let busy = working.activity.busy();
        std::thread::sleep(Duration::from_millis(5));
        let Some(silent) = registry.admit(a) else {
            panic!("admitted");
        };
        // The silent one is newer, but it never spoke; the working one is busy.
        assert!(registry.admit(a).is_some());
        let open = registry
            .open
            .lock()
            .map(|o| o.contains_key(&silent.id))
            .unwrap_or(true);
        assert!(!open, "the silent connection was kept");
        drop(busy);
        drop(silent);
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let registry = Registry::new(limits(100, 2));
        let a = IpAddr::from([127, 0, 0, 2]);
        let tickets: Vec<_> = (0..5).filter_map(|_| registry.admit(a)).collect();
        // Each newcomer over the share evicts one of the same address, never anyone else's.
        assert_eq!(tickets.len(), 5);
        assert_eq!(registry.open_connections(), 2);
        let other = registry.admit(IpAddr::from([127, 0, 0, 3]));
        assert!(other.is_some());
        assert_eq!(registry.open_connections(), 3);
    }
}

/// An address or a network (`192.0.2.7`, `10.20.0.0/16`, `2001:db8::/32`) a source accepts
/// senders from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `ADDRESS` or `ADDRESS/PREFIX`.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or network"))?;
        let longest = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= longest)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {longest}"))?,
            None => longest,
        };
        Ok(Network { address, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4 sender on a dual-stack socket shows as `::ffff:a.b.c.d`.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}

/// Whether `address` may send to a source with this allowlist (empty: anyone).
pub(crate) fn allowed(allow: &[Network], address: IpAddr) -> bool {
    allow.is_empty() || allow.iter().any(|network| network.contains(address))
}

#[cfg(test)]
mod network_tests {
    use super::*;

    #[test]
    fn networks_contain_what_their_prefix_says() {
        let net = Network::parse("10.20.0.0/16").unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains("10.20.5.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!net.contains(IpAddr::from([10, 21, 0, 1])));
        assert!(
            net.contains(
                "::ffff:10.20.0.9"
                    .parse()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            )
        );
        let one = Network::parse("192.0.2.7").unwrap_or_else(|e| panic!("{e}"));
        assert!(one.contains(IpAddr::from([192, 0, 2, 7])));
        assert!(!one.contains(IpAddr::from([192, 0, 2, 8])));
        let any = Network::parse("0.0.0.0/0").unwrap_or_else(|e| panic!("{e}"));
        assert!(any.contains(IpAddr::from([203, 0, 113, 1])));
        let v6 = Network::parse("2001:db8::/32").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            v6.contains(
                "2001:db8:1::5"
                    .parse()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            )
        );
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.com").is_err());
        assert!(allowed(&[], IpAddr::from([1, 2, 3, 4])));
        assert!(!allowed(&[one], IpAddr::from([1, 2, 3, 4])));
    }
}
