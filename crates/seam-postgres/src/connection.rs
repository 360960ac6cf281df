//! Connecting to the server, naming it in messages, and turning its failures into
//! [`StoreError`]s.
//!
//! `StoreError` has no variant for a database server, so a server failure travels as
//! [`StoreError::Io`]: the action, the server named without its password, and the client's
//! error (with the server's own message) as the source.

use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use seam_store::StoreError;

/// How long to wait for the server to accept a connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed connection string and how to name it: `postgres://user@host:port/db`, never with
/// the password, so that it can go into any message or log.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) config: Config,
    pub(crate) name: String,
}

impl Target {
    /// Parses a URL (`postgres://user@host:port/db`) or a key-value string
    /// (`host=… user=… dbname=…`).
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        let mut config = Config::from_str(url).map_err(|error| StoreError::Io {
            action: "parse the PostgreSQL connection string",
            // The string itself may hold a password: name it only by its kind.
            path: PathBuf::from("<connection string>"),
            source: io::Error::new(io::ErrorKind::InvalidInput, error),
        })?;
        if config.get_application_name().is_none() {
            // What the server's pg_stat_activity shows for this connection.
            config.application_name("seam");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let name = display_name(&config);
        Ok(Target { config, name })
    }

    pub(crate) fn connect(&self) -> Result<Client, StoreError> {
        self.config
            .connect(NoTls)
            .map_err(|error| server_error("connect to", &self.name, error))
    }
}

fn display_name(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    let hosts = if hosts.is_empty() {
        "localhost".to_owned()
    } else {
        hosts.join(",")
    };
    let ports = if ports.is_empty() {
        "5432".to_owned()
    } else {
        ports.join(",")
    };
    format!("postgres://{user}@{hosts}:{ports}/{database}")
}

/// Something that went wrong inside one store operation, before it is named by its action.
#[derive(Debug)]
pub(crate) enum Failure {
    Server(postgres::Error),
    /// A text column held bytes that are not UTF-8: something other than this crate wrote it.
    NotUtf8 {
        column: &'static str,
    },
    /// A stored number that cannot be what this crate wrote.
    Invalid {
        what: &'static str,
    },
}

impl From<postgres::Error> for Failure {
    fn from(error: postgres::Error) -> Failure {
        Failure::Server(error)
    }
}

impl Failure {
    pub(crate) fn into_store_error(self, action: &'static str, target: &str) -> StoreError {
        match self {
            Failure::Server(error) => server_error(action, target, error),
            Failure::NotUtf8 { column } => StoreError::Io {
                action,
                path: PathBuf::from(target),
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("column `{column}` holds bytes that are not UTF-8"),
                ),
            },
            Failure::Invalid { what } => StoreError::Io {
                action,
                path: PathBuf::from(target),
                source: io::Error::new(io::ErrorKind::InvalidData, format!("invalid {what}")),
            },
        }
    }
}

pub(crate) fn server_error(
    action: &'static str,
    target: &str,
    error: postgres::Error,
) -> StoreError {
    let kind = if error.is_closed() {
        io::ErrorKind::ConnectionAborted
    } else {
        io::ErrorKind::Other
    };
    StoreError::Io {
        action,
        path: PathBuf::from(target),
        // The client's own Display is terse ("db error"); the server's message follows as its
        // source, which `io::Error` passes on.
        source: io::Error::new(kind, error),
    }
}

/// Text kept as `bytea` (see the schema), read back.
pub(crate) fn utf8(bytes: Vec<u8>, column: &'static str) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| Failure::NotUtf8 { column })
}

/// A count or position read from a `bigint` column.
pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, Failure> {
    u64::try_from(value).map_err(|_| Failure::Invalid { what })
}
