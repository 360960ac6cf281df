//! Creating and dropping databases: what tests (this crate's and others') need to give every
//! store a database of its own.

use std::sync::atomic::{AtomicU64, Ordering};

use seam_store::StoreError;

use crate::connection::{Target, server_error};

/// The environment variable that names the server tests use, as a URL to its admin database.
pub const TEST_SERVER_VARIABLE: &str = "SEAM_TEST_POSTGRES";
/// The server tests use when [`TEST_SERVER_VARIABLE`] is unset: a local one, trust auth.
pub const DEFAULT_TEST_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL of the server tests use: [`TEST_SERVER_VARIABLE`] or [`DEFAULT_TEST_SERVER`].
pub fn test_server_url() -> String {
    std::env::var(TEST_SERVER_VARIABLE).unwrap_or_else(|_| DEFAULT_TEST_SERVER.to_owned())
}

/// Creates the database `name` on the server `admin_url` connects to; returns a URL for it
/// (`admin_url` with its database replaced).
pub fn create_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    let target = Target::parse(admin_url)?;
    let mut client = target.connect()?;
    client
        .batch_execute(&format!("CREATE DATABASE {}", quote_identifier(name)))
        .map_err(|error| server_error("create a database on", &target.name, error))?;
    Ok(database_url(admin_url, name))
}

/// Drops the database `name`, if there is one, closing any connection still open to it.
pub fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let target = Target::parse(admin_url)?;
    let mut client = target.connect()?;
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(name)
        ))
        .map_err(|error| server_error("drop a database on", &target.name, error))
}

/// `url` with its database replaced by `name`: the path of a URL, `dbname` of a key-value
/// string.
pub fn database_url(url: &str, name: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // Key-value form: a later key wins, so appending is enough.
        let quoted = name.replace('\\', "\\\\").replace('\'', "\\'");
        return format!("{url} dbname='{quoted}'");
    };
    let after_scheme = scheme_end + 3;
    let rest = url.get(after_scheme..).unwrap_or("");
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    let query = tail
        .find('?')
        .map_or("", |start| tail.get(start..).unwrap_or(""));
    let scheme = url.get(..after_scheme).unwrap_or("postgres://");
    format!("{scheme}{authority}/{}{query}", percent_encode(name))
}

/// A database made for one test and dropped, with whatever connections are left to it, when
/// this is dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// Makes the names of scratch databases unique within a process.
static SCRATCH_NUMBER: AtomicU64 = AtomicU64::new(0);

impl ScratchDatabase {
    /// Creates a database named `{prefix}_{process id}_{n}`, unique on the server while this
    /// process runs.
    pub fn create(admin_url: &str, prefix: &str) -> Result<ScratchDatabase, StoreError> {
        let number = SCRATCH_NUMBER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{number}", std::process::id());
        // A crashed run of a process that had this id may have left it behind.
        drop_database(admin_url, &name)?;
        let url = create_database(admin_url, &name)?;
        Ok(ScratchDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL to open a store in it with.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Where possible: a test that lost its server has reported that already.
        let _ = drop_database(&self.admin_url, &self.name);
    }
}

/// `name` as a PostgreSQL identifier, quoted, so that any name is taken literally.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gets_the_new_database_as_its_path() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "seam_1"),
            "postgres://postgres@127.0.0.1:5432/seam_1"
        );
        assert_eq!(
            database_url("postgresql://u:p@h/admin?connect_timeout=3", "a b"),
            "postgresql://u:p@h/a%20b?connect_timeout=3"
        );
        assert_eq!(database_url("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            database_url("host=h user=u dbname=postgres", "it's"),
            "host=h user=u dbname=postgres dbname='it\\'s'"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("plain"), "\"plain\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
