//! Seam as a service: `seam serve`.
//!
//! Sources push or stream records in (HTTP, syslog over UDP and TCP, NetFlow/IPFIX over UDP,
//! MQTT, a watched folder);
//! each record is read by its source's adapter, made durable in the store's event log, and
//! only then acknowledged. One thread owns the deterministic engine and reads the log's new
//! records in order; findings go to the store and to a live stream. A restart restores the
//! last snapshot and replays the log after it, so nothing acknowledged is lost and no finding
//! is missed or repeated.
//!
//! ```text
//!  HTTP ─┐                                  ┌─► store: findings, unresolved, snapshots
//!  syslog┤ adapter ─► writer queue ─► writer thread (group commit, fsync) ─► ack
//!  flows ┤  (parse)     (bounded)          │ durable records, log order
//!  MQTT ─┤                                  │
//!  files ┘                                  ▼
//!                         engine queue (bounded) ─► engine thread ─► broadcast ─► SSE
//! ```
//!
//! `docs/serve.md` is the operator's guide: configuration, endpoints, guarantees, metrics.

mod access;
mod audit;
mod cases;
mod config;
mod conn;
mod dead_letters;
mod engine_thread;
mod flows;
mod http;
mod import;
mod ingest;
mod listen;
mod metrics;
mod mqtt;
mod oidc;
mod people;
mod placement;
mod pull;
mod reload;
mod retention;
mod scim;
mod server;
mod store;
mod syslog;
mod tls;
mod watch;
mod witness;
mod writer;

pub mod bench;
pub mod client;
pub mod reports;

pub use access::{PSEUDONYM_KEY_FILE, pseudonym_key};
pub use cases::{CasesSettings, EXPORT_KEY_FILE, export_key, report_time};
pub use config::{
    AccessSettings, AdapterChoice, Auth, ConfigError, DEFAULT_DATA_DIR, DEFAULT_HTTP,
    DirectorySettings, ESTATE_SOURCE, EngineSettings, HmacAuth, HttpConfig, MqttConfig,
    OidcSettings, Overrides, SCIM_SOURCE, ScimSettings, Secret, ServeConfig, Signed, SourceConfig,
    Transport,
};
pub use conn::{ConnectionLimits, Network};
pub use dead_letters::DeadLetterLimits;
pub use engine_thread::StreamFinding;
pub use ingest::{IngestError, IngestReport, RejectedRecord};
pub use mqtt::{FilterError, check_filter, topic_matches};
pub use pull::{Credentials, PullSettings};
pub use retention::{RetentionSettings, prune_workspace, retention_summary, workspace_summary};
pub use server::{Addresses, ServeError, Server};
pub use syslog::{Framer as SyslogFramer, kernel_udp_drops};
pub use tls::{ClientTlsSettings, TlsError, TlsSettings};
pub use witness::HttpWitness;

/// The wall clock in ms since the epoch: receive times, heartbeats, request freshness.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
