//! The service's settings: a TOML file (`seam serve --config FILE`) or the command line's
//! flags, resolved into [`ServeConfig`] before anything starts.
//!
//! Secrets are held in [`Secret`], whose `Debug` never shows them, so a configuration can be
//! logged or printed in an error without leaking a token.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use seam_adapters::{Adapter, ParseContext, ZoneMap};
use seam_model::Ts;

use crate::tls::{ClientTlsSettings, TlsSettings};

/// Everything `seam serve` needs besides the estate and the rules.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The store's directory; with `store_url`, the installation's own files only (the audit
    /// log and its keys, the pseudonym key, pull cursors).
    pub data_dir: PathBuf,
    /// A PostgreSQL store (`postgres://…`) instead of the embedded one.
    pub store_url: Option<String>,
    /// SHA-256 of the configuration file's text, recorded in the audit log at every start, so
    /// that a changed configuration shows between two starts. `None` without a file.
    pub file_digest: Option<String>,
    /// SHA-256 of the rule pack the service runs, recorded likewise (set by the caller that
    /// loaded the rules).
    pub rules_digest: Option<String>,
    /// The estate folder; `None` for the caller's default (the built-in example estate).
    pub estate: Option<PathBuf>,
    /// The rules folder; `None` for the caller's default (the built-in rule pack).
    pub rules: Option<PathBuf>,
    pub http: HttpConfig,
    pub engine: EngineSettings,
    pub mqtt: Option<MqttConfig>,
    pub sources: Vec<SourceConfig>,
    /// Connection hygiene on every TCP listener, and the drain on SIGTERM.
    pub limits: crate::conn::ConnectionLimits,
    /// Per source, the rate, quota and retention of dead letters.
    pub dead_letters: crate::dead_letters::DeadLetterLimits,
    /// Directory changes: SCIM provisioning and edits to the estate's files.
    pub directory: DirectorySettings,
    /// The tamper-evident audit log's checkpoints and witness.
    pub audit: AuditSettings,
    /// Who may call the API: sessions, pseudonyms, reveals, single sign-on.
    pub access: AccessSettings,
    /// How long each data class is kept.
    pub retention: crate::retention::RetentionSettings,
    /// Triage and cases: grouping, response procedures, evidence.
    pub cases: crate::cases::CasesSettings,
}

/// `[access]`: authentication and privacy on the API.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// Authenticate every request even before the first user exists (the service then
    /// refuses to start until one does), and allow the API off loopback. Without it,
    /// authentication is on as soon as the store holds a user or a token.
    pub required: bool,
    pub session: seam_access::SessionPolicy,
    /// How long a revealed name stays revealed to the one who asked.
    pub reveal_ms: i64,
    /// Sign-in through an OpenID Connect provider.
    pub oidc: Option<OidcSettings>,
}

impl Default for AccessSettings {
    fn default() -> AccessSettings {
        AccessSettings {
            required: false,
            session: seam_access::SessionPolicy::default(),
            reveal_ms: 15 * 60_000,
            oidc: None,
        }
    }
}

/// `[access.oidc]`: the provider, this client, and how its claims map to roles and sites.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back: this service's `/v1/oidc/callback`.
    pub redirect_uri: String,
    pub scopes: String,
    /// The claim holding the user's groups or roles (`groups`).
    pub roles_claim: String,
    /// A claim value to the Seam roles it grants.
    pub role_map: std::collections::BTreeMap<String, Vec<String>>,
    /// The claim holding the sites the user may see; absent: every site.
    pub sites_claim: Option<String>,
}

/// `[audit]`: how often the audit log is checkpointed, and where checkpoints are witnessed.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// A file outside the data directory that receives a copy of every checkpoint.
    pub witness: Option<PathBuf>,
    /// An HTTP endpoint that receives a copy of every checkpoint (POST), and gives them all
    /// back on GET; with a bearer token when the endpoint wants one.
    pub witness_url: Option<String>,
    pub witness_token: Option<Secret>,
    /// How often a checkpoint is signed (when the log has moved), ms; and at shutdown.
    pub checkpoint_every_ms: u64,
}

impl Default for AuditSettings {
    fn default() -> AuditSettings {
        AuditSettings {
            witness: None,
            witness_url: None,
            witness_token: None,
            checkpoint_every_ms: 60_000,
        }
    }
}

/// `[directory]`: how the directory follows its systems of record while running.
#[derive(Debug, Clone, Default)]
pub struct DirectorySettings {
    /// How often the estate folder is checked for edits, ms; `0`: never. Only with an estate
    /// folder (the built-in example estate does not change).
    pub reload_every_ms: u64,
    /// Per attribute, which sources win when they disagree (first wins); see
    /// `seam_estate::Precedence`.
    pub precedence: std::collections::BTreeMap<String, Vec<String>>,
    /// SCIM 2.0 provisioning (`/scim/v2/…` on the ingest listener).
    pub scim: Option<ScimSettings>,
}

/// `[directory.scim]`.
#[derive(Debug, Clone)]
pub struct ScimSettings {
    /// The bearer token the identity provider presents.
    pub token: Secret,
    /// The mapping from SCIM attributes to the directory's (`None`: the default mapping).
    pub mapping: Option<PathBuf>,
    /// The service root as identity providers reach it (`https://seam.example.com/scim/v2`),
    /// for `meta.location`; default: the ingest listener's address.
    pub base_url: Option<String>,
}

/// The source name of directory changes from SCIM provisioning.
pub const SCIM_SOURCE: &str = "scim";
/// The source name of directory changes from edits to the estate's files.
pub const ESTATE_SOURCE: &str = "estate";

/// The HTTP listeners.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Ingest (`/v1/ingest/…`) and health. Any address; sources on a non-loopback address must
    /// authenticate their requests.
    pub listen: SocketAddr,
    /// The read API (findings, stream, metrics). Loopback only, since it has no
    /// authentication yet. `None`: served on `listen`, which must then be loopback.
    pub api: Option<SocketAddr>,
    /// TLS on the ingest listener (the loopback read API stays in the clear).
    pub tls: Option<TlsSettings>,
    /// The largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Request bodies held at once, across requests (503 with Retry-After above).
    pub max_inflight_bytes: usize,
}

/// How the engine orders events and how often its state is saved.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How late an event may arrive and still be ordered.
    pub lateness_ms: i64,
    /// How often the wall clock moves the watermark while events arrive (every 5 s when idle);
    /// heartbeats are written to the log, so a restart replays them. `0` turns them off: the
    /// watermark then moves only with event time.
    pub heartbeat_ms: u64,
    /// A snapshot at least this often while events arrive.
    pub snapshot_every_ms: u64,
    /// And at least every this many events.
    pub snapshot_every_events: u64,
    /// Batches waiting for the engine; when full, the writer waits and ingest answers 503.
    pub queue_batches: usize,
    /// Events waiting for the engine at most (the memory bound of its queue); past it the
    /// writer waits.
    pub max_backlog_events: usize,
    /// Ingest jobs waiting for the writer; when full, ingest answers 503.
    pub writer_queue_jobs: usize,
    /// How far an event may lead its receive time and still move the watermark; further
    /// ahead, it is kept and evaluated like a late event and raises a clock-skew finding.
    pub max_clock_ahead_ms: i64,
    /// How far an event may trail its receive time before its source is reported as behind
    /// (per source: `max_delay_secs`).
    pub max_clock_behind_ms: i64,
    /// Input is refused (not acknowledged) while the data directory's file system has less
    /// free space than this, and taken again once it has.
    pub min_free_disk_bytes: u64,
}

impl Default for EngineSettings {
    fn default() -> EngineSettings {
        EngineSettings {
            lateness_ms: 500,
            heartbeat_ms: 100,
            snapshot_every_ms: 30_000,
            snapshot_every_events: 1_000_000,
            queue_batches: 64,
            max_backlog_events: 200_000,
            writer_queue_jobs: 256,
            max_clock_ahead_ms: seam_engine::DEFAULT_MAX_CLOCK_AHEAD_MS,
            max_clock_behind_ms: seam_engine::DEFAULT_MAX_CLOCK_BEHIND_MS,
            min_free_disk_bytes: 100 << 20,
        }
    }
}

/// The MQTT broker the MQTT sources subscribe through.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Kept across restarts: the broker holds QoS 1 messages for this client while it is down.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// TLS to the broker (`mqtts://`).
    pub tls: Option<ClientTlsSettings>,
    /// Send the password to a broker that is not on loopback without TLS (refused unless set).
    pub allow_plaintext_credentials: bool,
}

/// One source: where its records come from, how they are read and authenticated.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Written into every event as `source`; the ingest path is `/v1/ingest/{name}`.
    pub name: String,
    pub adapter: AdapterChoice,
    pub transport: Transport,
    pub auth: Auth,
    /// Time zone of vendor times written without an offset.
    pub timezone: Option<String>,
    /// Events more than this far after their receive time are dead letters.
    pub max_ahead_ms: i64,
    /// Events more than this far before their receive time are dead letters.
    pub max_behind_ms: i64,
    /// How late this source may deliver (an hourly export: over an hour): events within it
    /// raise no clock-skew finding. `None`: the engine's default.
    pub max_delay_ms: Option<i64>,
    /// The addresses and networks the source takes input from (syslog, netflow, HTTP); empty:
    /// any.
    pub allow: Vec<crate::conn::Network>,
    /// How far behind its own newest event an event of this source may arrive and still be
    /// ordered. `None`: the engine's `lateness_secs`.
    pub lateness_ms: Option<i64>,
}

/// Which adapter reads a source.
#[derive(Debug, Clone)]
pub enum AdapterChoice {
    One(Adapter),
    /// Syslog lines from several kinds of device on one listener: each line goes to the adapter
    /// whose format it has (ISE, Meraki, GlobalProtect, PAN-OS TRAFFIC and THREAT, DHCP,
    /// Linux authentication, Windows events as XML or Winlogbeat JSON), under that adapter's
    /// name.
    SyslogAuto,
    /// An export of a system of record (HR, cardholders, LDIF) read whole through an import
    /// mapping into directory changes, applied whole or refused whole.
    DirectoryImport(std::sync::Arc<seam_directory::import::ImportMapping>),
}

/// How a source's records arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `POST /v1/ingest/{name}`.
    Http,
    /// Syslog over UDP and/or TCP.
    Syslog {
        udp: Option<SocketAddr>,
        tcp: Option<SocketAddr>,
        /// TLS on the TCP listener (RFC 5425); UDP stays in the clear.
        tls: Option<TlsSettings>,
        /// The longest message taken (longer ones are dead letters).
        max_message_bytes: usize,
    },
    /// MQTT topics (filters with `+` and `#`).
    Mqtt { topics: Vec<String> },
    /// Files dropped into a folder: read whole, then moved to `done/` (or `failed/`).
    Directory {
        path: PathBuf,
        poll_ms: u64,
        /// A file is read once its size and modification time have not changed for this long.
        settle_ms: u64,
    },
    /// Pulled on a schedule from the vendor's API (ServiceNow's Table API).
    Pull(crate::pull::PullSettings),
    /// Events Seam makes itself (directory changes from SCIM provisioning and from edits to
    /// the estate's files); nothing is received from outside.
    Internal,
    /// NetFlow v5, v9 and IPFIX export datagrams over UDP, decoded by one flow decoder per
    /// listener that keeps the exporters' templates within `limits`.
    Netflow {
        udp: SocketAddr,
        limits: seam_adapters::FlowLimits,
    },
}

/// How an HTTP source proves its requests are its own.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Only on a loopback HTTP address.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// Okta event hooks: the configured header carries the shared secret; the one-time
    /// verification GET is answered.
    Okta { header: String, secret: Secret },
    /// An HMAC-SHA256 signature of the body (or of `timestamp.body`), with an optional replay
    /// window on a timestamp header and a nonce header.
    Hmac(HmacAuth),
}

#[derive(Debug, Clone)]
pub struct HmacAuth {
    pub secret: Secret,
    /// The header with the signature (hex or base64, optionally `sha256=`).
    pub header: String,
    /// What is signed.
    pub signed: Signed,
    /// The request time header; with it, requests outside the window are refused.
    pub timestamp_header: Option<String>,
    /// The nonce header; without it, the signature itself is the nonce.
    pub nonce_header: Option<String>,
    pub window_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    Body,
    /// `<timestamp header value>.<body>`.
    TimestampDotBody,
    /// `<timestamp header value>.<nonce header value>.<body>`: the nonce is signed too.
    TimestampNonceBody,
}

/// A secret from the configuration. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Toml { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

/// The shortest shared secret or token a source's `auth` takes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The default HTTP address: loopback only.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8787";
/// The default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "seam-data/serve";
/// The default largest request body: the adapters' own input limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = seam_adapters::MAX_BATCH_BYTES;
const DEFAULT_MAX_INFLIGHT_BYTES: usize = 256 << 20;
const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 10;
/// Adapters served over HTTP by default (no configuration file): one source per name, for
/// every adapter that reads a request body as it is. `zigbee2mqtt` is not here: it needs an
/// MQTT topic and a zone map. `netflow` reads a pcap capture posted whole (`--netflow ADDR`
/// replaces it with the UDP listener).
const DEFAULT_HTTP_ADAPTERS: &[&str] = &[
    "okta",
    "entra",
    "ise",
    "meraki",
    "globalprotect",
    "panos",
    "dhcp",
    "linux-auth",
    "windows",
    "servicenow",
    "netflow",
    "nfdump",
    "uhppote",
    "envoy",
    "ocsf",
    "ndjson",
    "pacs-onvif",
    "pacs-sia",
    "pacs-verkada",
    "pacs-report-csv",
];

/// Command-line settings, applied over the file's (or the defaults).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub estate: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL store (`postgres://…`).
    pub store: Option<String>,
    pub http: Option<String>,
    pub api: Option<String>,
    /// Adds a syslog source `syslog` (UDP and TCP on this address, formats recognized per line).
    pub syslog: Option<String>,
    /// Adds MQTT sources `uhppote` (`uhppoted/gateway/events/#`) and `zigbee2mqtt`
    /// (`zigbee2mqtt/#`) on this broker.
    pub mqtt: Option<String>,
    /// Adds a source `netflow` taking NetFlow v5/v9 and IPFIX export over UDP on this address.
    pub netflow: Option<String>,
    /// The engine's allowed lateness, ms.
    pub lateness_ms: Option<i64>,
    /// How often the wall clock moves the watermark, ms (0: never).
    pub heartbeat_ms: Option<u64>,
}

impl ServeConfig {
    /// The configuration without a file: every adapter over HTTP on loopback without
    /// authentication, plus whatever the overrides add.
    pub fn defaults(overrides: &Overrides) -> Result<ServeConfig, ConfigError> {
        let mut sources = Vec::new();
        for name in DEFAULT_HTTP_ADAPTERS {
            let adapter = Adapter::from_name(name).map_err(|e| invalid(e.to_string()))?;
            sources.push(SourceConfig::new(
                name,
                AdapterChoice::One(adapter),
                Transport::Http,
            ));
        }
        let mut config = ServeConfig {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store_url: None,
            file_digest: None,
            rules_digest: None,
            estate: None,
            rules: None,
            http: HttpConfig {
                listen: parse_addr("http", DEFAULT_HTTP)?,
                api: None,
                tls: None,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            },
            engine: EngineSettings::default(),
            mqtt: None,
            sources,
            limits: crate::conn::ConnectionLimits::default(),
            dead_letters: crate::dead_letters::DeadLetterLimits::default(),
            directory: DirectorySettings::default(),
            audit: AuditSettings::default(),
            access: AccessSettings::default(),
            retention: crate::retention::RetentionSettings {
                every_ms: 3_600_000,
                ..Default::default()
            },
            cases: crate::cases::CasesSettings::default(),
        };
        config.apply(overrides)?;
        Ok(config)
    }

    /// Reads a configuration file; relative paths in it are relative to its folder. The
    /// overrides are applied on top.
    pub fn from_file(path: &Path, overrides: &Overrides) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut config = ServeConfig::from_toml(&path.display().to_string(), &text, &base)?;
        config.apply(overrides)?;
        Ok(config)
    }

    /// Parses configuration text; `base` resolves relative paths.
    pub fn from_toml(path: &str, text: &str, base: &Path) -> Result<ServeConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| ConfigError::Toml {
            path: path.to_string(),
            message: error.to_string(),
        })?;
        let mut config = raw.resolve(base)?;
        use sha2::Digest as _;
        config.file_digest = Some(
            sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
        Ok(config)
    }

    fn apply(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        if let Some(estate) = &overrides.estate {
            self.estate = Some(estate.clone());
        }
        if let Some(rules) = &overrides.rules {
            self.rules = Some(rules.clone());
        }
        if let Some(dir) = &overrides.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.store {
            self.store_url = Some(url.clone());
        }
        if let Some(url) = &self.store_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid(format!(
                "store: give a postgres:// URL, not `{}`",
                url.chars().take(40).collect::<String>()
            )));
        }
        if let Some(http) = &overrides.http {
            self.http.listen = parse_addr("--http", http)?;
        }
        if let Some(api) = &overrides.api {
            self.http.api = Some(parse_addr("--api", api)?);
        }
        if let Some(ms) = overrides.lateness_ms {
            if ms < 0 {
                return Err(invalid("the lateness cannot be negative"));
            }
            self.engine.lateness_ms = ms;
        }
        if let Some(ms) = overrides.heartbeat_ms {
            self.engine.heartbeat_ms = ms;
        }
        if let Some(syslog) = &overrides.syslog {
            let addr = parse_addr("--syslog", syslog)?;
            self.sources.retain(|s| s.name != "syslog");
            self.sources.push(SourceConfig::new(
                "syslog",
                AdapterChoice::SyslogAuto,
                Transport::Syslog {
                    udp: Some(addr),
                    tcp: Some(addr),
                    tls: None,
                    max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
                },
            ));
        }
        if let Some(netflow) = &overrides.netflow {
            let addr = parse_addr("--netflow", netflow)?;
            self.sources.retain(|s| s.name != "netflow");
            self.sources.push(SourceConfig::new(
                "netflow",
                AdapterChoice::One(Adapter::Netflow),
                Transport::Netflow {
                    udp: addr,
                    limits: seam_adapters::FlowLimits::default(),
                },
            ));
        }
        if let Some(url) = &overrides.mqtt {
            let broker = parse_mqtt_url(url)?;
            self.mqtt = Some(MqttConfig {
                host: broker.host,
                port: broker.port,
                client_id: "seam-serve".into(),
                username: None,
                password: None,
                tls: broker.tls.then(ClientTlsSettings::default),
                allow_plaintext_credentials: false,
            });
            self.sources
                .retain(|s| s.name != "uhppote-mqtt" && s.name != "zigbee2mqtt");
            self.sources.push(SourceConfig::new(
                "uhppote-mqtt",
                AdapterChoice::One(Adapter::Uhppote),
                Transport::Mqtt {
                    topics: vec!["uhppoted/gateway/events/#".into()],
                },
            ));
            self.sources.push(SourceConfig::new(
                "zigbee2mqtt",
                AdapterChoice::One(Adapter::Zigbee2Mqtt(ZoneMap::new())),
                Transport::Mqtt {
                    topics: vec!["zigbee2mqtt/#".into()],
                },
            ));
        }
        self.validate()
    }

    /// Checks what no single field can: unique names, authentication off loopback, a
    /// loopback read API, a broker for MQTT sources.
    /// The configuration with the internal sources its directory settings call for: `scim`
    /// with SCIM provisioning, `estate` when the estate folder is reloaded.
    pub fn with_internal_sources(&self) -> ServeConfig {
        let mut config = self.clone();
        let wanted = [
            (SCIM_SOURCE, self.directory.scim.is_some()),
            (
                ESTATE_SOURCE,
                self.estate.is_some() && self.directory.reload_every_ms > 0,
            ),
        ];
        for (name, wanted) in wanted {
            if wanted && !config.sources.iter().any(|s| s.name == name) {
                let mut source = SourceConfig::new(
                    name,
                    AdapterChoice::One(Adapter::Ndjson),
                    Transport::Internal,
                );
                // Seam's own clock stamps them: never ahead, never behind.
                source.max_ahead_ms = 60_000;
                config.sources.push(source);
            }
        }
        config
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::BTreeSet::new();
        for source in &self.sources {
            if [SCIM_SOURCE, ESTATE_SOURCE].contains(&source.name.as_str())
                && source.transport != Transport::Internal
            {
                return Err(invalid(format!(
                    "source name `{}` is reserved for directory changes Seam makes itself",
                    source.name
                )));
            }
            if !valid_name(&source.name) {
                return Err(invalid(format!(
                    "source name `{}`: use 1-64 letters, digits, `-`, `_` or `.`",
                    source.name
                )));
            }
            if source.name == HEARTBEAT_SOURCE {
                return Err(invalid(format!(
                    "source name `{HEARTBEAT_SOURCE}` is reserved"
                )));
            }
            if !names.insert(source.name.as_str()) {
                return Err(invalid(format!(
                    "source `{}` is declared twice",
                    source.name
                )));
            }
            if source.transport == Transport::Http
                && matches!(source.auth, Auth::None)
                && !self.http.listen.ip().is_loopback()
            {
                return Err(invalid(format!(
                    "source `{}` has no authentication, and HTTP listens on {}, which is not loopback: give it `auth`, or listen on 127.0.0.1",
                    source.name, self.http.listen
                )));
            }
            if !matches!(source.auth, Auth::None) && source.transport != Transport::Http {
                return Err(invalid(format!(
                    "source `{}`: `auth` applies to HTTP sources only",
                    source.name
                )));
            }
            if matches!(source.transport, Transport::Mqtt { .. }) && self.mqtt.is_none() {
                return Err(invalid(format!(
                    "source `{}` uses MQTT, but no `[mqtt]` broker is configured",
                    source.name
                )));
            }
            if matches!(source.transport, Transport::Netflow { .. })
                && !matches!(source.adapter, AdapterChoice::One(Adapter::Netflow))
            {
                return Err(invalid(format!(
                    "source `{}`: `transport = \"netflow\"` goes with `adapter = \"netflow\"`",
                    source.name
                )));
            }
            if matches!(source.adapter, AdapterChoice::SyslogAuto)
                && !matches!(source.transport, Transport::Syslog { .. })
            {
                return Err(invalid(format!(
                    "source `{}`: adapter `syslog` reads syslog transports only",
                    source.name
                )));
            }
        }
        if let Some(mqtt) = &self.mqtt
            && mqtt.password.is_some()
            && mqtt.tls.is_none()
            && !host_is_loopback(&mqtt.host)
            && !mqtt.allow_plaintext_credentials
        {
            return Err(invalid(format!(
                "refusing to send the MQTT password to {} in the clear: use `mqtts://`, or set `allow_plaintext_credentials = true` under [mqtt] if the network is trusted",
                mqtt.host
            )));
        }
        let api = self.http.api.unwrap_or(self.http.listen);
        if !api.ip().is_loopback() && !self.access.required {
            return Err(invalid(format!(
                "refusing to serve the API on {api} without authentication: set `required = true` under [access] (and create users with `seam user add`), or listen on 127.0.0.1"
            )));
        }
        Ok(())
    }
}

/// The lateness a source of this adapter needs when its configuration says nothing: cloud
/// identity providers deliver their logs in batches, minutes out of order; the rest (syslog
/// lines, controllers, sensors, webhooks) arrive in order and take the engine's default.
fn default_lateness(adapter: &AdapterChoice) -> Option<i64> {
    match adapter {
        AdapterChoice::One(Adapter::Okta | Adapter::Entra) => Some(CLOUD_LATENESS_MS),
        _ => None,
    }
}

/// See [`default_lateness`].
const CLOUD_LATENESS_MS: i64 = 120_000;

/// Whether a broker's host name or address is this machine.
fn host_is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SourceConfig {
    /// A source with no authentication, UTC, and the adapters' default time bounds.
    pub fn new(name: &str, adapter: AdapterChoice, transport: Transport) -> SourceConfig {
        SourceConfig {
            name: name.to_string(),
            transport,
            auth: Auth::None,
            timezone: None,
            max_ahead_ms: seam_adapters::DEFAULT_MAX_AHEAD_MS,
            max_behind_ms: seam_adapters::DEFAULT_MAX_BEHIND_MS,
            max_delay_ms: None,
            allow: Vec::new(),
            lateness_ms: default_lateness(&adapter),
            adapter,
        }
    }

    /// The parse context for input received at `observed`.
    pub fn context(&self, observed: Ts) -> Result<ParseContext, ConfigError> {
        let mut ctx = ParseContext::new(self.name.clone(), observed);
        if let Some(zone) = &self.timezone {
            ctx = ctx.with_timezone(seam_adapters::timezone(zone).map_err(|e| {
                invalid(format!("source `{}`: time zone `{zone}`: {e}", self.name))
            })?);
        }
        ctx.max_ahead_ms = self.max_ahead_ms;
        ctx.max_behind_ms = self.max_behind_ms;
        Ok(ctx)
    }
}

/// The source name of the heartbeat records in the event log.
pub const HEARTBEAT_SOURCE: &str = "seam";

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn parse_addr(what: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    let text = text.trim();
    let text = text
        .strip_prefix("localhost:")
        .map_or_else(|| text.to_string(), |port| format!("127.0.0.1:{port}"));
    text.parse().map_err(|_| {
        invalid(format!(
            "{what}: `{text}` is not an address like 127.0.0.1:8787"
        ))
    })
}

/// A broker's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// `mqtt://host[:port]` (or `tcp://`), port 1883 by default; `mqtts://host[:port]` (or
/// `ssl://`) for TLS, port 8883 by default.
pub fn parse_mqtt_url(url: &str) -> Result<BrokerUrl, ConfigError> {
    let (rest, tls, default_port) = if let Some(rest) = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
    {
        (rest, false, 1883)
    } else if let Some(rest) = url
        .strip_prefix("mqtts://")
        .or_else(|| url.strip_prefix("ssl://"))
    {
        (rest, true, 8883)
    } else {
        return Err(invalid(format!(
            "MQTT broker `{url}`: expected mqtt://host:port, or mqtts://host:port for TLS"
        )));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| invalid(format!("MQTT broker `{url}`: bad port `{port}`")))?,
        ),
        None => (rest, default_port),
    };
    if host.is_empty() {
        return Err(invalid(format!("MQTT broker `{url}`: no host")));
    }
    Ok(BrokerUrl {
        host: host.to_string(),
        port,
        tls,
    })
}

// The file's shape. Kept apart from the resolved types so that the file can stay friendly
// (strings, optional fields) while the service works with checked values.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    /// `postgres://…`: the PostgreSQL store.
    store: Option<String>,
    estate: Option<PathBuf>,
    rules: Option<PathBuf>,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    engine: RawEngine,
    mqtt: Option<RawMqtt>,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    dead_letters: RawDeadLetters,
    #[serde(default)]
    directory: RawDirectory,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    access: RawAccess,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    cases: RawCases,
}

/// `[cases]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCases {
    grouping_minutes: Option<u32>,
    /// A TOML file of `[[case_type]]` tables replacing the shipped procedures.
    procedures: Option<PathBuf>,
    max_evidence_mib: Option<u64>,
}

impl RawCases {
    fn resolve(
        self,
        path: impl Fn(PathBuf) -> PathBuf,
    ) -> Result<crate::cases::CasesSettings, ConfigError> {
        let defaults = crate::cases::CasesSettings::default();
        let grouping_minutes = self.grouping_minutes.unwrap_or(defaults.grouping_minutes);
        if i64::from(grouping_minutes) * 60_000 > seam_cases::grouping::MAX_SPAN_MS {
            return Err(invalid(
                "[cases] grouping_minutes may be at most 10080 (a week)".to_string(),
            ));
        }
        let procedures = match self.procedures {
            Some(file) => {
                let file = path(file);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| invalid(format!("[cases] procedures: {}: {e}", file.display())))?;
                seam_cases::Procedures::parse(&text)
                    .map_err(|e| invalid(format!("[cases] procedures: {}: {e}", file.display())))?
            }
            None => defaults.procedures,
        };
        let max_evidence_bytes = match self.max_evidence_mib {
            Some(0) => {
                return Err(invalid(
                    "[cases] max_evidence_mib must be at least 1".to_string(),
                ));
            }
            Some(mib) => mib.min(64 * 1024).saturating_mul(1 << 20),
            None => defaults.max_evidence_bytes,
        };
        Ok(crate::cases::CasesSettings {
            grouping_minutes,
            procedures,
            max_evidence_bytes,
        })
    }
}

/// `[retention]`: days per data class.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    physical_days: Option<u32>,
    sign_in_days: Option<u32>,
    network_days: Option<u32>,
    findings_days: Option<u32>,
    unresolved_days: Option<u32>,
    audit_days: Option<u32>,
    cases_days: Option<u32>,
    every_secs: Option<u64>,
}

impl RawRetention {
    fn resolve(self) -> Result<crate::retention::RetentionSettings, ConfigError> {
        for (name, days) in [
            ("physical_days", self.physical_days),
            ("sign_in_days", self.sign_in_days),
            ("network_days", self.network_days),
            ("findings_days", self.findings_days),
            ("unresolved_days", self.unresolved_days),
            ("audit_days", self.audit_days),
            ("cases_days", self.cases_days),
        ] {
            if days == Some(0) {
                return Err(invalid(format!(
                    "[retention] {name} = 0 would erase everything at once: give at least 1, or leave it out to keep for ever"
                )));
            }
        }
        Ok(crate::retention::RetentionSettings {
            physical_days: self.physical_days,
            sign_in_days: self.sign_in_days,
            network_days: self.network_days,
            findings_days: self.findings_days,
            unresolved_days: self.unresolved_days,
            audit_days: self.audit_days,
            cases_days: self.cases_days,
            every_ms: self.every_secs.unwrap_or(3600).clamp(60, 7 * 86_400) * 1000,
        })
    }
}

/// `[access]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    required: Option<bool>,
    session_idle_secs: Option<u64>,
    session_absolute_secs: Option<u64>,
    reveal_secs: Option<u64>,
    oidc: Option<RawOidc>,
}

/// `[access.oidc]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    redirect_uri: String,
    scopes: Option<String>,
    roles_claim: Option<String>,
    #[serde(default)]
    role_map: std::collections::BTreeMap<String, Vec<String>>,
    sites_claim: Option<String>,
}

impl RawAccess {
    fn resolve(self) -> Result<AccessSettings, ConfigError> {
        let defaults = AccessSettings::default();
        let secs = |value: Option<u64>, default_ms: i64, name: &str| -> Result<i64, ConfigError> {
            match value {
                None => Ok(default_ms),
                Some(0) => Err(invalid(format!("[access] {name} must be at least 1"))),
                Some(secs) => Ok(i64::try_from(secs.min(366 * 86_400)).unwrap_or(0) * 1000),
            }
        };
        let mut session = defaults.session;
        session.idle_ms = secs(self.session_idle_secs, session.idle_ms, "session_idle_secs")?;
        session.absolute_ms = secs(
            self.session_absolute_secs,
            session.absolute_ms,
            "session_absolute_secs",
        )?;
        if session.idle_ms > session.absolute_ms {
            return Err(invalid(
                "[access] session_idle_secs is longer than session_absolute_secs",
            ));
        }
        let oidc = match self.oidc {
            None => None,
            Some(raw) => {
                let client_secret = match (raw.client_secret, raw.client_secret_env) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "[access.oidc] give client_secret or client_secret_env, not both",
                        ));
                    }
                    (Some(secret), None) => Some(Secret::new(secret)),
                    (None, Some(name)) => Some(Secret::new(
                        std::env::var(&name).map_err(|_| {
                            invalid(format!(
                                "[access.oidc] client_secret_env: the environment variable `{name}` is not set"
                            ))
                        })?,
                    )),
                    (None, None) => None,
                };
                for roles in raw.role_map.values() {
                    for role in roles {
                        role.parse::<seam_access::Role>()
                            .map_err(|e| invalid(format!("[access.oidc] role_map: {e}")))?;
                    }
                }
                if raw.role_map.is_empty() {
                    return Err(invalid(
                        "[access.oidc] role_map is empty: map at least one claim value to Seam roles",
                    ));
                }
                Some(OidcSettings {
                    issuer: raw.issuer,
                    client_id: raw.client_id,
                    client_secret,
                    redirect_uri: raw.redirect_uri,
                    scopes: raw
                        .scopes
                        .unwrap_or_else(|| "openid email profile".to_string()),
                    roles_claim: raw.roles_claim.unwrap_or_else(|| "groups".to_string()),
                    role_map: raw.role_map,
                    sites_claim: raw.sites_claim,
                })
            }
        };
        Ok(AccessSettings {
            required: self.required.unwrap_or(false),
            session,
            reveal_ms: secs(self.reveal_secs, defaults.reveal_ms, "reveal_secs")?,
            oidc,
        })
    }
}

/// `[audit]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    witness: Option<PathBuf>,
    witness_url: Option<String>,
    /// The environment variable holding the witness endpoint's bearer token.
    witness_token_env: Option<String>,
    checkpoint_secs: Option<u64>,
}

/// `[directory]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    /// Seconds between checks of the estate folder for edits; 0 turns reloading off.
    reload_secs: Option<u64>,
    #[serde(default)]
    precedence: std::collections::BTreeMap<String, Vec<String>>,
    scim: Option<RawScim>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScim {
    token: Option<String>,
    token_env: Option<String>,
    mapping: Option<PathBuf>,
    base_url: Option<String>,
}

/// `[dead_letters]`: per source, how many are stored and for how long.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDeadLetters {
    per_second: Option<u32>,
    burst: Option<u32>,
    quota_bytes: Option<u64>,
    retention_days: Option<u64>,
    sample_every: Option<u64>,
}

impl RawDeadLetters {
    fn resolve(self) -> Result<crate::dead_letters::DeadLetterLimits, ConfigError> {
        let defaults = crate::dead_letters::DeadLetterLimits::default();
        if self.retention_days == Some(0) {
            return Err(invalid("dead_letters.retention_days must be at least 1"));
        }
        Ok(crate::dead_letters::DeadLetterLimits {
            per_second: self.per_second.unwrap_or(defaults.per_second),
            burst: self.burst.unwrap_or(defaults.burst).max(1),
            quota_bytes: self.quota_bytes.unwrap_or(defaults.quota_bytes),
            retention: self.retention_days.map_or(defaults.retention, |days| {
                std::time::Duration::from_secs(days.saturating_mul(86_400))
            }),
            sample_every: self.sample_every.unwrap_or(defaults.sample_every).max(1),
        })
    }
}

/// A number of seconds written as an integer (`30`) or with a fraction (`0.5`).
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Seconds {
    Whole(i64),
    Fraction(f64),
}

impl Seconds {
    fn get(self) -> f64 {
        match self {
            Seconds::Whole(secs) => secs as f64,
            Seconds::Fraction(secs) => secs,
        }
    }
}

/// `[limits]`: connection hygiene on every TCP listener, and the drain on SIGTERM.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    idle_timeout_secs: Option<u64>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    min_body_bytes_per_sec: Option<u64>,
    body_grace_secs: Option<u64>,
    max_unverified_bytes: Option<usize>,
    drain_secs: Option<u64>,
}

impl RawLimits {
    fn resolve(self) -> Result<crate::conn::ConnectionLimits, ConfigError> {
        let defaults = crate::conn::ConnectionLimits::default();
        let secs = |what: &str, value: Option<u64>, default: std::time::Duration| match value {
            Some(0) => Err(invalid(format!("limits.{what} must be at least 1"))),
            Some(secs) => Ok(std::time::Duration::from_secs(secs)),
            None => Ok(default),
        };
        let count = |what: &str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(invalid(format!("limits.{what} must be at least 1"))),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        Ok(crate::conn::ConnectionLimits {
            max_connections: count(
                "max_connections",
                self.max_connections,
                defaults.max_connections,
            )?,
            max_per_address: count(
                "max_connections_per_address",
                self.max_connections_per_address,
                defaults.max_per_address,
            )?,
            idle_timeout: secs(
                "idle_timeout_secs",
                self.idle_timeout_secs,
                defaults.idle_timeout,
            )?,
            header_timeout: secs(
                "header_timeout_secs",
                self.header_timeout_secs,
                defaults.header_timeout,
            )?,
            body_timeout: secs(
                "body_timeout_secs",
                self.body_timeout_secs,
                defaults.body_timeout,
            )?,
            min_body_rate: self
                .min_body_bytes_per_sec
                .unwrap_or(defaults.min_body_rate),
            body_grace: secs("body_grace_secs", self.body_grace_secs, defaults.body_grace)?,
            max_unverified_bytes: count(
                "max_unverified_bytes",
                self.max_unverified_bytes,
                defaults.max_unverified_bytes,
            )?,
            // A drain of zero is allowed: stop at once.
            drain: self
                .drain_secs
                .map_or(defaults.drain, std::time::Duration::from_secs),
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    api: Option<String>,
    max_body_bytes: Option<usize>,
    max_inflight_bytes: Option<usize>,
    tls: Option<RawTls>,
}

/// `tls = { cert = "…", key = "…", client_ca = "…" }`; paths relative to the file's folder.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl RawTls {
    fn resolve(self, path: &dyn Fn(PathBuf) -> PathBuf) -> TlsSettings {
        TlsSettings {
            cert: path(self.cert),
            key: path(self.key),
            client_ca: self.client_ca.map(path),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    lateness_secs: Option<Seconds>,
    heartbeat_ms: Option<u64>,
    snapshot_every_secs: Option<u64>,
    snapshot_every_events: Option<u64>,
    queue_batches: Option<usize>,
    max_backlog_events: Option<usize>,
    writer_queue_jobs: Option<usize>,
    max_clock_ahead_secs: Option<i64>,
    max_clock_behind_secs: Option<i64>,
    min_free_disk_mb: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMqtt {
    url: String,
    client_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    tls: Option<RawClientTls>,
    allow_plaintext_credentials: Option<bool>,
}

/// `[mqtt] tls = { ca = "…", cert = "…", key = "…" }`, all optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientTls {
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl RawClientTls {
    fn resolve(self, path: &dyn Fn(PathBuf) -> PathBuf) -> ClientTlsSettings {
        ClientTlsSettings {
            ca: self.ca.map(path),
            cert: self.cert.map(path),
            key: self.key.map(path),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    adapter: String,
    transport: Option<String>,
    /// PACS: a mapping file (with `adapter = "pacs"`).
    mapping: Option<PathBuf>,
    /// Zigbee2MQTT: friendly name → zone, inline.
    zones: Option<BTreeMap<String, String>>,
    /// Zigbee2MQTT: a TOML file of `friendly name = "zone"` lines.
    zone_map: Option<PathBuf>,
    timezone: Option<String>,
    max_ahead_secs: Option<i64>,
    max_behind_secs: Option<i64>,
    max_delay_secs: Option<i64>,
    lateness_secs: Option<Seconds>,
    /// Sender addresses and networks taken (`["10.20.0.0/16", "192.0.2.7"]`).
    allow: Option<Vec<String>>,
    // syslog and netflow
    udp: Option<String>,
    tcp: Option<String>,
    tls: Option<RawTls>,
    max_message_bytes: Option<usize>,
    // netflow
    max_templates_per_exporter: Option<usize>,
    max_exporters: Option<usize>,
    max_template_fields: Option<usize>,
    // mqtt
    topics: Option<Vec<String>>,
    // directory
    path: Option<PathBuf>,
    poll_ms: Option<u64>,
    settle_ms: Option<u64>,
    auth: Option<RawAuth>,
    // pull
    url: Option<String>,
    every_secs: Option<u64>,
    page_size: Option<u32>,
    credentials: Option<RawCredentials>,
    /// The CA an `https` URL's certificate chains to (PEM); default: the system's CAs.
    ca: Option<PathBuf>,
}

/// How a pulled source signs in to the vendor's API.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    /// `basic` (a user and its password), `bearer` (an OAuth access token), `ssws` (an Okta
    /// API token) or `oauth-client` (OAuth client credentials: `token_url`, `client_id`,
    /// the secret, and `scope`, by default Graph's `.default`).
    kind: String,
    user: Option<String>,
    secret: Option<String>,
    secret_env: Option<String>,
    /// `oauth-client`: the token endpoint, the application's id and the scope asked.
    token_url: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    kind: String,
    secret: Option<String>,
    secret_env: Option<String>,
    header: Option<String>,
    signed: Option<String>,
    timestamp_header: Option<String>,
    nonce_header: Option<String>,
    window_secs: Option<i64>,
}

impl RawConfig {
    fn resolve(self, base: &Path) -> Result<ServeConfig, ConfigError> {
        let path = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let defaults = EngineSettings::default();
        let engine = EngineSettings {
            lateness_ms: match self.engine.lateness_secs.map(Seconds::get) {
                Some(secs) if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) => {
                    return Err(invalid("engine.lateness_secs must be between 0 and 86400"));
                }
                Some(secs) => (secs * 1000.0).round() as i64,
                None => defaults.lateness_ms,
            },
            heartbeat_ms: self.engine.heartbeat_ms.unwrap_or(defaults.heartbeat_ms),
            snapshot_every_ms: self
                .engine
                .snapshot_every_secs
                .map_or(defaults.snapshot_every_ms, |s| s.saturating_mul(1000)),
            snapshot_every_events: self
                .engine
                .snapshot_every_events
                .unwrap_or(defaults.snapshot_every_events),
            queue_batches: self
                .engine
                .queue_batches
                .unwrap_or(defaults.queue_batches)
                .max(1),
            max_backlog_events: self
                .engine
                .max_backlog_events
                .unwrap_or(defaults.max_backlog_events)
                .max(1),
            writer_queue_jobs: self
                .engine
                .writer_queue_jobs
                .unwrap_or(defaults.writer_queue_jobs)
                .max(1),
            max_clock_ahead_ms: match self.engine.max_clock_ahead_secs {
                Some(secs) if secs < 0 => {
                    return Err(invalid("engine.max_clock_ahead_secs is negative"));
                }
                Some(secs) => secs.saturating_mul(1000),
                None => defaults.max_clock_ahead_ms,
            },
            min_free_disk_bytes: self
                .engine
                .min_free_disk_mb
                .map_or(defaults.min_free_disk_bytes, |mb| {
                    mb.saturating_mul(1 << 20)
                }),
            max_clock_behind_ms: match self.engine.max_clock_behind_secs {
                Some(secs) if secs < 0 => {
                    return Err(invalid("engine.max_clock_behind_secs is negative"));
                }
                Some(secs) => secs.saturating_mul(1000),
                None => defaults.max_clock_behind_ms,
            },
        };
        let max_body_bytes = self.http.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes == 0 || max_body_bytes > seam_adapters::MAX_BATCH_BYTES {
            return Err(invalid(format!(
                "http.max_body_bytes must be between 1 and {}",
                seam_adapters::MAX_BATCH_BYTES
            )));
        }
        let http = HttpConfig {
            listen: parse_addr(
                "http.listen",
                self.http.listen.as_deref().unwrap_or(DEFAULT_HTTP),
            )?,
            api: self
                .http
                .api
                .as_deref()
                .map(|a| parse_addr("http.api", a))
                .transpose()?,
            tls: self.http.tls.map(|tls| tls.resolve(&path)),
            max_body_bytes,
            max_inflight_bytes: self
                .http
                .max_inflight_bytes
                .unwrap_or(DEFAULT_MAX_INFLIGHT_BYTES)
                .max(max_body_bytes),
        };
        let mqtt = match self.mqtt {
            Some(raw) => {
                let broker = parse_mqtt_url(&raw.url)?;
                let password = secret_from("mqtt.password", raw.password, raw.password_env)?;
                let tls = match (broker.tls, raw.tls) {
                    (true, tls) => Some(tls.map(|t| t.resolve(&path)).unwrap_or_default()),
                    (false, None) => None,
                    (false, Some(_)) => {
                        return Err(invalid(format!(
                            "mqtt.tls is set, but `{}` is not an mqtts:// address",
                            raw.url
                        )));
                    }
                };
                Some(MqttConfig {
                    host: broker.host,
                    port: broker.port,
                    client_id: raw.client_id.unwrap_or_else(|| "seam-serve".into()),
                    username: raw.username,
                    password,
                    tls,
                    allow_plaintext_credentials: raw.allow_plaintext_credentials.unwrap_or(false),
                })
            }
            None => None,
        };
        let mut sources = Vec::with_capacity(self.sources.len());
        for raw in self.sources {
            sources.push(raw.resolve(&path)?);
        }
        let directory = self.directory.resolve(&path)?;
        let witness_token = match &self.audit.witness_token_env {
            Some(name) => Some(Secret::new(std::env::var(name).map_err(|_| {
                invalid(format!(
                    "[audit] witness_token_env: the environment variable `{name}` is not set"
                ))
            })?)),
            None => None,
        };
        if let Some(url) = &self.audit.witness_url {
            crate::witness::HttpWitness::new(url, None).map_err(invalid)?;
        }
        let audit = AuditSettings {
            witness: self.audit.witness.map(path),
            witness_url: self.audit.witness_url,
            witness_token,
            checkpoint_every_ms: self
                .audit
                .checkpoint_secs
                .unwrap_or(60)
                .clamp(1, 86_400)
                .saturating_mul(1000),
        };
        let access = self.access.resolve()?;
        let retention = self.retention.resolve()?;
        let cases = self.cases.resolve(path)?;
        let config = ServeConfig {
            retention,
            cases,
            directory,
            audit,
            access,
            store_url: self.store,
            file_digest: None,
            rules_digest: None,
            data_dir: path(
                self.data_dir
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            ),
            estate: self.estate.map(path),
            rules: self.rules.map(path),
            http,
            engine,
            mqtt,
            sources,
            dead_letters: self.dead_letters.resolve()?,
            limits: self.limits.resolve()?,
        };
        config.validate()?;
        Ok(config)
    }
}

impl RawSource {
    fn resolve(self, path: &dyn Fn(PathBuf) -> PathBuf) -> Result<SourceConfig, ConfigError> {
        let name = self.name;
        let at = |message: String| invalid(format!("source `{name}`: {message}"));
        let adapter = match self.adapter.as_str() {
            "syslog" => AdapterChoice::SyslogAuto,
            "directory-import" => {
                let file = path(self.mapping.clone().ok_or_else(|| {
                    at(
                        "adapter `directory-import` needs `mapping = \"FILE\"` (docs/directory.md)"
                            .into(),
                    )
                })?);
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                    path: file.display().to_string(),
                    source,
                })?;
                let mapping =
                    seam_directory::import::ImportMapping::from_toml(&text).map_err(|errors| {
                        invalid(
                            errors
                                .iter()
                                .map(|e| format!("{}:{e}", file.display()))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        )
                    })?;
                AdapterChoice::DirectoryImport(std::sync::Arc::new(mapping))
            }
            "pacs" => {
                let file = path(
                    self.mapping
                        .clone()
                        .ok_or_else(|| at("adapter `pacs` needs `mapping = \"FILE\"`".into()))?,
                );
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                    path: file.display().to_string(),
                    source,
                })?;
                let mapping =
                    seam_adapters::PacsMapping::from_toml(&file.display().to_string(), &text)
                        .map_err(|errors| {
                            invalid(
                                errors
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            )
                        })?;
                AdapterChoice::One(Adapter::pacs(mapping))
            }
            other => {
                let adapter = Adapter::from_name(other).map_err(|e| at(e.to_string()))?;
                match adapter {
                    Adapter::Zigbee2Mqtt(_) => {
                        let mut zones = self.zones.clone().unwrap_or_default();
                        if let Some(file) = &self.zone_map {
                            let file = path(file.clone());
                            let text = std::fs::read_to_string(&file).map_err(|source| {
                                ConfigError::Read {
                                    path: file.display().to_string(),
                                    source,
                                }
                            })?;
                            let map: BTreeMap<String, String> =
                                toml::from_str(&text).map_err(|error| ConfigError::Toml {
                                    path: file.display().to_string(),
                                    message: error.to_string(),
                                })?;
                            zones.extend(map);
                        }
                        AdapterChoice::One(Adapter::Zigbee2Mqtt(zones))
                    }
                    adapter => AdapterChoice::One(adapter),
                }
            }
        };
        if self.mapping.is_some() && !matches!(self.adapter.as_str(), "pacs" | "directory-import") {
            return Err(at(
                "`mapping` goes with `adapter = \"pacs\"` or `\"directory-import\"`".into(),
            ));
        }
        if (self.zones.is_some() || self.zone_map.is_some()) && self.adapter != "zigbee2mqtt" {
            return Err(at(
                "`zones` and `zone_map` go with `adapter = \"zigbee2mqtt\"`".into(),
            ));
        }
        let transport = match self.transport.as_deref().unwrap_or("http") {
            "http" => Transport::Http,
            "syslog" => {
                let udp = self
                    .udp
                    .as_deref()
                    .map(|a| parse_addr("udp", a))
                    .transpose()?;
                let tcp = self
                    .tcp
                    .as_deref()
                    .map(|a| parse_addr("tcp", a))
                    .transpose()?;
                if udp.is_none() && tcp.is_none() {
                    return Err(at("a syslog source needs `udp` or `tcp` (or both)".into()));
                }
                if self.tls.is_some() && tcp.is_none() {
                    return Err(at(
                        "`tls` needs a `tcp` listener (syslog over UDP has no TLS)".into(),
                    ));
                }
                Transport::Syslog {
                    udp,
                    tcp,
                    tls: self.tls.map(|tls| tls.resolve(path)),
                    max_message_bytes: self
                        .max_message_bytes
                        .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES)
                        .clamp(480, seam_adapters::MAX_RECORD_BYTES),
                }
            }
            "mqtt" => {
                let topics = self.topics.clone().unwrap_or_default();
                if topics.is_empty() {
                    return Err(at("an MQTT source needs `topics`".into()));
                }
                for topic in &topics {
                    crate::mqtt::check_filter(topic).map_err(|e| at(e.to_string()))?;
                }
                Transport::Mqtt { topics }
            }
            "directory" => Transport::Directory {
                path: path(
                    self.path
                        .clone()
                        .ok_or_else(|| at("a directory source needs `path`".into()))?,
                ),
                poll_ms: self.poll_ms.unwrap_or(1_000).max(10),
                settle_ms: self.settle_ms.unwrap_or(1_000),
            },
            "netflow" => {
                if self.adapter != "netflow" {
                    return Err(at(format!(
                        "`transport = \"netflow\"` decodes NetFlow and IPFIX datagrams: it goes with `adapter = \"netflow\"`, not `{}`",
                        self.adapter
                    )));
                }
                if self.tcp.is_some() || self.tls.is_some() || self.max_message_bytes.is_some() {
                    return Err(at(
                        "a netflow source listens on UDP only: `tcp`, `tls` and `max_message_bytes` are syslog settings".into(),
                    ));
                }
                let udp = self
                    .udp
                    .as_deref()
                    .map(|a| parse_addr("udp", a))
                    .transpose()?
                    .ok_or_else(|| at("a netflow source needs `udp = \"0.0.0.0:2055\"`".into()))?;
                let defaults = seam_adapters::FlowLimits::default();
                let limit = |what: &str, value: Option<usize>, default: usize| match value {
                    Some(0) => Err(at(format!("`{what}` must be at least 1"))),
                    Some(n) => Ok(n),
                    None => Ok(default),
                };
                Transport::Netflow {
                    udp,
                    limits: seam_adapters::FlowLimits {
                        templates_per_exporter: limit(
                            "max_templates_per_exporter",
                            self.max_templates_per_exporter,
                            defaults.templates_per_exporter,
                        )?,
                        exporters: limit("max_exporters", self.max_exporters, defaults.exporters)?,
                        template_fields: limit(
                            "max_template_fields",
                            self.max_template_fields,
                            defaults.template_fields,
                        )?,
                    },
                }
            }
            "pull" => {
                let url = self
                    .url
                    .clone()
                    .ok_or_else(|| at("a pulled source needs `url`".into()))?;
                let api = crate::pull::PullApi::of(&self.adapter, &url).map_err(at)?;
                let credentials = match &self.credentials {
                    None => crate::pull::Credentials::None,
                    Some(raw) => {
                        let secret = match (&raw.secret, &raw.secret_env) {
                            (Some(secret), None) => Secret::new(secret.as_bytes()),
                            (None, Some(var)) => Secret::new(
                                std::env::var(var)
                                    .map_err(|_| {
                                        at(format!("environment variable `{var}` is not set"))
                                    })?
                                    .into_bytes(),
                            ),
                            _ => {
                                return Err(at(
                                    "`credentials` needs one of `secret` and `secret_env`".into(),
                                ));
                            }
                        };
                        match raw.kind.as_str() {
                            "basic" => crate::pull::Credentials::Basic {
                                user: raw.user.clone().ok_or_else(|| {
                                    at("`credentials` of kind basic need `user`".into())
                                })?,
                                password: secret,
                            },
                            "bearer" => crate::pull::Credentials::Bearer(secret),
                            "ssws" => crate::pull::Credentials::Ssws(secret),
                            "oauth-client" => {
                                let token_url = raw.token_url.clone().ok_or_else(|| {
                                    at("`credentials` of kind oauth-client need `token_url`".into())
                                })?;
                                crate::pull::Target::parse(&token_url).map_err(at)?;
                                crate::pull::Credentials::OAuthClient {
                                    token_url,
                                    client_id: raw.client_id.clone().ok_or_else(|| {
                                        at("`credentials` of kind oauth-client need `client_id`"
                                            .into())
                                    })?,
                                    secret,
                                    scope: raw.scope.clone().unwrap_or_else(|| {
                                        "https://graph.microsoft.com/.default".to_string()
                                    }),
                                }
                            }
                            other => {
                                return Err(at(format!(
                                    "unknown credentials kind `{other}`; known: basic, bearer, ssws, oauth-client"
                                )));
                            }
                        }
                    }
                };
                Transport::Pull(crate::pull::PullSettings {
                    api,
                    url,
                    every_ms: self.every_secs.unwrap_or(60).clamp(1, 86_400) * 1000,
                    credentials,
                    tls: ClientTlsSettings {
                        ca: self.ca.clone().map(path),
                        cert: None,
                        key: None,
                    },
                    page_size: self.page_size.unwrap_or(500).clamp(1, 10_000),
                })
            }
            other => {
                return Err(at(format!(
                    "unknown transport `{other}`; known: http, syslog, mqtt, directory, pull, netflow"
                )));
            }
        };
        let flow_limits_given = self.max_templates_per_exporter.is_some()
            || self.max_exporters.is_some()
            || self.max_template_fields.is_some();
        if flow_limits_given && !matches!(transport, Transport::Netflow { .. }) {
            return Err(at(
                "`max_templates_per_exporter`, `max_exporters` and `max_template_fields` go with `transport = \"netflow\"`".into(),
            ));
        }
        if self.adapter == "netflow" && matches!(transport, Transport::Syslog { .. }) {
            return Err(at(
                "flow export is not syslog: use `transport = \"netflow\"` with `udp = \"ADDRESS:PORT\"`".into(),
            ));
        }
        let auth = match self.auth {
            None => Auth::None,
            Some(raw) => raw.resolve(&name)?,
        };
        if let Some(zone) = &self.timezone {
            seam_adapters::timezone(zone).map_err(|e| at(format!("time zone `{zone}`: {e}")))?;
        }
        let source_lateness = match self.lateness_secs.map(Seconds::get) {
            Some(secs) if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) => {
                return Err(at("`lateness_secs` must be between 0 and 86400".into()));
            }
            Some(secs) => Some((secs * 1000.0).round() as i64),
            None => default_lateness(&adapter),
        };
        let bound = |what: &str, secs: Option<i64>, default: i64| match secs {
            Some(secs) if secs < 0 => Err(at(format!("`{what}` is negative"))),
            Some(secs) => Ok(secs.saturating_mul(1000)),
            None => Ok(default),
        };
        Ok(SourceConfig {
            adapter,
            transport,
            auth,
            timezone: self.timezone,
            max_ahead_ms: bound(
                "max_ahead_secs",
                self.max_ahead_secs,
                seam_adapters::DEFAULT_MAX_AHEAD_MS,
            )?,
            max_behind_ms: bound(
                "max_behind_secs",
                self.max_behind_secs,
                seam_adapters::DEFAULT_MAX_BEHIND_MS,
            )?,
            max_delay_ms: match self.max_delay_secs {
                Some(secs) if secs < 0 => return Err(at("`max_delay_secs` is negative".into())),
                Some(secs) => Some(secs.saturating_mul(1000)),
                None => None,
            },
            lateness_ms: source_lateness,
            allow: self
                .allow
                .unwrap_or_default()
                .iter()
                .map(|text| {
                    crate::conn::Network::parse(text).map_err(|e| at(format!("allow: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            name,
        })
    }
}

impl RawAuth {
    fn resolve(self, source: &str) -> Result<Auth, ConfigError> {
        let at = |message: String| invalid(format!("source `{source}`: auth: {message}"));
        let what = format!("source `{source}` auth");
        let secret = secret_from(&what, self.secret, self.secret_env)?;
        // A short shared secret can be guessed; signatures and tokens are only as strong as it.
        if let Some(secret) = &secret
            && secret.expose().len() < MIN_SECRET_BYTES
        {
            return Err(at(format!(
                "the secret is {} bytes; use at least {MIN_SECRET_BYTES} (random; `openssl rand -hex 32` makes one)",
                secret.expose().len()
            )));
        }
        let need_secret = || {
            secret
                .clone()
                .ok_or_else(|| at("needs `secret` or `secret_env`".into()))
        };
        Ok(match self.kind.as_str() {
            "none" => Auth::None,
            "bearer" => Auth::Bearer(need_secret()?),
            "okta" => Auth::Okta {
                header: self.header.unwrap_or_else(|| "Authorization".into()),
                secret: need_secret()?,
            },
            "hmac" => {
                let signed = match self.signed.as_deref().unwrap_or("body") {
                    "body" => Signed::Body,
                    "timestamp.body" => Signed::TimestampDotBody,
                    "timestamp.nonce.body" => Signed::TimestampNonceBody,
                    other => {
                        return Err(at(format!(
                            "`signed = \"{other}\"`: use \"body\", \"timestamp.body\" or \"timestamp.nonce.body\""
                        )));
                    }
                };
                if signed == Signed::TimestampNonceBody
                    && (self.timestamp_header.is_none() || self.nonce_header.is_none())
                {
                    return Err(at(
                        "`signed = \"timestamp.nonce.body\"` needs `timestamp_header` and `nonce_header`"
                            .into(),
                    ));
                }
                if signed == Signed::TimestampDotBody && self.timestamp_header.is_none() {
                    return Err(at(
                        "`signed = \"timestamp.body\"` needs `timestamp_header`".into()
                    ));
                }
                Auth::Hmac(HmacAuth {
                    secret: need_secret()?,
                    header: self.header.unwrap_or_else(|| "X-Signature".into()),
                    signed,
                    timestamp_header: self.timestamp_header,
                    nonce_header: self.nonce_header,
                    window_ms: self.window_secs.unwrap_or(300).clamp(1, 86_400) * 1000,
                })
            }
            other => {
                return Err(at(format!(
                    "unknown kind `{other}`; known: none, bearer, okta, hmac"
                )));
            }
        })
    }
}

impl RawDirectory {
    fn resolve(self, path: &dyn Fn(PathBuf) -> PathBuf) -> Result<DirectorySettings, ConfigError> {
        for (attribute, sources) in &self.precedence {
            if !seam_estate::Precedence::ATTRIBUTES.contains(&attribute.as_str()) {
                return Err(invalid(format!(
                    "directory.precedence: unknown attribute `{attribute}`; known: {}",
                    seam_estate::Precedence::ATTRIBUTES.join(", ")
                )));
            }
            if sources.is_empty() {
                return Err(invalid(format!(
                    "directory.precedence.{attribute}: name the sources, first wins"
                )));
            }
        }
        let scim = match self.scim {
            Some(raw) => {
                let token = secret_from("directory.scim.token", raw.token, raw.token_env)?
                    .ok_or_else(|| {
                        invalid("directory.scim needs `token` or `token_env`: the bearer token the identity provider presents")
                    })?;
                if token.expose().len() < 16 {
                    return Err(invalid(
                        "directory.scim.token: use at least 16 characters (a random token)",
                    ));
                }
                Some(ScimSettings {
                    token,
                    mapping: raw.mapping.map(path),
                    base_url: raw.base_url,
                })
            }
            None => None,
        };
        Ok(DirectorySettings {
            reload_every_ms: self
                .reload_secs
                .unwrap_or(5)
                .min(86_400)
                .saturating_mul(1000),
            precedence: self.precedence,
            scim,
        })
    }
}

fn secret_from(
    what: &str,
    value: Option<String>,
    env: Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match (value, env) {
        (Some(_), Some(_)) => Err(invalid(format!(
            "{what}: give the secret inline or from the environment, not both"
        ))),
        (Some(value), None) if value.is_empty() => {
            Err(invalid(format!("{what}: the secret is empty")))
        }
        (Some(value), None) => Ok(Some(Secret::new(value))),
        (None, Some(name)) => match std::env::var(&name) {
            Ok(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
            _ => Err(invalid(format!(
                "{what}: the environment variable `{name}` is not set or empty"
            ))),
        },
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
        ServeConfig::from_toml("seam.toml", text, Path::new("/etc/seam"))
    }

    #[test]
    fn a_full_file_resolves() {
        let config = parse(
            r#"
            data_dir = "data"
            [http]
            listen = "0.0.0.0:8787"
            api = "127.0.0.1:8788"
            [engine]
            lateness_secs = 30
            [mqtt]
            url = "mqtt://127.0.0.1:1883"
            [[source]]
            name = "okta"
            adapter = "okta"
            auth = { kind = "okta", secret = "hook-secret-0123456789" }
            [[source]]
            name = "envoy"
            adapter = "envoy"
            auth = { kind = "hmac", secret = "s-0123456789abcdef", header = "X-Envoy-Signature" }
            [[source]]
            name = "net"
            adapter = "syslog"
            transport = "syslog"
            udp = "127.0.0.1:5514"
            [[source]]
            name = "sensors"
            adapter = "zigbee2mqtt"
            transport = "mqtt"
            topics = ["zigbee2mqtt/#"]
            zones = { "hq-server-pir" = "hq-server" }
            "#,
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/etc/seam/data"));
        assert_eq!(config.engine.lateness_ms, 30_000);
        assert_eq!(config.sources.len(), 4);
        assert!(matches!(config.sources[0].auth, Auth::Okta { .. }));
        assert!(matches!(
            &config.sources[3].adapter,
            AdapterChoice::One(Adapter::Zigbee2Mqtt(zones)) if zones.len() == 1
        ));
    }

    #[test]
    fn tls_settings_resolve_beside_the_file() {
        let config = parse(
            r#"
            [http]
            tls = { cert = "tls/ingest.pem", key = "/keys/ingest.pem" }
            [mqtt]
            url = "mqtts://broker.example"
            [[source]]
            name = "fw"
            adapter = "globalprotect"
            transport = "syslog"
            tcp = "127.0.0.1:6514"
            tls = { cert = "s.pem", key = "s-key.pem", client_ca = "ca.pem" }
            "#,
        )
        .unwrap();
        let http = config.http.tls.unwrap();
        assert_eq!(http.cert, PathBuf::from("/etc/seam/tls/ingest.pem"));
        assert_eq!(http.key, PathBuf::from("/keys/ingest.pem"));
        let mqtt = config.mqtt.unwrap();
        assert_eq!(mqtt.port, 8883);
        assert_eq!(mqtt.tls, Some(ClientTlsSettings::default()));
        let Transport::Syslog { tls: Some(tls), .. } = &config.sources[0].transport else {
            panic!("a syslog source with TLS");
        };
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/seam/ca.pem")));

        let udp_only = parse(
            r#"
            [[source]]
            name = "fw"
            adapter = "globalprotect"
            transport = "syslog"
            udp = "127.0.0.1:5514"
            tls = { cert = "s.pem", key = "s-key.pem" }
            "#,
        );
        assert!(
            udp_only
                .unwrap_err()
                .to_string()
                .contains("needs a `tcp` listener")
        );
        let plain_broker = parse(
            r#"
            [mqtt]
            url = "mqtt://broker.example"
            tls = { ca = "ca.pem" }
            "#,
        );
        assert!(
            plain_broker
                .unwrap_err()
                .to_string()
                .contains("not an mqtts://")
        );
    }

    #[test]
    fn short_secrets_and_clear_passwords_to_remote_brokers_are_refused() {
        let short = r#"
            [[source]]
            name = "hook"
            adapter = "okta"
            auth = { kind = "okta", secret = "x" }
        "#;
        let error = ServeConfig::from_toml("seam.toml", short, Path::new("."))
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("at least 16"), "{error}");
        let clear = r#"
            [mqtt]
            url = "mqtt://broker.example:1883"
            username = "seam"
            password = "broker-password"
        "#;
        let error = ServeConfig::from_toml("seam.toml", clear, Path::new("."))
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("in the clear"), "{error}");
        let allowed = format!("{clear}allow_plaintext_credentials = true\n");
        assert!(ServeConfig::from_toml("seam.toml", &allowed, Path::new(".")).is_ok());
        let local = clear.replace("broker.example", "127.0.0.1");
        assert!(ServeConfig::from_toml("seam.toml", &local, Path::new(".")).is_ok());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = parse(
            r#"
            [[source]]
            name = "okta"
            adapter = "okta"
            auth = { kind = "bearer", secret = "very-secret-token-0123" }
            "#,
        )
        .unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("very-secret-token"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn unauthenticated_sources_off_loopback_are_refused() {
        let error = parse(
            r#"
            [http]
            listen = "0.0.0.0:8787"
            api = "127.0.0.1:8788"
            [[source]]
            name = "okta"
            adapter = "okta"
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("has no authentication"), "{error}");
    }

    #[test]
    fn the_read_api_is_refused_off_loopback() {
        let error = parse(
            r#"
            [http]
            listen = "0.0.0.0:8787"
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("refusing to serve the API on 0.0.0.0:8787 without authentication"),
            "{error}"
        );
        let required = parse(
            r#"
            [http]
            listen = "0.0.0.0:8787"
            [access]
            required = true
            session_idle_secs = 600
            "#,
        )
        .unwrap();
        assert!(required.access.required);
        // The file's digest goes into the audit log at start: a changed file shows.
        assert_eq!(required.file_digest.as_ref().map(String::len), Some(64));
        assert_eq!(required.access.session.idle_ms, 600_000);
        let error = parse(
            r#"
            [access]
            session_idle_secs = 90000
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("longer than session_absolute_secs"),
            "{error}"
        );
        let error = ServeConfig::defaults(&Overrides {
            http: Some("0.0.0.0:9000".into()),
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("not loopback"), "{error}");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            (
                "[[source]]\nname = \"a\"\nadapter = \"nope\"",
                "unknown adapter `nope`",
            ),
            (
                "[[source]]\nname = \"a b\"\nadapter = \"okta\"",
                "source name `a b`",
            ),
            (
                "[[source]]\nname = \"a\"\nadapter = \"okta\"\ntransport = \"smtp\"",
                "unknown transport `smtp`",
            ),
            (
                "[[source]]\nname = \"a\"\nadapter = \"uhppote\"\ntransport = \"mqtt\"\ntopics = [\"x/#\"]",
                "no `[mqtt]` broker",
            ),
            (
                "[[source]]\nname = \"a\"\nadapter = \"okta\"\nauth = { kind = \"bearer\" }",
                "needs `secret`",
            ),
            (
                "[[source]]\nname = \"a\"\nadapter = \"okta\"\n[[source]]\nname = \"a\"\nadapter = \"okta\"",
                "declared twice",
            ),
            (
                "[[source]]\nname = \"seam\"\nadapter = \"okta\"",
                "reserved",
            ),
            ("bogus = 1", "seam.toml"),
            (
                "[[source]]\nname = \"a\"\nadapter = \"ise\"\ntimezone = \"Mars/Olympus\"",
                "time zone",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn netflow_sources_take_udp_an_allowlist_and_template_limits() {
        let config = parse(
            r#"
            [[source]]
            name = "flows"
            adapter = "netflow"
            transport = "netflow"
            udp = "0.0.0.0:2055"
            allow = ["10.10.0.0/16"]
            max_templates_per_exporter = 64
            max_exporters = 100
            "#,
        )
        .unwrap();
        let source = &config.sources[0];
        let Transport::Netflow { udp, limits } = &source.transport else {
            panic!("a netflow transport: {:?}", source.transport);
        };
        assert_eq!(udp.port(), 2055);
        assert_eq!(limits.templates_per_exporter, 64);
        assert_eq!(limits.exporters, 100);
        assert_eq!(
            limits.template_fields,
            seam_adapters::FlowLimits::default().template_fields
        );
        assert_eq!(source.allow.len(), 1);
        let flows = "[[source]]\nname = \"f\"\ntransport = \"netflow\"\n";
        for (text, expected) in [
            (
                format!("{flows}adapter = \"syslog\"\nudp = \"127.0.0.1:2055\""),
                "goes with `adapter = \"netflow\"`, not `syslog`",
            ),
            (
                format!("{flows}adapter = \"netflow\""),
                "needs `udp = ",
            ),
            (
                format!("{flows}adapter = \"netflow\"\nudp = \"127.0.0.1:2055\"\ntcp = \"127.0.0.1:2055\""),
                "UDP only",
            ),
            (
                format!("{flows}adapter = \"netflow\"\nudp = \"127.0.0.1:2055\"\nmax_exporters = 0"),
                "`max_exporters` must be at least 1",
            ),
            (
                "[[source]]\nname = \"f\"\nadapter = \"netflow\"\ntransport = \"syslog\"\nudp = \"127.0.0.1:2055\"".into(),
                "use `transport = \"netflow\"`",
            ),
            (
                "[[source]]\nname = \"f\"\nadapter = \"okta\"\nmax_exporters = 5".into(),
                "go with `transport = \"netflow\"`",
            ),
        ] {
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let flag = ServeConfig::defaults(&Overrides {
            netflow: Some("127.0.0.1:2055".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert!(
            flag.sources
                .iter()
                .any(|s| s.name == "netflow" && matches!(s.transport, Transport::Netflow { .. }))
        );
    }

    #[test]
    fn the_defaults_serve_every_adapter_that_reads_a_body_over_http() {
        let config = ServeConfig::defaults(&Overrides::default()).unwrap();
        for name in Adapter::NAMES {
            if matches!(*name, "zigbee2mqtt" | "pacs-<mapping>") {
                continue;
            }
            assert!(
                config
                    .sources
                    .iter()
                    .any(|s| s.name == *name && s.transport == Transport::Http),
                "{name}"
            );
        }
        assert!(config.sources.iter().any(|s| s.name.starts_with("pacs-")));
    }

    #[test]
    fn flags_add_syslog_and_mqtt_sources() {
        let config = ServeConfig::defaults(&Overrides {
            syslog: Some("127.0.0.1:5514".into()),
            mqtt: Some("mqtt://127.0.0.1:1883".into()),
            lateness_ms: Some(5_000),
            ..Overrides::default()
        })
        .unwrap();
        assert!(config.sources.iter().any(|s| s.name == "syslog"));
        assert!(config.sources.iter().any(|s| s.name == "zigbee2mqtt"));
        assert_eq!(config.engine.lateness_ms, 5_000);
        assert_eq!(config.mqtt.unwrap().port, 1883);
        assert!(parse_mqtt_url("http://x").is_err());
        let tls = parse_mqtt_url("mqtts://broker.example").unwrap();
        assert_eq!((tls.port, tls.tls), (8883, true));
    }
}
