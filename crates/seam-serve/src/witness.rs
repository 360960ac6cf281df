//! An HTTP witness of the audit log: every checkpoint is POSTed, as its one NDJSON line, to an
//! endpoint outside this machine's reach (`[audit] witness_url`); a GET of the same URL gives
//! back every line kept, which `seam audit verify --witness URL` checks the log against.
//!
//! Blocking on purpose: checkpoints are written from the thread that owns the log (a blocking
//! task of the service, or its shutdown), once a minute at most. Plain HTTP is refused off
//! loopback; an optional bearer token authenticates Seam to the witness.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use seam_audit::{Anchor, AuditError, Checkpoint, Witness};

use crate::config::Secret;
use crate::pull::Target;

const TIMEOUT: Duration = Duration::from_secs(10);
/// The most a witness's answer may hold (its whole copy, on a GET).
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Where checkpoints go.
pub struct HttpWitness {
    url: String,
    target: Target,
    token: Option<Secret>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for HttpWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWitness")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpWitness {
    pub fn new(url: &str, token: Option<Secret>) -> Result<HttpWitness, String> {
        let target = Target::parse_any(url)?;
        if !target.https
            && !target
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
            && target.host != "localhost"
        {
            return Err(format!(
                "audit witness `{url}`: use https:// off loopback, so that nobody on the way can drop or change checkpoints"
            ));
        }
        let tls = if target.https {
            Some(
                crate::tls::client_config(&crate::tls::ClientTlsSettings::default())
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        Ok(HttpWitness {
            url: url.to_string(),
            target,
            token,
            tls,
        })
    }

    /// One request; the status and body.
    fn exchange(&self, method: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let stream = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .map_err(|e| format!("cannot connect: {e}"))?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| e.to_string())?;
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: seam\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n",
            self.target.path,
            self.target.host_header(),
            body.len()
        );
        if let Some(token) = &self.token {
            head.push_str("Authorization: Bearer ");
            head.push_str(&String::from_utf8_lossy(token.expose()));
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut answer = Vec::new();
        match &self.tls {
            Some(config) => {
                let name = rustls_pki_types::ServerName::try_from(self.target.host.clone())
                    .map_err(|e| e.to_string())?;
                let connection = rustls::ClientConnection::new(Arc::clone(config), name)
                    .map_err(|e| e.to_string())?;
                let mut tls = rustls::StreamOwned::new(connection, stream);
                tls.write_all(head.as_bytes())
                    .and_then(|()| tls.write_all(body))
                    .map_err(|e| e.to_string())?;
                read_capped(&mut tls, &mut answer)?;
            }
            None => {
                let mut stream = stream;
                stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(body))
                    .map_err(|e| e.to_string())?;
                read_capped(&mut stream, &mut answer)?;
            }
        }
        parse_answer(&answer)
    }

    /// Every checkpoint line the witness keeps.
    pub fn fetch(&self) -> Result<Vec<u8>, String> {
        match self.exchange("GET", b"")? {
            (200, body) => Ok(body),
            (status, _) => Err(format!("the witness answered HTTP {status}")),
        }
    }
}

fn read_capped(reader: &mut impl Read, out: &mut Vec<u8>) -> Result<(), String> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                out.extend_from_slice(buffer.get(..n).unwrap_or_default());
                if out.len() > MAX_ANSWER_BYTES {
                    return Err("the witness's answer is too large".into());
                }
            }
            // A TLS peer that closes without close_notify has still sent everything.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The status and body of an HTTP/1.1 answer (with `Content-Length`, chunked, or to the end).
fn parse_answer(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP answer")?;
    let head = String::from_utf8_lossy(raw.get(..head_end).unwrap_or_default()).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("no HTTP status")?;
    let body = raw.get(head_end + 4..).unwrap_or_default();
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase().starts_with("transfer-encoding:") && line.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a broken chunk")?;
        let size_text = String::from_utf8_lossy(rest.get(..line_end).unwrap_or_default());
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "a broken chunk size")?;
        if size == 0 {
            return Ok((status, out));
        }
        let start = line_end + 2;
        out.extend_from_slice(rest.get(start..start + size).ok_or("a short chunk")?);
        rest = rest.get(start + size + 2..).unwrap_or_default();
    }
}

impl Witness for HttpWitness {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn publish(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        self.post(&checkpoint.to_line()?)
    }

    /// An anchor goes the same way, as its `{"anchor":{…}}` line.
    fn publish_anchor(&mut self, anchor: &Anchor) -> Result<(), AuditError> {
        self.post(&anchor.to_wrapped_line()?)
    }
}

impl HttpWitness {
    fn post(&self, line: &[u8]) -> Result<(), AuditError> {
        let failed = |reason: String| AuditError::Witness {
            witness: self.url.clone(),
            reason,
        };
        match self.exchange("POST", line).map_err(failed)? {
            (status, _) if (200..300).contains(&status) => Ok(()),
            (status, _) => Err(failed(format!("the witness answered HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_whole_or_chunked_and_plain_http_stays_on_loopback() {
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").unwrap(),
            (200, b"abc".to_vec())
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap(),
            (200, b"abcde".to_vec())
        );
        assert!(parse_answer(b"garbage").is_err());
        assert!(HttpWitness::new("http://witness.example.com/log", None).is_err());
        assert!(HttpWitness::new("http://127.0.0.1:9/log", None).is_ok());
    }
}
