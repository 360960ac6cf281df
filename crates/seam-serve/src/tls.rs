//! TLS on the listeners that face the network (syslog over TCP as RFC 5425 has it, HTTP
//! ingest) and on the connection to the MQTT broker.
//!
//! Certificates and keys are PEM files named in the configuration; they are read and checked
//! when the service starts, so a wrong path or a key that does not match its certificate stops
//! `seam serve` with the file's name rather than failing each handshake later. With a client CA,
//! only senders holding a certificate it issued may connect (mutual TLS, which RFC 5425 asks
//! syslog receivers to support).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;

/// A sender that has not finished its handshake in this long is dropped (a slow or silent
/// client must not hold a connection slot).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener's TLS settings, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate issued by one of these CAs (PEM).
    pub client_ca: Option<PathBuf>,
}

/// The broker connection's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientTlsSettings {
    /// The CAs the broker's certificate must chain to (PEM); `None`: the system's CAs.
    pub ca: Option<PathBuf>,
    /// A client certificate and key, for brokers that ask for one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {path}: {reason}")]
pub struct TlsError {
    pub path: String,
    pub reason: String,
}

fn error(path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(path, format!("cannot read certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(error(path, "no CERTIFICATE block in the file"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        error(
            path,
            format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
        )
    })
}

fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| error(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// Reads and checks a listener's certificate, key and client CA.
pub fn server_config(settings: &TlsSettings) -> Result<rustls::ServerConfig, TlsError> {
    let certs = read_certs(&settings.cert)?;
    let key = read_key(&settings.key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(&settings.cert, e.to_string()))?;
    let builder = match &settings.client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(read_roots(ca)?), provider())
                    .build()
                    .map_err(|e| error(ca, format!("cannot verify clients with it: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| {
        error(
            &settings.key,
            format!(
                "does not go with the certificate {}: {e}",
                settings.cert.display()
            ),
        )
    })?;
    Ok(config)
}

/// Reads and checks the broker connection's CA and client certificate.
pub fn client_config(settings: &ClientTlsSettings) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let system = Path::new("the system's CA certificates");
    let roots = match &settings.ca {
        Some(ca) => read_roots(ca)?,
        None => {
            let mut roots = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            // Unreadable entries are skipped; only an empty store is an error.
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(error(
                    system,
                    "none found: give the broker's CA as `tls.ca`",
                ));
            }
            roots
        }
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(system, e.to_string()))?
        .with_root_certificates(roots);
    let config = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .map_err(|e| {
                error(
                    key,
                    format!("does not go with the certificate {}: {e}", cert.display()),
                )
            })?,
        (None, None) => builder.with_no_client_auth(),
        (Some(path), None) | (None, Some(path)) => {
            return Err(error(
                path,
                "a client certificate needs both `cert` and `key`",
            ));
        }
    };
    Ok(Arc::new(config))
}

/// Whether a listener's peers read what the server writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// HTTP clients: they read the answer.
    Reads,
    /// Syslog senders: they only write.
    SendOnly,
}

/// A TCP listener's connections, in the clear or through TLS.
#[derive(Clone)]
pub(crate) enum Acceptor {
    Plain,
    Tls(tokio_rustls::TlsAcceptor),
}

impl Acceptor {
    /// In the clear without settings; otherwise the certificates are read and checked now.
    /// `Peer::SendOnly` is for senders that never read (syslog): the server then writes
    /// nothing after the handshake, not even TLS 1.3 session tickets, since unread bytes in a
    /// sender's socket turn its close into a reset, which can discard what it sent last.
    pub(crate) fn configured(
        settings: Option<&TlsSettings>,
        peer: Peer,
    ) -> Result<Acceptor, TlsError> {
        let Some(settings) = settings else {
            return Ok(Acceptor::Plain);
        };
        let mut config = server_config(settings)?;
        if peer == Peer::SendOnly {
            config.send_tls13_tickets = 0;
        }
        Ok(Acceptor::Tls(tokio_rustls::TlsAcceptor::from(Arc::new(
            config,
        ))))
    }

    /// Finishes the handshake (bounded by [`HANDSHAKE_TIMEOUT`]); `None` when it failed, and
    /// the connection is then closed.
    pub(crate) async fn accept(&self, stream: TcpStream) -> Option<Stream> {
        match self {
            Acceptor::Plain => Some(Stream::Plain(stream)),
            Acceptor::Tls(acceptor) => {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => Some(Stream::Tls(Box::new(stream))),
                    _ => None,
                }
            }
        }
    }
}

/// A connection after its handshake.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => std::pin::Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => std::pin::Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => std::pin::Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => std::pin::Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => std::pin::Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => std::pin::Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => std::pin::Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => std::pin::Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
