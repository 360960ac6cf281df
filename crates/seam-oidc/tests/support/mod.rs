//! The test peers of single sign-on, shared by the tests of `seam-oidc` and of the service:
//! npm's `oidc-provider` started on loopback, and a small browser that follows the provider's
//! sign-in and consent pages to the redirect URI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

pub const CLIENT_ID: &str = "seam";
pub const CLIENT_SECRET: &str = "seam-oidc-test-secret-4c1e9a";

// ---------------------------------------------------------------------------------------
// The provider process.

/// The running provider. Dropping it kills the process, also when a test fails; should the
/// test process itself die, the script ends when its stdin closes.
pub struct Provider {
    pub child: Child,
    pub _stdin: ChildStdin,
    pub issuer: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Provider {
    /// Starts the provider with the client `seam` (and its siblings) redirecting to
    /// `redirect_uri`.
    pub fn start(redirect_uri: &str) -> Provider {
        // From this crate's tests or from another crate's, which include this file.
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../seam-oidc");
        let script = manifest.join("tests/provider/provider.mjs");
        let modules = std::env::var_os("SEAM_OIDC_PROVIDER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("../../.ci/node/node_modules"));
        let package = modules.join("oidc-provider/package.json");
        assert!(
            package.is_file(),
            "oidc-provider is not installed at {}: run `.ci/run`, which installs it \
             (npm install --prefix .ci/node oidc-provider@9.13.3), or point \
             SEAM_OIDC_PROVIDER_DIR at a node_modules directory holding it",
            modules.display()
        );
        let mut child = Command::new("node")
            .arg(&script)
            .args(["--port", "0", "--client-id", CLIENT_ID])
            .args([
                "--client-secret",
                CLIENT_SECRET,
                "--redirect-uri",
                redirect_uri,
            ])
            .env("SEAM_OIDC_PROVIDER_DIR", &modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run `node` ({error}): the OpenID Connect tests need Node.js 20 or \
                     later and oidc-provider, which `.ci/run` installs"
                )
            });
        let stdin = child.stdin.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut child_stderr = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut buffer = [0u8; 4096];
            while let Ok(read) = child_stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                *collected.lock().unwrap() = text.clone();
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (ready, ready_line) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = ready.send(lines.next().and_then(Result::ok));
            // Keep reading so that the provider never blocks on a full pipe.
            for _ in lines {}
        });
        let line = ready_line.recv_timeout(Duration::from_secs(60));
        let mut provider = Provider {
            child,
            _stdin: stdin,
            issuer: String::new(),
            stderr,
        };
        let Ok(Some(line)) = line else {
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "the provider did not start: {}",
                provider.stderr.lock().unwrap()
            );
        };
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the provider said `{line}`, not its address"));
        provider.issuer = ready["issuer"].as_str().unwrap().to_string();
        provider
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client and browser (plain http on loopback).

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn http(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> Response {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not a loopback http URL: {url}"));
    let (authority, target) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_string()),
        Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
        None => (rest, "/".to_string()),
    };
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         User-Agent: seam-oidc-test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();

    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("an HTTP response head");
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: raw[head_end + 4..].to_vec(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|coding| coding.eq_ignore_ascii_case("chunked"))
    {
        response.body = dechunk(&response.body);
    }
    response
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Where the browser ended up: a page of the provider, or the redirect to Seam's callback.
pub enum Landing {
    Page { html: String },
    Callback { query: String },
}

pub struct Browser {
    pub cookies: BTreeMap<String, String>,
    /// The redirect URI: the browser stops before following a redirect there.
    stop_at: String,
}

impl Browser {
    pub fn stopping_at(redirect_uri: &str) -> Browser {
        Browser {
            cookies: BTreeMap::new(),
            stop_at: redirect_uri.to_string(),
        }
    }

    /// Loads `url` (POSTing `form` when given) and follows redirects until a page, or until
    /// the redirect to the redirect URI, which is not followed.
    pub fn navigate(&mut self, url: &str, form: Option<&str>) -> Landing {
        let mut url = url.to_string();
        let mut form = form.map(str::to_string);
        for _ in 0..12 {
            if let Some(rest) = url.strip_prefix(self.stop_at.as_str()) {
                return Landing::Callback {
                    query: rest.trim_start_matches('?').to_string(),
                };
            }
            let mut headers = Vec::new();
            if !self.cookies.is_empty() {
                let jar: Vec<String> = self
                    .cookies
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                headers.push(("Cookie".to_string(), jar.join("; ")));
            }
            let method = if form.is_some() { "POST" } else { "GET" };
            if form.is_some() {
                headers.push((
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ));
            }
            let response = http(
                method,
                &url,
                &headers,
                form.as_deref().unwrap_or_default().as_bytes(),
            );
            self.keep_cookies(&response);
            match response.status {
                301 | 302 | 303 | 307 | 308 => {
                    let location = response.header("location").expect("a Location header");
                    url = resolve(&url, location);
                    if matches!(response.status, 301..=303) {
                        form = None;
                    }
                }
                200 => {
                    return Landing::Page {
                        html: response.text(),
                    };
                }
                status => panic!("{method} {url} answered {status}: {}", response.text()),
            }
        }
        panic!("too many redirects from {url}");
    }

    /// Cookies by name, whatever their path: enough for one provider on one host. A cookie
    /// set empty or already expired is deleted.
    pub fn keep_cookies(&mut self, response: &Response) {
        for (name, value) in &response.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap();
            let (cookie, content) = pair.split_once('=').unwrap();
            let expired = value
                .to_ascii_lowercase()
                .contains("expires=thu, 01 jan 1970");
            if content.is_empty() || expired {
                self.cookies.remove(cookie.trim());
            } else {
                self.cookies
                    .insert(cookie.trim().to_string(), content.to_string());
            }
        }
    }

    /// Signs in at the provider as `login` (its development pages take any password), and
    /// consents; the query of the redirect to Seam's callback.
    pub fn sign_in(&mut self, authorization_url: &str, login: &str) -> String {
        let mut landing = self.navigate(authorization_url, None);
        for _ in 0..4 {
            let html = match landing {
                Landing::Callback { query } => return query,
                Landing::Page { html } => html,
            };
            let action = html_attribute(&html, "action=\"");
            let form = if html.contains(r#"name="prompt" value="login""#) {
                format!("prompt=login&login={login}&password=whatever")
            } else if html.contains(r#"name="prompt" value="consent""#) {
                "prompt=consent".to_string()
            } else {
                panic!("an unexpected page: {html}");
            };
            landing = self.navigate(&action, Some(&form));
        }
        panic!("no redirect to the callback after signing in and consenting");
    }
}

/// The value of the first attribute starting with `marker` (`action="`), HTML-unescaped.
pub fn html_attribute(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#x2F;", "/")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

pub fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let after_scheme = base.find("://").unwrap() + 3;
    let origin_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |at| after_scheme + at);
    format!("{}{location}", &base[..origin_end])
}
