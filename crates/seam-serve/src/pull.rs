//! Pulling a source on a schedule: ServiceNow's Table API (`change_request`).
//!
//! The first pull asks for every change whose planned end is at most a day ago (what is open
//! or coming); each later pull asks for what was updated since the newest update already made
//! durable (`sys_updated_on>=CURSOR`, oldest first, page by page). The boundary is read again
//! on purpose: records updated in the same second as the cursor are not lost, and the store
//! keeps each update once (its uid is the record and its update time). The cursor is written
//! to `<data dir>/pull/<source>.cursor` only after the page that moved it is durable, so a
//! crash re-reads a page and never skips one.
//!
//! ServiceNow reads the times of an encoded query in the integration user's time zone; that
//! user must be set to UTC (the times the API returns as values are UTC regardless).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use seam_model::Ts;

use crate::config::Secret;
use crate::ingest;
use crate::server::Shared;
use crate::tls::ClientTlsSettings;

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a `Retry-After` is honoured for.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Pages fetched per pull at most, so that one pull never runs unbounded.
const MAX_PAGES: u32 = 1_000;
/// The fields asked for: the change, and the names (not only the ids) of its references.
const FIELDS: &str = "sys_id,sys_class_name,number,type,state,approval,start_date,end_date,\
cmdb_ci,cmdb_ci.name,assigned_to,assigned_to.user_name,assigned_to.email,assignment_group,\
short_description,sys_updated_on";

/// Where and how to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSettings {
    /// The table's URL: `https://acme.service-now.com/api/now/table/change_request`.
    pub url: String,
    pub every_ms: u64,
    pub credentials: Credentials,
    /// TLS for an `https` URL (the system's CAs unless `ca` is given).
    pub tls: ClientTlsSettings,
    /// Records per page (`sysparm_limit`).
    pub page_size: u32,
}

/// How the puller proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    /// HTTP Basic: the integration user and its password.
    Basic {
        user: String,
        password: Secret,
    },
    /// An OAuth access token.
    Bearer(Secret),
}

/// The parts of an `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("give credentials in `credentials`, not in the URL".to_string());
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "`{url}`: the URL is the table's; Seam writes the query itself"
            ));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("`{url}`: bad port `{port}`"))?;
                (host, port)
            }
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        Ok(Target {
            https,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// Pulls until the service stops.
pub(crate) async fn run(
    shared: Arc<Shared>,
    index: usize,
    settings: PullSettings,
    data_dir: PathBuf,
) {
    let name = shared
        .sources
        .get(index)
        .map(|s| s.config.name.clone())
        .unwrap_or_default();
    let target = match Target::parse(&settings.url) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("seam serve: source `{name}`: {error}");
            return;
        }
    };
    let tls = if target.https {
        match crate::tls::client_config(&settings.tls) {
            Ok(config) => Some(tokio_rustls::TlsConnector::from(config)),
            Err(error) => {
                eprintln!("seam serve: source `{name}`: {error}");
                return;
            }
        }
    } else {
        None
    };
    let cursor_path = data_dir.join("pull").join(format!("{name}.cursor"));
    let mut cursor = read_cursor(&cursor_path).await;
    let mut written = cursor.clone();
    let mut warned = false;
    loop {
        let wait = match pull_once(
            &shared,
            index,
            &settings,
            &target,
            tls.as_ref(),
            &mut cursor,
        )
        .await
        {
            Ok(()) => {
                // Written only when a pull moved it: most pulls find nothing new.
                if let Some(moved) = cursor.as_ref().filter(|c| written.as_ref() != Some(*c)) {
                    match write_cursor(&cursor_path, moved).await {
                        Ok(()) => written = Some(moved.clone()),
                        Err(error) => eprintln!(
                            "seam serve: source `{name}`: cannot write `{}`: {error}",
                            cursor_path.display()
                        ),
                    }
                }
                set_trouble(&shared, index, false);
                warned = false;
                Duration::from_millis(settings.every_ms)
            }
            Err(failure) => {
                set_trouble(&shared, index, true);
                if let Some(counters) = shared.metrics.source(&name) {
                    counters.pull_failures.fetch_add(1, Ordering::Relaxed);
                }
                if !warned {
                    eprintln!(
                        "seam serve: source `{name}`: pull failed: {}",
                        failure.reason
                    );
                    warned = true;
                }
                failure
                    .retry_after
                    .unwrap_or(Duration::from_millis(settings.every_ms))
                    .min(MAX_BACKOFF)
            }
        };
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn set_trouble(shared: &Shared, index: usize, failing: bool) {
    if let Some(source) = shared.sources.get(index) {
        source.pull_failing.store(failing, Ordering::Relaxed);
    }
}

/// Why a pull stopped, and when the server asked to be called again.
struct Failure {
    reason: String,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// One pull: every page of what changed since the cursor, each made durable before the cursor
/// moves past it.
async fn pull_once(
    shared: &Shared,
    index: usize,
    settings: &PullSettings,
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    cursor: &mut Option<String>,
) -> Result<(), Failure> {
    let now = Ts(crate::now_ms());
    let query = match cursor.as_deref() {
        Some(since) => format!("sys_updated_on>={since}^ORDERBYsys_updated_on"),
        None => format!(
            "end_date>={}^ORDERBYsys_updated_on",
            table_time(now.minus_millis(86_400_000))
        ),
    };
    let page_size = settings.page_size.clamp(1, 10_000);
    for page in 0..MAX_PAGES {
        let offset = u64::from(page) * u64::from(page_size);
        let path = format!(
            "{}?sysparm_query={}&sysparm_fields={}&sysparm_display_value=all&sysparm_exclude_reference_link=true&sysparm_limit={page_size}&sysparm_offset={offset}",
            target.path,
            percent_encode(&query),
            percent_encode(FIELDS),
        );
        let body = get(target, tls, &path, &settings.credentials).await?;
        let (records, newest) = page_summary(&body)?;
        let origin = format!("pull:{}", cursor.as_deref().unwrap_or("start"));
        let prepared = ingest::prepare(shared, index, &body, None, &origin, Ts(crate::now_ms()))
            .map_err(|error| Failure::new(format!("the page could not be read: {error}")))?;
        ingest::submit_patiently(shared, prepared)
            .await
            .map_err(|error| Failure::new(format!("the page could not be stored: {error}")))?;
        if let Some(newest) = newest
            && cursor.as_deref().is_none_or(|c| newest.as_str() > c)
        {
            *cursor = Some(newest);
        }
        if records < page_size as usize {
            return Ok(());
        }
    }
    Ok(())
}

/// How many records a page holds and the newest `sys_updated_on` among them (its UTC value).
fn page_summary(body: &[u8]) -> Result<(usize, Option<String>), Failure> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| Failure::new(format!("the answer is not JSON: {error}")))?;
    let Some(records) = value.get("result").and_then(serde_json::Value::as_array) else {
        return Err(Failure::new("the answer has no `result` list"));
    };
    let newest = records
        .iter()
        .filter_map(|record| {
            let field = record.get("sys_updated_on")?;
            let text = field.get("value").unwrap_or(field).as_str()?;
            // Only a well-formed `YYYY-MM-DD HH:MM:SS` may become the cursor: it is written
            // back into the next query.
            let well_formed = text.len() == 19
                && text.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    10 => b == b' ',
                    13 | 16 => b == b':',
                    _ => b.is_ascii_digit(),
                });
            well_formed.then(|| text.to_string())
        })
        .max();
    Ok((records.len(), newest))
}

/// One GET, with the time-out, the credentials and a body limit.
async fn get(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    path: &str,
    credentials: &Credentials,
) -> Result<Vec<u8>, Failure> {
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        get_unbounded(target, tls, path, credentials),
    )
    .await
    .map_err(|_| Failure::new(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))?
}

async fn get_unbounded(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    path: &str,
    credentials: &Credentials,
) -> Result<Vec<u8>, Failure> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|error| {
            Failure::new(format!(
                "cannot connect to {}:{}: {error}",
                target.host, target.port
            ))
        })?;
    let mut request = hyper::Request::get(path)
        .header(hyper::header::HOST, target.host.as_str())
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "seam");
    match credentials {
        Credentials::None => {}
        Credentials::Basic { user, password } => {
            let mut pair = user.as_bytes().to_vec();
            pair.push(b':');
            pair.extend_from_slice(password.expose());
            request = request.header(
                hyper::header::AUTHORIZATION,
                format!("Basic {}", base64(&pair)),
            );
        }
        Credentials::Bearer(token) => {
            let mut value = b"Bearer ".to_vec();
            value.extend_from_slice(token.expose());
            request = request.header(hyper::header::AUTHORIZATION, value);
        }
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|error| Failure::new(format!("cannot build the request: {error}")))?;
    let response = match tls {
        Some(tls) => {
            let name = rustls_pki_types::ServerName::try_from(target.host.clone())
                .map_err(|error| Failure::new(format!("`{}`: {error}", target.host)))?;
            let stream = tls
                .connect(name, stream)
                .await
                .map_err(|error| Failure::new(format!("TLS with {}: {error}", target.host)))?;
            send(TokioIo::new(stream), request).await?
        }
        None => send(TokioIo::new(stream), request).await?,
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = Limited::new(response.into_body(), seam_adapters::MAX_BATCH_BYTES)
        .collect()
        .await
        .map_err(|error| Failure::new(format!("the answer could not be read: {error}")))?
        .to_bytes();
    if !status.is_success() {
        let detail: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        return Err(Failure {
            reason: format!("HTTP {status}: {detail}"),
            retry_after,
        });
    }
    Ok(body.to_vec())
}

async fn send<S>(
    io: TokioIo<S>,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, Failure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|error| Failure::new(format!("HTTP handshake: {error}")))?;
    // The connection is driven beside the request and dropped with it.
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| Failure::new(format!("HTTP request: {error}")));
    if response.is_err() {
        driver.abort();
    }
    response
}

/// A time as the Table API writes it, in UTC: `2026-03-02 21:00:00`.
fn table_time(ts: Ts) -> String {
    let text = ts.to_string();
    // `2026-03-02T21:00:00.000Z` → `2026-03-02 21:00:00`
    text.get(..19).unwrap_or(&text).replacen('T', " ", 1)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn read_cursor(path: &Path) -> Option<String> {
    let text = tokio::fs::read_to_string(path).await.ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Writes the cursor whole: a new file, synced, renamed over the old one.
async fn write_cursor(path: &Path, cursor: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let temporary = path.with_extension("cursor.new");
    let file = tokio::fs::File::create(&temporary).await?;
    let mut file = tokio::io::BufWriter::new(file);
    tokio::io::AsyncWriteExt::write_all(&mut file, cursor.as_bytes()).await?;
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    file.into_inner().sync_all().await?;
    tokio::fs::rename(&temporary, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_queries_refused() {
        assert_eq!(
            Target::parse("https://acme.service-now.com/api/now/table/change_request"),
            Ok(Target {
                https: true,
                host: "acme.service-now.com".into(),
                port: 443,
                path: "/api/now/table/change_request".into()
            })
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/t").map(|t| (t.port, t.path)),
            Ok((8080, "/t".to_string()))
        );
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("https://u:p@x/").is_err());
        assert!(Target::parse("https://x/t?sysparm_query=a").is_err());
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b"admin:secret"), "YWRtaW46c2VjcmV0");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(
            percent_encode("sys_updated_on>=2026-03-02 21:00:00^ORDERBYsys_updated_on"),
            "sys_updated_on%3E%3D2026-03-02%2021%3A00%3A00%5EORDERBYsys_updated_on"
        );
        assert_eq!(
            table_time(Ts::parse("2026-03-02T21:00:00Z").unwrap_or(Ts(0))),
            "2026-03-02 21:00:00"
        );
    }

    #[test]
    fn the_cursor_is_the_newest_well_formed_update() {
        let body = br#"{"result":[{"sys_updated_on":{"value":"2026-03-02 09:00:00"}},{"sys_updated_on":"2026-03-02 10:00:00"},{"sys_updated_on":"2026-03-02 11:00:00' OR 1=1"}]}"#;
        let summary = page_summary(body).map_err(|f| f.reason);
        assert_eq!(summary, Ok((3, Some("2026-03-02 10:00:00".to_string()))));
        assert!(page_summary(b"{}").is_err());
    }
}
