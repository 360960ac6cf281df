//! TLS on every transport that has it, with certificates made for the run: syslog over TCP
//! (RFC 5425) with client certificates, HTTPS ingest, and MQTT through a Mosquitto broker that
//! the test starts with a TLS listener. Each drives real records into a finding, and each shows
//! that a sender without the right credentials gets nothing in.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use seam_serve::{AdapterChoice, Auth, Secret, SourceConfig, TlsSettings, Transport};

const INACTIVE: &str = "rule=seam.inactive-person-credential";

/// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate from the same
/// CA, and a client certificate from a CA nobody trusts; all as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    dir: &Path,
    stem: &str,
) -> (PathBuf, PathBuf) {
    let params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    let cert_path = dir.join(format!("{stem}.pem"));
    let key_path = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let ca = make_ca("Seam test CA");
        let ca_path = dir.join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        let (server_cert, server_key) = issue(&ca, &["127.0.0.1", "localhost"], dir, "server");
        let (client_cert, client_key) = issue(&ca, &["syslog-sender.example"], dir, "client");
        let other = make_ca("Somebody else's CA");
        let (stranger_cert, stranger_key) = issue(&other, &["stranger.example"], dir, "stranger");
        Pki {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
            stranger_cert,
            stranger_key,
        }
    }

    fn server(&self, client_ca: bool) -> TlsSettings {
        TlsSettings {
            cert: self.server_cert.clone(),
            key: self.server_key.clone(),
            client_ca: client_ca.then(|| self.ca.clone()),
        }
    }

    /// A client that trusts the test CA, presenting `identity` (certificate, key) if given.
    fn client(&self, identity: Option<(&Path, &Path)>) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_file_iter(cert)
                        .unwrap()
                        .map(Result::unwrap)
                        .collect(),
                    PrivateKeyDer::from_pem_file(key).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        Arc::new(config)
    }
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connects and finishes the handshake; the error when the server refuses it.
fn connect(target: SocketAddr, client: Arc<rustls::ClientConfig>) -> std::io::Result<TlsStream> {
    let connection =
        rustls::ClientConnection::new(client, ServerName::try_from("127.0.0.1").unwrap())
            .map_err(std::io::Error::other)?;
    let socket = TcpStream::connect(target)?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut stream = rustls::StreamOwned::new(connection, socket);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// Whether the server takes bytes from this connection: with TLS 1.3 a refused client
/// certificate is only reported after the client's handshake ends, on the next read.
fn refused(target: SocketAddr, client: Arc<rustls::ClientConfig>, line: &str) -> bool {
    let Ok(mut stream) = connect(target, client) else {
        return true;
    };
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.flush();
    let mut buf = [0u8; 16];
    // The server never writes to a syslog sender: a refusal is an alert or a close; a read that
    // only times out means the server kept the connection, which is not a refusal.
    match stream.read(&mut buf) {
        Ok(0) => true,
        Err(error) => !matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        Ok(_) => false,
    }
}

fn meraki_line(identity: &str, mac_tail: u32, at_ms: i64) -> String {
    format!(
        "<134>1 {}.{:03}000000 hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:AB:{:02X}:{:02X}' client_ip='10.10.1.91' identity='{identity}' aid='{mac_tail}'\n",
        at_ms / 1000,
        at_ms % 1000,
        (mac_tail >> 8) & 0xff,
        mac_tail & 0xff,
    )
}

fn stored(api: SocketAddr, source: &str) -> f64 {
    metric(
        api,
        "seam_events_stored_total",
        &format!("source=\"{source}\""),
    )
}

#[test]
fn syslog_over_tls_needs_a_certificate_from_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let source = SourceConfig::new(
        "meraki-tls",
        AdapterChoice::One(seam_adapters::Adapter::Meraki),
        Transport::Syslog {
            udp: None,
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            tls: Some(pki.server(true)),
            max_message_bytes: 8192,
        },
    );
    let server = start(&config(&dir.path().join("data"), vec![source]));
    let target = server.addresses().syslog_tcp["meraki-tls"];
    let api = server.addresses().api;
    let now = now_ms();

    // Refused: no client certificate, one from another CA, and plain text.
    assert!(refused(
        target,
        pki.client(None),
        &meraki_line("heidi@example.com", 1, now - 3000)
    ));
    assert!(refused(
        target,
        pki.client(Some((&pki.stranger_cert, &pki.stranger_key))),
        &meraki_line("heidi@example.com", 2, now - 3000)
    ));
    let mut plain = TcpStream::connect(target).unwrap();
    plain
        .write_all(meraki_line("heidi@example.com", 3, now - 3000).as_bytes())
        .unwrap();
    drop(plain);

    // Accepted: the CA's client, both framings across small writes.
    let mut stream = connect(
        target,
        pki.client(Some((&pki.client_cert, &pki.client_key))),
    )
    .unwrap();
    let first = meraki_line("alice@example.com", 4, now - 2500);
    let second = meraki_line("heidi@example.com", 5, now - 2000);
    let mut payload = format!("{} {}", first.len() - 1, first.trim_end()).into_bytes();
    payload.extend_from_slice(second.as_bytes());
    for piece in payload.chunks(41) {
        stream.write_all(piece).unwrap();
    }
    stream.flush().unwrap();
    stream.conn.send_close_notify();
    let _ = stream.conn.complete_io(&mut stream.sock);
    drop(stream);

    let found = wait_findings(api, INACTIVE, 1);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["unmapped"]["person_uid"], "heidi");
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored(api, "meraki-tls") < 2.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Only the two records from the trusted sender.
    assert_eq!(stored(api, "meraki-tls"), 2.0);
    server.shutdown().unwrap();
}

/// One HTTP/1.1 request over TLS; the status and body.
fn https_post(
    target: SocketAddr,
    client: Arc<rustls::ClientConfig>,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = connect(target, client).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    let mut answer = Vec::new();
    // A server may end without close_notify after `Connection: close`; what was read counts.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn https_ingest_with_the_read_api_on_its_own_loopback_listener() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut source = http_source("ndjson", "ndjson");
    source.auth = Auth::Bearer(Secret::new("tls-token"));
    let mut config = config(&dir.path().join("data"), vec![source]);
    config.http.tls = Some(pki.server(false));
    config.http.api = Some("127.0.0.1:0".parse().unwrap());
    let server = start(&config);
    let target = server.addresses().http;
    let uid = unique("https");
    let record = format!(
        "{{\"uid\":\"{uid}\",\"time\":\"{}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"heidi@example.com\"}}}}",
        rfc3339(now_ms() - 2000)
    );
    let (status, body) = https_post(
        target,
        pki.client(None),
        "/v1/ingest/ndjson",
        "tls-token",
        &record,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"accepted\":1"), "{body}");
    let (status, _) = https_post(
        target,
        pki.client(None),
        "/v1/ingest/ndjson",
        "wrong",
        &record,
    );
    assert_eq!(status, 401);

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(target).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [uid]);
    server.shutdown().unwrap();
}

fn start_error(config: &seam_serve::ServeConfig) -> String {
    match seam_serve::Server::start(config, estate(), rules()) {
        Ok(server) => {
            server.shutdown().unwrap();
            panic!("the service started with bad TLS settings");
        }
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut config = config(&dir.path().join("data"), vec![]);
    config.http.tls = Some(TlsSettings {
        cert: pki.server_cert.clone(),
        key: pki.client_key.clone(),
        client_ca: None,
    });
    let error = start_error(&config);
    assert!(error.contains("client-key.pem"), "{error}");
    config.http.tls = Some(TlsSettings {
        cert: dir.path().join("missing.pem"),
        key: pki.server_key.clone(),
        client_ca: None,
    });
    let error = start_error(&config);
    assert!(error.contains("missing.pem"), "{error}");
}

/// A Mosquitto of the test's own with one TLS listener; stopped when dropped.
struct Broker {
    child: std::process::Child,
    port: u16,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_tls_broker(dir: &Path, pki: &Pki) -> Broker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "persistence false\nlistener {port} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\n",
            pki.ca.display(),
            pki.server_cert.display(),
            pki.server_key.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "the MQTT TLS test starts its own Mosquitto (Debian: apt-get install mosquitto): {error}"
            )
        });
    let broker = Broker { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    broker
}

#[test]
fn mqtt_through_a_tls_broker() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let broker = start_tls_broker(dir.path(), &pki);
    let base = unique("seam-tls");
    let mut doors = SourceConfig::new(
        "doors",
        AdapterChoice::One(seam_adapters::Adapter::Uhppote),
        Transport::Mqtt {
            topics: vec![format!("{base}/uhppoted/gateway/events/#")],
        },
    );
    doors.timezone = Some("UTC".into());
    let mut config = config(&dir.path().join("data"), vec![doors]);
    config.mqtt = Some(seam_serve::MqttConfig {
        host: "127.0.0.1".into(),
        port: broker.port,
        client_id: unique("seam-serve-tls"),
        username: None,
        password: None,
        tls: Some(seam_serve::ClientTlsSettings {
            ca: Some(pki.ca.clone()),
            cert: None,
            key: None,
        }),
        allow_plaintext_credentials: false,
    });
    let server = start(&config);

    let event_id = (now_ms() % 1_000_000_000) as u64 + 11;
    let at = seam_model::Ts(now_ms() - 2000).to_timestamp().unwrap();
    let swipe = serde_json::json!({"message": {"event": {
        "access-granted": true, "card-number": 4415, "device-id": 405419896, "direction": 1,
        "door-id": 1, "event-id": event_id, "event-reason": 1, "event-reason-text": "swipe",
        "event-type": 1, "timestamp": at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    }}})
    .to_string();
    let mut options = rumqttc::MqttOptions::new(unique("seam-tls-pub"), "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(pki.client(None)),
    ));
    let (client, mut connection) = rumqttc::Client::new(options, 8);
    // The subscriber may connect after the publish: retain it so it is delivered either way.
    client
        .publish(
            format!("{base}/uhppoted/gateway/events"),
            rumqttc::QoS::AtLeastOnce,
            true,
            swipe.into_bytes(),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            Instant::now() < deadline,
            "the TLS broker did not take the message"
        );
        match connection.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)))) => break,
            Ok(Err(error)) => panic!("mqtt publish over TLS: {error}"),
            _ => {}
        }
    }
    let _ = client.disconnect();

    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [format!("405419896-{event_id}")]);
    server.shutdown().unwrap();
}
