//! A small blocking HTTP/1.1 client for the load generator and for tests: keep-alive, bodies
//! by `Content-Length` or chunked, and a reader for server-sent events. It speaks to Seam on
//! loopback, nothing more (no TLS, no redirects, no proxies).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The largest response body read.
const MAX_BODY: usize = 64 << 20;
const MAX_HEADER_LINE: usize = 16 << 10;

/// One response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A connection to one server, kept alive between requests and opened again when the server
/// closed it.
#[derive(Debug)]
pub struct HttpClient {
    addr: SocketAddr,
    timeout: Duration,
    connection: Option<BufReader<TcpStream>>,
}

fn invalid(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.into())
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient {
            addr,
            timeout: Duration::from_secs(30),
            connection: None,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    fn connect(&self) -> std::io::Result<BufReader<TcpStream>> {
        let stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.set_nodelay(true)?;
        Ok(BufReader::with_capacity(64 * 1024, stream))
    }

    /// Sends one request and reads the response. A kept-alive connection the server has
    /// closed meanwhile is opened again once.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let reused = self.connection.is_some();
        match self.try_request(method, path, headers, body) {
            Ok(response) => Ok(response),
            Err(_) if reused => {
                self.connection = None;
                self.try_request(method, path, headers, body)
            }
            Err(error) => Err(error),
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let stream = connection.get_mut();
        stream.write_all(head.as_bytes())?;
        // A server may answer before the body is sent (413 on the declared length) and close:
        // the write then fails, and the answer already sent is what to read.
        let sent = stream.write_all(body).and_then(|()| stream.flush());
        let (status, response_headers) = match (read_head(&mut connection), sent) {
            (Ok(head), _) => head,
            (Err(_), Err(error)) | (Err(error), Ok(())) => return Err(error),
        };
        let find = |name: &str| {
            response_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let chunked = find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let close = find("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = if method == "HEAD" || status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            read_chunked(&mut connection)?
        } else if let Some(length) = find("content-length") {
            let length: usize = length
                .trim()
                .parse()
                .map_err(|_| invalid("bad Content-Length"))?;
            if length > MAX_BODY {
                return Err(invalid("response too large"));
            }
            let mut body = vec![0; length];
            connection.read_exact(&mut body)?;
            body
        } else {
            let mut body = Vec::new();
            connection
                .by_ref()
                .take(MAX_BODY as u64)
                .read_to_end(&mut body)?;
            return Ok(Response {
                status,
                headers: response_headers,
                body,
            });
        };
        if !close {
            self.connection = Some(connection);
        }
        Ok(Response {
            status,
            headers: response_headers,
            body,
        })
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, &[], &[])
    }

    pub fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        self.request("POST", path, headers, body)
    }
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| invalid("a header line is not UTF-8"))
}

fn read_head(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let status_line = read_line(reader)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line `{status_line}`")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        if headers.len() > 200 {
            return Err(invalid("too many headers"));
        }
    }
    Ok((status, headers))
}

fn read_chunk_size(reader: &mut impl BufRead) -> std::io::Result<usize> {
    let line = read_line(reader)?;
    let hex = line.split(';').next().unwrap_or("").trim();
    usize::from_str_radix(hex, 16).map_err(|_| invalid(format!("bad chunk size `{hex}`")))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size = read_chunk_size(reader)?;
        if size == 0 {
            // Trailers, then the blank line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("response too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(body.get_mut(start..).unwrap_or(&mut []))?;
        let _ = read_line(reader)?;
    }
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: String,
}

/// A subscription to a server-sent event stream (`GET path`).
#[derive(Debug)]
pub struct EventStream {
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Body bytes of the current chunk still to read.
    chunk_left: usize,
    pending: Vec<u8>,
}

impl EventStream {
    /// Opens the stream; `read_timeout` bounds each wait in [`EventStream::next_event`].
    pub fn open(
        addr: SocketAddr,
        path: &str,
        read_timeout: Duration,
    ) -> std::io::Result<EventStream> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(read_timeout))?;
        stream.set_nodelay(true)?;
        let mut reader = BufReader::with_capacity(256 * 1024, stream);
        let head =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        reader.get_mut().write_all(head.as_bytes())?;
        let (status, headers) = read_head(&mut reader)?;
        if status != 200 {
            return Err(invalid(format!("the stream answered {status}")));
        }
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        Ok(EventStream {
            reader,
            chunked,
            chunk_left: 0,
            pending: Vec::new(),
        })
    }

    /// Reads more of the body into `pending`.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.chunked {
            if self.chunk_left == 0 {
                let size = read_chunk_size(&mut self.reader)?;
                if size == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the stream ended",
                    ));
                }
                self.chunk_left = size;
            }
            let mut buffer = vec![0; self.chunk_left.min(64 * 1024)];
            let read = self.reader.read(&mut buffer)?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stream ended",
                ));
            }
            self.pending
                .extend_from_slice(buffer.get(..read).unwrap_or(&[]));
            self.chunk_left -= read;
            if self.chunk_left == 0 {
                let _ = read_line(&mut self.reader)?;
            }
        } else {
            let mut buffer = [0u8; 16 * 1024];
            let read = self.reader.read(&mut buffer)?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stream ended",
                ));
            }
            self.pending
                .extend_from_slice(buffer.get(..read).unwrap_or(&[]));
        }
        Ok(())
    }

    /// The next event (comments and keep-alives skipped). A read timeout is an error of kind
    /// `WouldBlock` or `TimedOut`; the stream can be read again after it.
    pub fn next_event(&mut self) -> std::io::Result<SseEvent> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block);
                let mut event = SseEvent::default();
                let mut data: Vec<&str> = Vec::new();
                for line in text.lines() {
                    if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value));
                    } else if let Some(value) = line.strip_prefix("event:") {
                        event.event = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("id:") {
                        event.id = value.trim().to_string();
                    }
                }
                if data.is_empty() && event.event.is_empty() {
                    continue; // a comment (keep-alive)
                }
                event.data = data.join("\n");
                if event.event.is_empty() {
                    event.event = "message".into();
                }
                return Ok(event);
            }
            self.fill()?;
        }
    }
}

/// The HMAC-SHA256 of `message` under `secret`, in lowercase hex: what a webhook sender puts
/// in its signature header.
pub fn sign_hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        let mut input = &b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"[..];
        assert_eq!(read_chunked(&mut input).unwrap(), b"hello, world");
    }

    #[test]
    fn heads_are_read() {
        let mut input = &b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\nRetry-After: 1\r\n\r\n"[..];
        let (status, headers) = read_head(&mut input).unwrap();
        assert_eq!(status, 413);
        assert_eq!(headers.len(), 2);
        assert!(read_head(&mut &b"garbage\r\n\r\n"[..]).is_err());
    }

    #[test]
    fn signatures_match_the_verifier() {
        let signature = sign_hmac_sha256_hex(b"secret", b"body");
        assert_eq!(
            seam_adapters::verify_hmac_sha256(b"secret", b"body", &signature),
            Ok(())
        );
    }
}
