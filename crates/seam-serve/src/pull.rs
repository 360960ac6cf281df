//! Pulling a source on a schedule: ServiceNow's Table API (`change_request`), the Okta System
//! Log API (`/api/v1/logs`) and Microsoft Graph's sign-ins and directory audits
//! (`/auditLogs/signIns`, `/auditLogs/directoryAudits`).
//!
//! **ServiceNow.**
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
//!
//! **Okta System Log.** Polled as Okta documents it: the first request asks `since` a day ago
//! in ascending order, and every answer carries a `Link: <…>; rel="next"` to the records after
//! it, even when it is empty. That link is the cursor: it is followed page by page, saved
//! once the page before it is durable, and asked again on the next pull (an empty page means
//! nothing newer yet). `X-Rate-Limit-Remaining` at 0 waits for `X-Rate-Limit-Reset`; a 429
//! waits for the reset too.
//!
//! **Microsoft Graph.** `$filter=createdDateTime ge CURSOR` (`activityDateTime` for directory
//! audits), then `@odata.nextLink` page by page; the cursor moves to the newest time seen once
//! every page of the pull is durable (the boundary is read again; the store keeps each record
//! once by its id). A 429 or 503 waits for `Retry-After`.
//!
//! A next link must point at the configured host and port with the same scheme: the
//! credentials are never sent anywhere else. A pull that is handed a next link it has already
//! followed stops as failed (a repeating page), rather than looping.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
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

/// Which API a pulled source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullApi {
    ServiceNow,
    OktaLogs,
    GraphSignIns,
    GraphDirectoryAudits,
}

impl PullApi {
    /// The API behind a source's adapter and URL, or why there is none.
    pub fn of(adapter: &str, url: &str) -> Result<PullApi, String> {
        let path = Target::parse(url)?.path;
        let path = path.trim_end_matches('/');
        match adapter {
            "servicenow" => Ok(PullApi::ServiceNow),
            "okta" => Ok(PullApi::OktaLogs),
            "entra" if path.ends_with("/auditLogs/signIns") => Ok(PullApi::GraphSignIns),
            "entra" if path.ends_with("/auditLogs/directoryAudits") => {
                Ok(PullApi::GraphDirectoryAudits)
            }
            "entra" => Err(format!(
                "`{url}`: a pulled `entra` source reads Graph's `…/auditLogs/signIns` or `…/auditLogs/directoryAudits`"
            )),
            other => Err(format!(
                "`transport = \"pull\"` reads ServiceNow's Table API, the Okta System Log or Microsoft Graph: it goes with `adapter = \"servicenow\"`, `\"okta\"` or `\"entra\"`, not `{other}`"
            )),
        }
    }
}

/// Where and how to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSettings {
    pub api: PullApi,
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
    /// An Okta API token (`Authorization: SSWS …`).
    Ssws(Secret),
    /// OAuth 2.0 client credentials (RFC 6749 §4.4), as Microsoft Graph takes them: an access
    /// token is asked of `token_url` and used until shortly before it expires.
    OAuthClient {
        token_url: String,
        client_id: String,
        secret: Secret,
        scope: String,
    },
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
    /// The `Host` header: the port too when it is not the scheme's default (RFC 9110 7.2),
    /// which servers use to build the links they answer with.
    pub(crate) fn host_header(&self) -> String {
        let default_port = if self.https { 443 } else { 80 };
        if self.port == default_port {
            self.host.clone()
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Any `http(s)://host[:port]/path?query` URL, the query kept in `path`.
    pub(crate) fn parse_any(url: &str) -> Result<Target, String> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let mut target = Target::parse(base.split('#').next().unwrap_or_default())?;
        if let Some(query) = query {
            target.path.push('?');
            target
                .path
                .push_str(query.split('#').next().unwrap_or_default());
        }
        Ok(target)
    }

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
    let mut token = TokenCache::default();
    loop {
        let pulled = match token.credentials(&settings, tls.as_ref()).await {
            Ok(credentials) => {
                let settings = PullSettings {
                    credentials,
                    ..settings.clone()
                };
                pull_once(
                    &shared,
                    index,
                    &settings,
                    &target,
                    tls.as_ref(),
                    &mut cursor,
                )
                .await
            }
            Err(failure) => Err(failure),
        };
        let wait = match pulled {
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

/// An access token from client credentials, kept until a minute before it expires.
#[derive(Default)]
struct TokenCache {
    token: Option<(Secret, std::time::Instant)>,
}

impl TokenCache {
    /// The credentials to send: as configured, or a current access token for client
    /// credentials.
    async fn credentials(
        &mut self,
        settings: &PullSettings,
        tls: Option<&tokio_rustls::TlsConnector>,
    ) -> Result<Credentials, Failure> {
        let Credentials::OAuthClient {
            token_url,
            client_id,
            secret,
            scope,
        } = &settings.credentials
        else {
            return Ok(settings.credentials.clone());
        };
        if let Some((token, until)) = &self.token
            && std::time::Instant::now() < *until
        {
            return Ok(Credentials::Bearer(token.clone()));
        }
        let target = Target::parse(token_url).map_err(Failure::new)?;
        let connector;
        let tls = if target.https {
            match tls {
                Some(tls) => Some(tls),
                None => {
                    connector = crate::tls::client_config(&settings.tls)
                        .map(tokio_rustls::TlsConnector::from)
                        .map_err(|error| Failure::new(error.to_string()))?;
                    Some(&connector)
                }
            }
        } else {
            None
        };
        let mut form = b"grant_type=client_credentials&client_id=".to_vec();
        form.extend_from_slice(percent_encode(client_id).as_bytes());
        form.extend_from_slice(b"&scope=");
        form.extend_from_slice(percent_encode(scope).as_bytes());
        form.extend_from_slice(b"&client_secret=");
        form.extend_from_slice(percent_encode_bytes(secret.expose()).as_bytes());
        let answer = tokio::time::timeout(
            REQUEST_TIMEOUT,
            request(&target, tls, &target.path, &Credentials::None, Some(form)),
        )
        .await
        .map_err(|_| Failure::new("the token endpoint did not answer in time"))??;
        let value: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|_| Failure::new("the token endpoint's answer is not JSON"))?;
        let Some(access) = value
            .get("access_token")
            .and_then(serde_json::Value::as_str)
        else {
            return Err(Failure::new(
                "the token endpoint's answer has no `access_token`",
            ));
        };
        let lifetime = value
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(300);
        let token = Secret::new(access.as_bytes().to_vec());
        self.token = Some((
            token.clone(),
            std::time::Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1)),
        ));
        Ok(Credentials::Bearer(token))
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

/// One pull of the configured API.
async fn pull_once(
    shared: &Shared,
    index: usize,
    settings: &PullSettings,
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    cursor: &mut Option<String>,
) -> Result<(), Failure> {
    match settings.api {
        PullApi::ServiceNow => pull_table(shared, index, settings, target, tls, cursor).await,
        PullApi::OktaLogs => pull_okta(shared, index, settings, target, tls, cursor).await,
        PullApi::GraphSignIns | PullApi::GraphDirectoryAudits => {
            pull_graph(shared, index, settings, target, tls, cursor).await
        }
    }
}

/// Stores one page through the source's adapter and waits until it is durable.
async fn store_page(
    shared: &Shared,
    index: usize,
    body: &[u8],
    origin: &str,
) -> Result<(), Failure> {
    let prepared = ingest::prepare(shared, index, body, None, origin, Ts(crate::now_ms()))
        .map_err(|error| Failure::new(format!("the page could not be read: {error}")))?;
    ingest::submit_patiently(shared, prepared)
        .await
        .map(|_| ())
        .map_err(|error| Failure::new(format!("the page could not be stored: {error}")))
}

/// The Okta System Log: follow `rel="next"` until a page comes back empty.
async fn pull_okta(
    shared: &Shared,
    index: usize,
    settings: &PullSettings,
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    cursor: &mut Option<String>,
) -> Result<(), Failure> {
    let limit = settings.page_size.clamp(1, 1_000);
    let mut next = match cursor.clone() {
        Some(link) => link,
        None => format!(
            "{}?since={}&sortOrder=ASCENDING&limit={limit}",
            target.path,
            percent_encode(&iso_seconds(Ts(crate::now_ms()).minus_millis(86_400_000)))
        ),
    };
    let mut followed = std::collections::BTreeSet::new();
    for _ in 0..MAX_PAGES {
        if !followed.insert(next.clone()) {
            return Err(Failure::new(
                "the API handed back a page it had already given",
            ));
        }
        let answer = get(target, tls, &next, &settings.credentials).await?;
        let records = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|value| value.as_array().map(Vec::len))
            .ok_or_else(|| Failure::new("the answer is not a JSON array of log events"))?;
        if records > 0 {
            store_page(shared, index, &answer.body, "pull:okta").await?;
        }
        let Some(link) = answer.next.as_deref() else {
            // Okta always links to what follows; without a link, ask the same again later.
            return Ok(());
        };
        let link = same_origin(target, link)?;
        if records == 0 {
            return Ok(());
        }
        *cursor = Some(link.clone());
        next = link;
        if let Some(wait) = answer.rate_wait {
            tokio::time::sleep(wait.min(MAX_BACKOFF)).await;
        }
    }
    Ok(())
}

/// Microsoft Graph: everything from the cursor's time on, page by page.
async fn pull_graph(
    shared: &Shared,
    index: usize,
    settings: &PullSettings,
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    cursor: &mut Option<String>,
) -> Result<(), Failure> {
    let field = if settings.api == PullApi::GraphDirectoryAudits {
        "activityDateTime"
    } else {
        "createdDateTime"
    };
    let since = cursor
        .clone()
        .unwrap_or_else(|| iso_seconds(Ts(crate::now_ms()).minus_millis(86_400_000)));
    let top = settings.page_size.clamp(1, 1_000);
    let mut next = format!(
        "{}?$filter={}&$top={top}",
        target.path,
        percent_encode(&format!("{field} ge {since}"))
    );
    let mut newest: Option<String> = None;
    let mut followed = std::collections::BTreeSet::new();
    for _ in 0..MAX_PAGES {
        if !followed.insert(next.clone()) {
            return Err(Failure::new(
                "the API handed back a page it had already given",
            ));
        }
        let answer = get(target, tls, &next, &settings.credentials).await?;
        let value: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|error| Failure::new(format!("the answer is not JSON: {error}")))?;
        let Some(records) = value.get("value").and_then(serde_json::Value::as_array) else {
            return Err(Failure::new("the answer has no `value` list"));
        };
        for record in records {
            if let Some(time) = record.get(field).and_then(serde_json::Value::as_str)
                && let Ok(parsed) = Ts::parse(time)
            {
                // Written back into the next filter: only a time Seam printed itself.
                let printed = iso_seconds(parsed);
                if newest.as_deref().is_none_or(|n| printed.as_str() > n) {
                    newest = Some(printed);
                }
            }
        }
        if !records.is_empty() {
            store_page(shared, index, &answer.body, "pull:graph").await?;
        }
        let link = value
            .get("@odata.nextLink")
            .and_then(serde_json::Value::as_str)
            .map(|link| same_origin(target, link))
            .transpose()?;
        match link {
            Some(link) => next = link,
            None => break,
        }
    }
    if let Some(newest) = newest
        && cursor.as_deref().is_none_or(|c| newest.as_str() > c)
    {
        *cursor = Some(newest);
    }
    Ok(())
}

/// The path and query of a link the API handed back, if it points where the source is
/// configured to pull from (scheme, host and port): credentials go nowhere else.
fn same_origin(target: &Target, link: &str) -> Result<String, Failure> {
    let refused = || {
        Failure::new(format!(
            "the API linked to `{}`, outside {}:{}; not followed",
            link.chars().take(200).collect::<String>(),
            target.host,
            target.port
        ))
    };
    let (scheme_https, rest) = if let Some(rest) = link.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = link.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(refused());
    };
    let at = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(at);
    let default_port = if scheme_https { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| refused())?),
        None => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if scheme_https != target.https
        || !host.eq_ignore_ascii_case(&target.host)
        || port != target.port
        || !path.starts_with('/')
        || path.len() > 8_192
        || path.bytes().any(|b| b.is_ascii_control() || b == b' ')
    {
        return Err(refused());
    }
    Ok(path.to_string())
}

/// `2026-03-02T21:00:00Z`: seconds, UTC, as both APIs read a time in a query.
fn iso_seconds(ts: Ts) -> String {
    let text = ts.to_string();
    format!("{}Z", text.get(..19).unwrap_or(&text))
}

/// One pull: every page of what changed since the cursor, each made durable before the cursor
/// moves past it.
async fn pull_table(
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
        let body = get(target, tls, &path, &settings.credentials).await?.body;
        let (records, newest) = page_summary(&body)?;
        let origin = format!("pull:{}", cursor.as_deref().unwrap_or("start"));
        store_page(shared, index, &body, &origin).await?;
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

/// A successful answer: its body, the `rel="next"` link of a `Link` header, and how long to
/// wait before the next request when the rate limit is spent.
struct Answer {
    body: Vec<u8>,
    next: Option<String>,
    rate_wait: Option<Duration>,
}

/// One GET, with the time-out, the credentials and a body limit.
async fn get(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    path: &str,
    credentials: &Credentials,
) -> Result<Answer, Failure> {
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        request(target, tls, path, credentials, None),
    )
    .await
    .map_err(|_| Failure::new(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))?
}

/// A GET, or with `form` a POST of that `application/x-www-form-urlencoded` body.
async fn request(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    path: &str,
    credentials: &Credentials,
    form: Option<Vec<u8>>,
) -> Result<Answer, Failure> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|error| {
            Failure::new(format!(
                "cannot connect to {}:{}: {error}",
                target.host, target.port
            ))
        })?;
    let method = if form.is_some() {
        hyper::Method::POST
    } else {
        hyper::Method::GET
    };
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, target.host_header())
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
        Credentials::Ssws(token) => {
            let mut value = b"SSWS ".to_vec();
            value.extend_from_slice(token.expose());
            request = request.header(hyper::header::AUTHORIZATION, value);
        }
        // Exchanged for a bearer token before any request (see `TokenCache`).
        Credentials::OAuthClient { .. } => {
            return Err(Failure::new(
                "client credentials were not exchanged for a token",
            ));
        }
    }
    let body = match form {
        Some(form) => {
            request = request.header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
            Full::new(Bytes::from(form))
        }
        None => Full::new(Bytes::new()),
    };
    let request = request
        .body(body)
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
    let headers = response.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Okta: the limit's reset as epoch seconds; Graph and others: Retry-After in seconds.
    let until_reset = header("x-rate-limit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|reset| {
            let wait = reset.saturating_mul(1000).saturating_sub(crate::now_ms());
            Duration::from_millis(u64::try_from(wait.max(1_000)).unwrap_or(1_000))
        });
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .or(until_reset);
    let spent = header("x-rate-limit-remaining").is_some_and(|v| v.trim() == "0");
    let rate_wait = if spent { until_reset } else { None };
    let next = headers
        .get_all(hyper::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(next_link);
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
    Ok(Answer {
        body: body.to_vec(),
        next,
        rate_wait,
    })
}

/// The URL of one `Link` header entry whose `rel` is `next` (RFC 8288).
fn next_link(entry: &str) -> Option<String> {
    let (url, params) = entry.trim().split_once(';')?;
    let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
    params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case("rel") && v.trim().trim_matches('"') == "next")
        .then(|| url.to_string())
}

async fn send<S>(
    io: TokioIo<S>,
    request: hyper::Request<Full<Bytes>>,
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
    percent_encode_bytes(text.as_bytes())
}

fn percent_encode_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
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
    fn next_links_are_read_from_link_headers_and_followed_only_at_home() {
        assert_eq!(
            next_link(r#"<https://acme.okta.com/api/v1/logs?after=1&limit=2>; rel="next""#),
            Some("https://acme.okta.com/api/v1/logs?after=1&limit=2".to_string())
        );
        assert_eq!(next_link(r#"<https://acme.okta.com/x>; rel="self""#), None);
        assert_eq!(next_link("garbage"), None);
        let target = Target::parse("https://acme.okta.com/api/v1/logs").unwrap_or(Target {
            https: false,
            host: String::new(),
            port: 0,
            path: String::new(),
        });
        assert_eq!(
            same_origin(&target, "https://ACME.okta.com/api/v1/logs?after=9").ok(),
            Some("/api/v1/logs?after=9".to_string())
        );
        for elsewhere in [
            "https://evil.example/api/v1/logs?after=9",
            "http://acme.okta.com/api/v1/logs?after=9",
            "https://acme.okta.com:8443/api/v1/logs",
            "https://acme.okta.com.evil.example/x",
            "//acme.okta.com/x",
            "https://acme.okta.com/a b",
        ] {
            assert!(same_origin(&target, elsewhere).is_err(), "{elsewhere}");
        }
    }

    #[test]
    fn the_api_comes_from_the_adapter_and_path() {
        assert_eq!(
            PullApi::of(
                "entra",
                "https://graph.microsoft.com/v1.0/auditLogs/signIns"
            ),
            Ok(PullApi::GraphSignIns)
        );
        assert_eq!(
            PullApi::of(
                "entra",
                "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits"
            ),
            Ok(PullApi::GraphDirectoryAudits)
        );
        assert!(PullApi::of("entra", "https://graph.microsoft.com/v1.0/users").is_err());
        assert_eq!(
            PullApi::of("okta", "https://acme.okta.com/api/v1/logs"),
            Ok(PullApi::OktaLogs)
        );
        assert!(PullApi::of("meraki", "https://x/y").is_err());
        assert_eq!(
            iso_seconds(Ts::parse("2026-03-02T21:00:00.123Z").unwrap_or(Ts(0))),
            "2026-03-02T21:00:00Z"
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
