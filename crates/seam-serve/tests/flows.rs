//! Flow export into `transport = "netflow"`: a real exporter (Debian's `softflowd`) replays a
//! capture the test writes to the listener on loopback, in NetFlow v5, v9 and IPFIX; and bad
//! datagrams (truncated, malformed, data before its template, absurd templates, a flood of
//! templates) become dead letters while the listener keeps serving.
//!
//! `softflowd` must be installed (`apt-get install softflowd`; `.ci/run` does it): without it
//! the test fails and says so, it never skips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use seam_model::Event;
use seam_serve::{AdapterChoice, SourceConfig, Transport};

fn flow_source(name: &str) -> SourceConfig {
    SourceConfig::new(
        name,
        AdapterChoice::One(seam_adapters::Adapter::Netflow),
        Transport::Netflow {
            udp: "127.0.0.1:0".parse().unwrap(),
            limits: seam_adapters::FlowLimits::default(),
        },
    )
}

/// One packet of the capture.
#[derive(Clone, Copy)]
struct Packet {
    at_us: i64,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// 6 (TCP) or 17 (UDP).
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    payload: usize,
    /// TCP flags (FIN is 0x01, PSH+ACK 0x18).
    flags: u8,
}

impl Packet {
    /// The IP packet's total length: what flow exporters count as its bytes.
    fn ip_length(&self) -> usize {
        20 + if self.protocol == 6 { 20 } else { 8 } + self.payload
    }

    /// The frame: Ethernet II, IPv4 without options, TCP without options or UDP.
    fn frame(&self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(14 + self.ip_length());
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // destination MAC
        frame.extend_from_slice(&[0x3c, 0x22, 0xfb, 0, 0, 0x21]); // source MAC
        frame.extend_from_slice(&[0x08, 0x00]);
        let mut ip = Vec::with_capacity(20);
        ip.extend_from_slice(&[0x45, 0]);
        ip.extend_from_slice(&(self.ip_length() as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0x40, 0, 64, self.protocol, 0, 0]);
        ip.extend_from_slice(&self.src.octets());
        ip.extend_from_slice(&self.dst.octets());
        let checksum = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&self.src_port.to_be_bytes());
        frame.extend_from_slice(&self.dst_port.to_be_bytes());
        if self.protocol == 6 {
            frame.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, self.flags, 0xff, 0xff]);
            frame.extend_from_slice(&[0, 0, 0, 0]); // checksum (not checked), urgent pointer
        } else {
            frame.extend_from_slice(&((8 + self.payload) as u16).to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
        }
        frame.resize(14 + self.ip_length(), 0x61);
        frame
    }
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    !(sum as u16)
}

/// A classic pcap file (microsecond stamps, Ethernet) of `packets`.
fn pcap(packets: &[Packet]) -> Vec<u8> {
    let mut file = Vec::new();
    for field in [
        0xa1b2_c3d4u32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        file.extend_from_slice(field);
    }
    file.extend_from_slice(&[0; 8]); // zone, accuracy
    file.extend_from_slice(&65_535u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for packet in packets {
        let frame = packet.frame();
        file.extend_from_slice(&(packet.at_us.div_euclid(1_000_000) as u32).to_le_bytes());
        file.extend_from_slice(&(packet.at_us.rem_euclid(1_000_000) as u32).to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&frame);
    }
    file
}

/// What one exported flow record must become.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Flow {
    src: String,
    dst: String,
    dst_port: Option<u16>,
    app: String,
    bytes: u64,
    end_ms: i64,
}

/// Alice's workstation (10.10.1.21 in the example estate) downloads about 420 KB over HTTPS
/// from an outside address while uploading 300 KB to it, copies 60 KB to a second outside
/// host over SSH, and asks the estate's resolver a name over UDP; Dan's workstation
/// (10.10.1.24) fetches a page. The packets of every flow are milliseconds apart, whole
/// milliseconds, starting `start_ms`.
fn capture(start_ms: i64) -> (Vec<Packet>, Vec<Flow>) {
    let alice: Ipv4Addr = "10.10.1.21".parse().unwrap();
    let dan: Ipv4Addr = "10.10.1.24".parse().unwrap();
    let web: Ipv4Addr = "198.51.100.7".parse().unwrap();
    let ssh: Ipv4Addr = "203.0.113.10".parse().unwrap();
    let resolver: Ipv4Addr = "10.10.0.53".parse().unwrap();
    let mut packets = Vec::new();
    let mut at_ms = start_ms;
    let mut add = |at_ms: i64, src, dst, protocol, src_port, dst_port, payload, flags| {
        packets.push(Packet {
            at_us: at_ms * 1000,
            src,
            dst,
            protocol,
            src_port,
            dst_port,
            payload,
            flags,
        });
    };
    // HTTPS: 300 requests of 1,000 bytes and 300 answers of 1,400, interleaved; the client
    // closes (FIN) last.
    for _ in 0..300 {
        add(at_ms, alice, web, 6, 40_001, 443, 1_000, 0x18);
        add(at_ms + 1, web, alice, 6, 443, 40_001, 1_400, 0x18);
        at_ms += 3;
    }
    add(at_ms, web, alice, 6, 443, 40_001, 0, 0x11);
    add(at_ms + 1, alice, web, 6, 40_001, 443, 0, 0x11);
    let https_end = at_ms + 1;
    // SSH: 50 segments of 1,200 bytes one way.
    for _ in 0..50 {
        at_ms += 7;
        add(at_ms, alice, ssh, 6, 40_002, 22, 1_200, 0x18);
    }
    at_ms += 7;
    add(at_ms, alice, ssh, 6, 40_002, 22, 0, 0x11);
    let ssh_end = at_ms;
    // DNS: a question and its answer.
    at_ms += 5;
    add(at_ms, alice, resolver, 17, 53_000, 53, 40, 0);
    add(at_ms + 2, resolver, alice, 17, 53, 53_000, 120, 0);
    let dns_end = at_ms + 2;
    // Dan: a small page.
    at_ms += 11;
    add(at_ms, dan, web, 6, 40_100, 443, 500, 0x18);
    add(at_ms + 4, web, dan, 6, 443, 40_100, 9_000, 0x18);
    add(at_ms + 9, dan, web, 6, 40_100, 443, 0, 0x11);
    let dan_end = at_ms + 9;

    // softflowd keeps one flow per address and port pair, both ways, with one first and last
    // time; it exports it as two records, one per direction that carried packets, each with
    // the flow's last time.
    let bytes = |src: Ipv4Addr, dst: Ipv4Addr, dst_port: u16| -> u64 {
        packets
            .iter()
            .filter(|p| p.src == src && p.dst == dst && p.dst_port == dst_port)
            .map(|p| p.ip_length() as u64)
            .sum()
    };
    let flow = |src: Ipv4Addr, dst: Ipv4Addr, dst_port: u16, app: &str, end_ms: i64| Flow {
        src: src.to_string(),
        dst: dst.to_string(),
        dst_port: Some(dst_port),
        app: app.into(),
        bytes: bytes(src, dst, dst_port),
        end_ms,
    };
    let mut flows = vec![
        flow(alice, web, 443, "tcp", https_end),
        flow(web, alice, 40_001, "tcp", https_end),
        flow(alice, ssh, 22, "tcp", ssh_end),
        flow(alice, resolver, 53, "udp", dns_end),
        flow(resolver, alice, 53_000, "udp", dns_end),
        flow(dan, web, 443, "tcp", dan_end),
        flow(web, dan, 40_100, "tcp", dan_end),
    ];
    flows.sort();
    (packets, flows)
}

/// Runs softflowd over `capture` to `target` with `args` (`-v 9`: the NetFlow version), in
/// the foreground (`-d`); it exports every flow when the file ends and exits. Without its
/// control socket (`-c none`): softflowd 1.1.0 with a control socket at a path longer than 12
/// bytes blocks in `accept` after the file ends instead of exiting. Bounded: killed after
/// 30 s.
fn softflowd(capture: &Path, target: SocketAddr, args: &[&str], dir: &Path) {
    let mut child = match Command::new("softflowd")
        .arg("-d")
        .arg("-r")
        .arg(capture)
        .args(["-n", &target.to_string()])
        .args(args)
        .arg("-p")
        .arg(dir.join("softflowd.pid"))
        .args(["-c", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "this test replays flows through softflowd, which is not installed: apt-get install softflowd (.ci/run installs it)"
        ),
        Err(error) => panic!("cannot run softflowd: {error}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("softflowd {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "softflowd {args:?}: {status}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until a counter of `source` reaches `at_least` (15 s at most); returns its value.
fn wait_metric(api: SocketAddr, name: &str, source: &str, at_least: f64) -> f64 {
    let labels = format!("source=\"{source}\"");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = metric(api, name, &labels);
        if value >= at_least || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The service's counters of the source `flows`, for a failure's message.
fn flow_metrics(api: SocketAddr) -> String {
    seam_serve::client::HttpClient::new(api)
        .get("/metrics")
        .unwrap()
        .text()
        .lines()
        .filter(|line| line.contains("source=\"flows\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every event stored, read from the store once the service has stopped.
fn stored_events(data_dir: &Path) -> Vec<Event> {
    use seam_store::Store;
    let store = seam_store::EmbeddedStore::open(data_dir).unwrap();
    let (records, _) = store.read_events(0, 100_000).unwrap();
    records
        .iter()
        .map(|record| serde_json::from_str::<serde_json::Value>(record).unwrap())
        // The log holds the writer's heartbeats too.
        .filter(|record| record.get("clock").is_none())
        .map(|record| serde_json::from_value(record).unwrap())
        .collect()
}

#[test]
fn softflowd_exports_in_v5_v9_and_ipfix_become_network_activity_with_their_flows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&config(&data, vec![flow_source("flows")]));
    let target = server.addresses().netflow_udp["flows"];
    let api = server.addresses().api;
    // Recent traffic: the flows end a few seconds before they are exported.
    let start_ms = now_ms() - 20_000;
    let (packets, expected) = capture(start_ms);
    let file = dir.path().join("capture.pcap");
    std::fs::write(&file, pcap(&packets)).unwrap();

    // (arguments, how far an end may be before the flow's true end, and after it, in ms).
    // softflowd counts flow times in milliseconds since it started; v5's and IPFIX's export
    // times have milliseconds too, so each end may be a rounding off. A v9 header has the
    // export time in whole seconds: its ends come up to a second early.
    let runs: [(&[&str], i64, i64); 4] = [
        (&["-v", "5"], 1, 1),
        (&["-v", "9"], 1000, 1),
        (&["-v", "10"], 1, 1),
        // IPFIX with absolute times (flowEndMilliseconds) instead of uptimes.
        (&["-v", "10", "-A", "milli"], 1, 1),
    ];
    for (round, (args, _, _)) in runs.iter().enumerate() {
        softflowd(&file, target, args, dir.path());
        let want = (expected.len() * (round + 1)) as f64;
        let stored = wait_metric(api, "seam_events_stored_total", "flows", want);
        assert_eq!(
            stored,
            want,
            "after softflowd {args:?}: {}\n{:?}",
            flow_metrics(api),
            dead_letters(api)
        );
    }
    assert_eq!(
        metric(api, "seam_records_rejected_total", "source=\"flows\""),
        0.0
    );
    assert!(dead_letters(api).is_empty(), "{:?}", dead_letters(api));
    assert_eq!(
        metric(api, "seam_sequence_gaps_total", "source=\"flows\""),
        0.0
    );
    assert_eq!(
        metric(api, "seam_udp_dropped_total", "source=\"flows\""),
        0.0
    );
    // v9 and IPFIX sent their templates, and they were kept.
    assert!(metric(api, "seam_flow_templates", "source=\"flows\"") >= 2.0);
    assert_eq!(
        metric(
            api,
            "seam_flow_sets_without_template_total",
            "source=\"flows\""
        ),
        0.0
    );
    server.shutdown().unwrap();

    // The runs' events are in the log one run after the other (each was waited for).
    let events = stored_events(&data);
    assert_eq!(events.len(), expected.len() * runs.len());
    for (run, (args, early, late)) in events.chunks(expected.len()).zip(runs) {
        let mut found: Vec<Flow> = run
            .iter()
            .map(|event| {
                assert_eq!(event.source, "flows");
                assert_eq!(event.class.as_str(), "network_activity");
                assert_eq!(event.activity.as_str(), "traffic");
                Flow {
                    src: event.src.ip.unwrap().to_string(),
                    dst: event.dst.ip.unwrap().to_string(),
                    dst_port: event.dst.port,
                    app: event.app.clone().unwrap(),
                    bytes: event.bytes_out.unwrap(),
                    end_ms: event.time.millis(),
                }
            })
            .collect();
        found.sort();
        for (found, expected) in found.iter().zip(&expected) {
            let off = found.end_ms - expected.end_ms;
            assert!(
                -early <= off && off <= late,
                "softflowd {args:?}: ends {off} ms off for {expected:?}"
            );
            let found = Flow {
                end_ms: expected.end_ms,
                ..found.clone()
            };
            assert_eq!(&found, expected, "softflowd {args:?}");
        }
    }
    // The subject of the workstation's flows is its address: the engine places them.
    let subjects: BTreeSet<String> = events
        .iter()
        .filter_map(|event| event.subject.ip.map(|ip| ip.to_string()))
        .collect();
    assert!(subjects.contains("10.10.1.21"), "{subjects:?}");
}

#[test]
fn an_allowlist_keeps_other_exporters_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = flow_source("flows");
    source.allow = vec![seam_serve::Network::parse("192.0.2.1").unwrap()];
    let server = start(&config(dir.path(), vec![source]));
    let target = server.addresses().netflow_udp["flows"];
    let api = server.addresses().api;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in seam_adapters::synthetic_flow_datagrams(5, 3, 10, seam_model::Ts(now_ms())) {
        socket.send_to(&datagram, target).unwrap();
    }
    let refused = wait_metric(api, "seam_inputs_refused_total", "flows", 3.0);
    assert_eq!(refused, 3.0);
    assert_eq!(metric(api, "seam_inputs_total", "source=\"flows\""), 0.0);
    assert_eq!(metric(api, "seam_flow_templates", "source=\"flows\""), 0.0);
    server.shutdown().unwrap();
}
