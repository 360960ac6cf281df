//! Vendor formats: each normalized event written back as the record its real source would have
//! sent, so that a simulated estate can be replayed through the real source adapters
//! (`seam sim --format vendor`). This is the inverse of `seam-adapters` for the events the twin
//! makes; `tests/vendor.rs` reads every rendered record back with its adapter and compares.
//!
//! | source, class | adapter | record |
//! |---|---|---|
//! | `okta` authentication | `okta` | System Log event, one JSON object per line |
//! | `meraki` Wi-Fi session | `meraki` | `events` syslog: `association`, `8021x_auth`, `8021x_eap_failure`, `disassociation` |
//! | `ise` session | `ise` | ISE syslog: passed authentication, failed attempt, accounting stop |
//! | `globalprotect` session | `globalprotect` | PAN-OS `GLOBALPROTECT` CSV over syslog |
//! | `dhcp` lease | `dhcp` | ISC dhcpd `DHCPACK` / `DHCPRELEASE` under an RFC 3339 stamp |
//! | `pacs-*` door activity | `pacs-verkada` | access event webhook, one JSON object per line |
//! | `visitors` | `envoy` | `entry_sign_in` / `entry_sign_out` webhook, one JSON object per line |
//! | `bms` occupancy | `zigbee2mqtt` | people-count state on `zigbee2mqtt/<zone id>` |
//! | `linux-auth` console and SSH sign-ins | `linux-auth` | sshd and `login` PAM lines under an RFC 3339 stamp |
//! | `servicenow` change requests | `servicenow` | Table API `change_request` records, one per line |
//! | `netflow` flows | `nfdump` | nfdump CSV rows under a header line |
//!
//! Everything else (bookings, device status, file access, MDM posture, privileged sign-ins a
//! syslog line cannot mark as such) has no vendor adapter and stays Seam NDJSON
//! ([`Rendered::Ndjson`]).
//!
//! Every time is written in UTC to the millisecond. What a format cannot carry is listed on
//! each renderer; values are made safe for their format (control characters become spaces,
//! ISE commas are escaped, CSV fields quoted), and an event a format cannot hold faithfully
//! (no access point for a Meraki line, an activity Verkada has no name for) stays NDJSON. The
//! adapters trim what they read, so leading and trailing spaces and empty values are lost
//! everywhere.
//!
//! PACS exports go through the built-in `verkada` mapping rather than a CSV one: it is the only
//! built-in mapping with the event id (so uids survive), the door, the reader, `door_used` and
//! sub-second times; the CSV mappings (`report-csv`, `sia`) have neither ids nor `door_used`.

use std::net::IpAddr;

use serde_json::{Value, json};

use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

/// The adapters [`render`] writes for, besides `ndjson`.
pub const ADAPTERS: &[&str] = &[
    OKTA,
    MERAKI,
    ISE,
    GLOBALPROTECT,
    DHCP,
    PACS,
    ENVOY,
    ZIGBEE,
    LINUX_AUTH,
    SERVICENOW,
    NFDUMP,
];

const OKTA: &str = "okta";
const MERAKI: &str = "meraki";
const ISE: &str = "ise";
const GLOBALPROTECT: &str = "globalprotect";
const DHCP: &str = "dhcp";
const PACS: &str = "pacs-verkada";
const ENVOY: &str = "envoy";
const ZIGBEE: &str = "zigbee2mqtt";
const LINUX_AUTH: &str = "linux-auth";
const SERVICENOW: &str = "servicenow";
const NFDUMP: &str = "nfdump";

/// The columns of the flow files: an nfdump custom CSV (`-o fmt:…`), the columns the
/// `nfdump` adapter reads by name.
const NFDUMP_HEADER: &str = "ts,te,td,sa,da,sp,dp,pr,ipkt,ibyt";

/// The base topic of occupancy sensors. Each sensor's friendly name is its zone id, so the
/// `zigbee2mqtt` adapter's zone map names every zone id as its own device.
pub const ZIGBEE_BASE_TOPIC: &str = "zigbee2mqtt";

/// What one event becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rendered {
    /// The record the event's source would have sent.
    Vendor(VendorRecord),
    /// No vendor format carries the event: keep it as Seam NDJSON (the `ndjson` adapter).
    Ndjson {
        /// Why, in plain words.
        why: &'static str,
    },
}

impl Rendered {
    /// The adapter that reads the record: `okta`, `pacs-verkada`, …, or `ndjson`.
    pub fn adapter(&self) -> &'static str {
        match self {
            Rendered::Vendor(record) => record.adapter,
            Rendered::Ndjson { .. } => "ndjson",
        }
    }
}

/// One vendor record and how to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorRecord {
    /// The adapter's name, as `seam_adapters::Adapter::from_name` knows it.
    pub adapter: &'static str,
    /// The MQTT topic the record is published on (`zigbee2mqtt` only).
    pub topic: Option<String>,
    /// One record without a line ending: a syslog line, a JSON object on one line, or an MQTT
    /// payload. Never holds a line break.
    pub bytes: Vec<u8>,
    /// The uid the adapter gives the event it reads from `bytes`.
    pub uid: VendorUid,
}

/// The uid of the event read back, compared with the event's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VendorUid {
    /// The same: the record carries it in the vendor's event id.
    Kept,
    /// This one, built by the adapter from the record's id fields (Envoy's entry id and
    /// activity; a GlobalProtect serial and sequence number when the uid has no such form).
    Becomes(String),
    /// `<adapter>-<digest of the record>`: the format has no event id (Meraki, ISE, dhcpd,
    /// Zigbee2MQTT). Read the record with its adapter to learn it.
    Digest,
}

/// The first line a file of `adapter`'s records needs before them (a CSV header): the flow
/// files' columns; `None` for the other formats (syslog lines and JSON objects).
pub fn header(adapter: &str) -> Option<&'static [u8]> {
    (adapter == NFDUMP).then_some(NFDUMP_HEADER.as_bytes())
}

/// The record `event`'s source would have sent, or why it stays Seam NDJSON. Pure,
/// deterministic, and total: any event gives an answer.
pub fn render(event: &Event) -> Rendered {
    let Some(clock) = Clock::of(event.time) else {
        return keep("the time lies outside the years vendor logs write (1970 to 9999)");
    };
    match (event.source.as_str(), event.class) {
        ("okta", EventClass::Authentication) => okta(event, &clock),
        ("meraki", EventClass::NetworkSession) => meraki(event, &clock),
        ("ise", EventClass::NetworkSession) => ise(event, &clock),
        ("globalprotect", EventClass::NetworkSession) => globalprotect(event, &clock),
        ("dhcp", EventClass::Dhcp) => dhcp(event, &clock),
        (source, EventClass::PhysicalAccess) if source.starts_with("pacs-") => {
            verkada(event, &clock)
        }
        ("visitors", EventClass::Visitor) => envoy(event, &clock),
        ("bms", EventClass::Occupancy) => zigbee(event, &clock),
        ("linux-auth", EventClass::Authentication) => linux_auth(event, &clock),
        ("servicenow", EventClass::ChangeRequest) => servicenow(event),
        ("netflow", EventClass::NetworkActivity) => nfdump(event, &clock),
        (_, class) => keep(match class {
            EventClass::Booking => "room bookings have no vendor adapter",
            EventClass::DeviceStatus => "device status has no vendor adapter",
            EventClass::NetworkActivity => "only flows of the `netflow` source have a format here",
            EventClass::ResourceAccess => "file access has no vendor adapter",
            EventClass::DeviceInventory => "device posture has no vendor adapter",
            EventClass::Authentication => "only Okta sign-ins have a vendor format here",
            _ => "no vendor format for this source and class",
        }),
    }
}

fn keep(why: &'static str) -> Rendered {
    Rendered::Ndjson { why }
}

fn vendor(adapter: &'static str, bytes: Vec<u8>, uid: VendorUid) -> Rendered {
    Rendered::Vendor(VendorRecord {
        adapter,
        topic: None,
        bytes,
        uid,
    })
}

fn json_line(adapter: &'static str, value: &Value, uid: VendorUid) -> Rendered {
    match serde_json::to_vec(value) {
        Ok(bytes) => vendor(adapter, bytes, uid),
        Err(_) => keep("the record cannot be written as JSON"),
    }
}

// ------------------------------------------------------------------------------- okta

/// Okta System Log. `uuid` ← uid, `published` ← time, `eventType` from the activity (a sign-in
/// to an app is `user.authentication.sso` with the app as its `AppInstance` target, else
/// `user.session.start`), `outcome.result`/`reason`, `actor.alternateId` ← user, `actor.id` ←
/// idp_id, `client.ipAddress` and `client.geographicalContext` ← src. The MFA context goes in
/// `authenticationContext`, which the adapter does not read: `mfa` on a logon is lost (an
/// `mfa` activity reads back as `mfa: true`). Lost: device, mac, badge, dst, privileged,
/// compliant, the app of a logoff or MFA event.
fn okta(event: &Event, clock: &Clock) -> Rendered {
    let (event_type, message) = match event.activity {
        Activity::Logon if event.app.is_some() => {
            ("user.authentication.sso", "User single sign on to app")
        }
        Activity::Logon => ("user.session.start", "User login to Okta"),
        Activity::Logoff => ("user.session.end", "User logout from Okta"),
        Activity::Mfa => (
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
        ),
        _ => return keep("not an Okta sign-in activity"),
    };
    let (result, severity) = match event.outcome {
        Outcome::Success => ("SUCCESS", "INFO"),
        Outcome::Failure => ("FAILURE", "WARN"),
        Outcome::Unknown => ("UNKNOWN", "INFO"),
    };
    let number = fingerprint(&event.uid);
    let user = event.subject.user.as_deref();
    let src = &event.src;
    let geo = if src.city.is_some() || src.country.is_some() || src.lat.is_some() {
        let point = match (src.lat, src.lon) {
            (Some(lat), Some(lon)) => json!({ "lat": lat, "lon": lon }),
            _ => Value::Null,
        };
        json!({
            "city": src.city,
            "country": src.country,
            "geolocation": point,
            "postalCode": null,
            "state": null,
        })
    } else {
        Value::Null
    };
    let ip_chain = match src.ip {
        Some(ip) => json!([{
            "geographicalContext": geo,
            "ip": ip,
            "source": null,
            "version": if ip.is_ipv4() { "V4" } else { "V6" },
        }]),
        None => json!([]),
    };
    let (provider, credential) = match event.mfa {
        Some(true) => (json!("FACTOR_PROVIDER"), json!("OTP")),
        Some(false) => (json!("OKTA_AUTHENTICATION_PROVIDER"), json!("PASSWORD")),
        None => (Value::Null, Value::Null),
    };
    let target = match (&event.app, event_type) {
        (Some(app), "user.authentication.sso") => json!([{
            "alternateId": app,
            "detailEntry": { "signOnModeType": "SAML_2_0" },
            "displayName": app,
            "id": format!("0oa{:017x}", fingerprint(app) >> 4),
            "type": "AppInstance",
        }]),
        _ => Value::Null,
    };
    let record = json!({
        "actor": {
            "alternateId": user,
            "detailEntry": null,
            "displayName": user,
            "id": event.subject.idp_id,
            "type": "User",
        },
        "authenticationContext": {
            "authenticationProvider": provider,
            "authenticationStep": 0,
            "credentialProvider": null,
            "credentialType": credential,
            "externalSessionId": format!("102{:022x}", u128::from(number)),
            "interface": null,
            "issuer": null,
        },
        "client": {
            "device": "Computer",
            "geographicalContext": geo,
            "id": null,
            "ipAddress": src.ip,
            "userAgent": {
                "browser": "EDGE_CHROMIUM",
                "os": "Windows 10",
                "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            },
            "zone": "null",
        },
        "debugContext": { "debugData": { "requestId": format!("req-{number:016x}") } },
        "displayMessage": message,
        "eventType": event_type,
        "legacyEventType": null,
        "outcome": { "reason": event.reason, "result": result },
        "published": clock.rfc3339(),
        "request": { "ipChain": ip_chain },
        "securityContext": {
            "asNumber": null,
            "asOrg": null,
            "domain": null,
            "isProxy": false,
            "isp": null,
        },
        "severity": severity,
        "target": target,
        "transaction": { "detail": {}, "id": format!("tx-{number:016x}"), "type": "WEB" },
        "uuid": event.uid,
        "version": "0",
    });
    json_line(OKTA, &record, uid_as_is(&event.uid))
}

// ------------------------------------------------------------------------------- meraki

/// Meraki `events` syslog from the access point: the device name is the `ap` (Meraki APs
/// named as the estate names them). A connect is `association` (`8021x_auth` with the user as
/// `identity`; `8021x_eap_failure` when it failed), a disconnect `disassociation` with the
/// 802.11 reason code when the event's reason is `802.11 reason <n>`. `client_mac` ← mac,
/// `last_known_client_ip` / `ip_src` ← ip. Digest uid. Lost: a connect's unknown outcome (an
/// association is a success), other reasons, src, device, badge, app, posture; a user whose
/// name starts with `anonymous` (read as the anonymous outer identity).
fn meraki(event: &Event, clock: &Clock) -> Rendered {
    if event.medium != Some(Medium::Wifi) {
        return keep("only Wi-Fi sessions are written as Meraki lines");
    }
    let Some(ap) = event.ap.as_deref().filter(|ap| is_token(ap)) else {
        return keep("a Wi-Fi session without an access point name fit for a syslog host");
    };
    let user = event.subject.user.as_deref().and_then(quotable);
    let kind = match (event.activity, event.outcome) {
        (Activity::Disconnect, _) => "disassociation",
        (_, Outcome::Failure) => "8021x_eap_failure",
        _ if user.is_some() => "8021x_auth",
        _ => "association",
    };
    let number = fingerprint(&event.uid);
    let channel = [1u32, 6, 11, 36, 40, 44, 48, 149]
        .get((number % 8) as usize)
        .copied()
        .unwrap_or(36);
    let radio = if channel > 14 { 1 } else { 0 };
    let mut line = format!(
        "<134>1 {} {ap} events type={kind} radio='{radio}' vap='0'",
        clock.epoch()
    );
    if let Some(mac) = event.subject.mac.as_deref() {
        let mac = mac_text(mac, ':', true).or_else(|| quotable(mac));
        if let Some(mac) = mac {
            line.push_str(&format!(" client_mac='{mac}'"));
        }
    }
    if kind == "disassociation" {
        line.push_str(&format!(" channel='{channel}'"));
        if let Some(code) = event
            .reason
            .as_deref()
            .and_then(|reason| reason.strip_prefix("802.11 reason "))
            .filter(|code| !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()))
        {
            line.push_str(&format!(" reason='{code}' instigator='2'"));
        }
        if let Some(ip) = event.subject.ip {
            line.push_str(&format!(" ip_src='{ip}'"));
        }
    } else {
        let ip = event
            .subject
            .ip
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string());
        line.push_str(&format!(" last_known_client_ip='{ip}'"));
        if kind == "association" {
            line.push_str(&format!(
                " channel='{channel}' rssi='{}'",
                20 + (number >> 8) % 41
            ));
        }
    }
    if let Some(user) = user {
        line.push_str(&format!(" identity='{user}'"));
    }
    line.push_str(&format!(" aid='{}'", (number >> 16) % 2_000_000_000));
    vendor(MERAKI, line.into_bytes(), VendorUid::Digest)
}

// ------------------------------------------------------------------------------- ise

/// Cisco ISE syslog: a connect is `CISE_Passed_Authentications` (`CISE_Failed_Attempts` with
/// `FailureReason` when it failed), a disconnect a `CISE_RADIUS_Accounting` stop with
/// `Acct-Terminate-Cause`. `Calling-Station-ID` and `EndPointMACAddress` ← mac; `User-Name` ←
/// user, else `host/<device>`, else the MAC (MAB); `Framed-IP-Address` ← ip; wired:
/// `NetworkDeviceName` and `NAS-Port-Id` from `switch_port` (`<switch>:<port>`, the port
/// written long, `Gi1/0/7` as `GigabitEthernet1/0/7`); Wi-Fi: `Called-Station-ID` ← ap when
/// it is a MAC; VPN: `Calling-Station-ID` ← src.ip; `PostureAssessmentStatus` ← compliant.
/// Digest uid. Lost: a connect's unknown outcome (read as success), a device beside a user,
/// src beyond a VPN's address, an ap that is not a MAC, badge, app.
fn ise(event: &Event, clock: &Clock) -> Rendered {
    let (category, code, class) = match (event.activity, event.outcome) {
        (Activity::Disconnect, _) => (
            "CISE_RADIUS_Accounting",
            3001,
            "Radius-Accounting: RADIUS Accounting stop request",
        ),
        (_, Outcome::Failure) => (
            "CISE_Failed_Attempts",
            5400,
            "Failed-Attempt: Authentication failed",
        ),
        _ => (
            "CISE_Passed_Authentications",
            5200,
            "Passed-Authentication: Authentication succeeded",
        ),
    };
    let mac_dashed = event
        .subject
        .mac
        .as_deref()
        .and_then(|mac| mac_text(mac, '-', true));
    let user_name = match (&event.subject.user, &event.subject.device) {
        (Some(user), _) => Some(user.clone()),
        (None, Some(device)) => Some(format!("host/{device}")),
        (None, None) => mac_dashed.clone(),
    };
    let (port_switch, port) = match event.switch_port.as_deref().map(|p| p.split_once(':')) {
        Some(Some((switch, port))) if !switch.is_empty() && !port.is_empty() => {
            (Some(switch), Some(long_interface(port)))
        }
        _ => (None, None),
    };
    let number = fingerprint(&event.uid);
    let mut pairs: Vec<(&str, String)> = vec![
        ("ConfigVersionId", "212".to_string()),
        ("Device IP Address", "10.0.0.2".to_string()),
        ("DestinationIPAddress", "10.0.0.20".to_string()),
        ("DestinationPort", "1812".to_string()),
        ("Protocol", "Radius".to_string()),
    ];
    let device_name = match event.medium {
        Some(Medium::Wired) => port_switch.unwrap_or("access-sw"),
        Some(Medium::Wifi) => "wlc01",
        Some(Medium::Vpn) => "asa01",
        None => port_switch.unwrap_or("nad01"),
    };
    pairs.push(("NetworkDeviceName", device_name.to_string()));
    if let Some(name) = &user_name {
        pairs.push(("User-Name", name.clone()));
        pairs.push(("UserName", name.clone()));
    }
    match event.medium {
        Some(Medium::Vpn) => {
            pairs.push(("NAS-Port-Type", "Virtual".to_string()));
            if let Some(ip) = event.src.ip {
                pairs.push(("Calling-Station-ID", ip.to_string()));
            }
        }
        Some(Medium::Wifi) => {
            pairs.push(("NAS-Port-Type", "Wireless - IEEE 802.11".to_string()));
            if let Some(called) = event.ap.as_deref().and_then(|ap| mac_text(ap, '-', true)) {
                pairs.push(("Called-Station-ID", format!("{called}:Corp")));
            }
        }
        Some(Medium::Wired) => {
            pairs.push(("NAS-Port-Type", "Ethernet".to_string()));
        }
        None => {}
    }
    if event.medium != Some(Medium::Vpn)
        && let Some(mac) = &mac_dashed
    {
        pairs.push(("Calling-Station-ID", mac.clone()));
    }
    if let Some(port) = port {
        pairs.push(("NAS-Port-Id", port));
    }
    if let Some(ip) = event.subject.ip {
        pairs.push(("Framed-IP-Address", ip.to_string()));
    }
    match event.activity {
        Activity::Disconnect => {
            pairs.push(("Acct-Status-Type", "Stop".to_string()));
            pairs.push((
                "Acct-Session-Id",
                format!("{:08X}", (number >> 8) & 0xffff_ffff),
            ));
            if let Some(reason) = &event.reason {
                pairs.push(("Acct-Terminate-Cause", reason.clone()));
            }
        }
        _ => {
            let mab = event.subject.user.is_none() && event.subject.device.is_none();
            let flow = match (event.medium, mab) {
                (Some(Medium::Wired), true) => Some("WiredMAB"),
                (Some(Medium::Wired), false) => Some("Wired802_1x"),
                (Some(Medium::Wifi), _) => Some("Wireless802_1x"),
                _ => None,
            };
            if let Some(flow) = flow {
                pairs.push(("RadiusFlowType", flow.to_string()));
            }
            let method = if mab { "Lookup" } else { "dot1x" };
            pairs.push(("AuthenticationMethod", method.to_string()));
            if event.outcome == Outcome::Failure {
                if let Some(reason) = &event.reason {
                    pairs.push(("FailureReason", reason.clone()));
                }
                pairs.push(("AuthenticationStatus", "AuthenticationFailed".to_string()));
            } else {
                pairs.push(("AuthenticationStatus", "AuthenticationPassed".to_string()));
            }
        }
    }
    pairs.push((
        "CPMSessionID",
        format!("0A00000200{:014X}", number & 0xff_ffff_ffff_ffff),
    ));
    if let Some(mac) = &mac_dashed {
        pairs.push(("EndPointMACAddress", mac.clone()));
    }
    match event.compliant {
        Some(true) => pairs.push(("PostureAssessmentStatus", "Compliant".to_string())),
        Some(false) => pairs.push(("PostureAssessmentStatus", "NonCompliant".to_string())),
        None => {}
    }
    let mut line = format!(
        "<181>{} ise01 {category} {:010} 1 0 {} {:010} {code} NOTICE {class},",
        clock.bsd(),
        number % 10_000_000_000,
        clock.ise(),
        (number >> 20) % 10_000_000_000,
    );
    for (key, value) in pairs {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(&ise_value(&value));
        line.push(',');
    }
    vendor(ISE, line.into_bytes(), VendorUid::Digest)
}

/// `Gi1/0/7` → `GigabitEthernet1/0/7`: ISE writes the interface as the switch reports it.
fn long_interface(port: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("Hu", "HundredGigE"),
        ("Fo", "FortyGigabitEthernet"),
        ("Twe", "TwentyFiveGigE"),
        ("Te", "TenGigabitEthernet"),
        ("Tw", "TwoGigabitEthernet"),
        ("Fi", "FiveGigabitEthernet"),
        ("Gi", "GigabitEthernet"),
        ("Fa", "FastEthernet"),
    ];
    for (short, long) in NAMES {
        if let Some(number) = port.strip_prefix(short)
            && number.starts_with(|c: char| c.is_ascii_digit())
        {
            return format!("{long}{number}");
        }
    }
    port.to_string()
}

/// An ISE value: one line, commas escaped, braces (which group commas) made parentheses.
fn ise_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 1);
    for c in value.chars() {
        match c {
            ',' => out.push_str("\\,"),
            '{' => out.push('('),
            '}' => out.push(')'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    // A final backslash would escape the comma after the value; the reader trims the space.
    if out.ends_with('\\') {
        out.push(' ');
    }
    out
}

// ------------------------------------------------------------------------------- globalprotect

/// PAN-OS GlobalProtect log over syslog. A connect is `gateway-connected` (`gateway-auth`,
/// status `failure`, with the reason as Error, when it failed), a disconnect
/// `gateway-logout` (the reason as Reason). Source User ← user, Machine Name ← device, Public
/// IP ← src.ip, Private IP ← ip, Source Region ← src.country when it is a two-letter code,
/// High Res Timestamp ← time. The uid `<a>-<b>` is written as Serial `<a>` and Sequence
/// Number `<b>`, which the adapter joins back; a uid without that form becomes the firewall's
/// serial and a sequence number. Lost: a logout's outcome (the adapter reads it as unknown),
/// a `DOMAIN\` before the user, a country name, src city and place, mac, badge, ap, app.
fn globalprotect(event: &Event, clock: &Clock) -> Rendered {
    let (event_id, stage, auth, tunnel, status) = match (event.activity, event.outcome) {
        (Activity::Connect, Outcome::Failure) => ("gateway-auth", "login", "SAML", "", "failure"),
        (Activity::Connect, _) => ("gateway-connected", "connected", "SAML", "SSL", "success"),
        (Activity::Disconnect, _) => ("gateway-logout", "logout", "", "SSL", "success"),
        _ => return keep("not a VPN session activity"),
    };
    let number = fingerprint(&event.uid);
    let (serial, sequence, uid) = gateway_ids(&event.uid, number);
    let (public4, public6) = ip_pair(event.src.ip);
    let (private4, private6) = ip_pair(event.subject.ip);
    let region = event
        .src
        .country
        .as_deref()
        .filter(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .unwrap_or_default();
    let reason = event.reason.as_deref().unwrap_or_default();
    let (reason_field, error_field) = match (event.activity, event.outcome) {
        (Activity::Disconnect, _) => (reason, ""),
        (_, Outcome::Failure) => ("", reason),
        _ => ("", ""),
    };
    let host_id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        number >> 32,
        (number >> 16) & 0xffff,
        (number >> 4) & 0xfff,
        number & 0xfff,
        fingerprint(event.subject.user.as_deref().unwrap_or_default()) & 0xffff_ffff_ffff
    );
    let pan_time = clock.pan();
    let fields: [&str; 42] = [
        "1",
        &pan_time,
        &serial,
        "GLOBALPROTECT",
        "0",
        "2817",
        &pan_time,
        "vsys1",
        event_id,
        stage,
        auth,
        tunnel,
        event.subject.user.as_deref().unwrap_or_default(),
        region,
        event.subject.device.as_deref().unwrap_or_default(),
        &public4,
        &public6,
        &private4,
        &private6,
        &host_id,
        "",
        "6.2.4",
        "Microsoft Windows",
        "Windows 11 Enterprise, 64-bit",
        "1",
        reason_field,
        error_field,
        "",
        status,
        "Gateway",
        "0",
        "user-logon",
        "0",
        "GP-Portal",
        &sequence,
        "0x8000000000000000",
        &clock.rfc3339(),
        "manual",
        "45",
        "highest",
        "",
        "GP-Gateway",
    ];
    let record: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
    let line = format!("<14>{} pa-fw01 {}", clock.bsd(), record.join(","));
    vendor(GLOBALPROTECT, line.into_bytes(), uid)
}

/// The firewall serial and sequence number that carry `uid`, and the uid they read back as.
fn gateway_ids(uid: &str, number: u64) -> (String, String, VendorUid) {
    let fits = |part: &str| {
        !part.is_empty()
            && part.trim() == part
            && part
                .chars()
                .all(|c| !c.is_control() && c != ',' && c != '"')
    };
    if let Some((serial, sequence)) = uid.rsplit_once('-')
        && fits(serial)
        && fits(sequence)
    {
        return (serial.to_string(), sequence.to_string(), VendorUid::Kept);
    }
    let serial = "013201009876";
    let sequence = (number % 10_000_000_000).to_string();
    let becomes = format!("{serial}-{sequence}");
    (serial.to_string(), sequence, VendorUid::Becomes(becomes))
}

fn ip_pair(ip: Option<IpAddr>) -> (String, String) {
    match ip {
        Some(IpAddr::V4(v4)) => (v4.to_string(), "0.0.0.0".to_string()),
        Some(IpAddr::V6(v6)) => ("0.0.0.0".to_string(), v6.to_string()),
        None => ("0.0.0.0".to_string(), "0.0.0.0".to_string()),
    }
}

/// A CSV field: one line, quoted when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    let text = one_line(text);
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

// ------------------------------------------------------------------------------- dhcp

/// ISC dhcpd through a relay that writes RFC 3339 stamps: `DHCPACK on <ip> to <mac>
/// [(<host>)] via eth0 lease-duration <s>` (the lease from `until`, in whole seconds of at most
/// a year), `DHCPRELEASE of <ip> from <mac> [(<host>)] via eth0 (found)`. Digest uid. Lost:
/// a lease end that is not a whole number of seconds after the time (rounded down), user,
/// src, badge. An event without an address or a MAC stays NDJSON.
fn dhcp(event: &Event, clock: &Clock) -> Rendered {
    let Some(ip) = event.subject.ip else {
        return keep("a DHCP lease without an address");
    };
    let Some(mac) = event
        .subject
        .mac
        .as_deref()
        .and_then(|mac| mac_text(mac, ':', false))
    else {
        return keep("a DHCP lease without a MAC address");
    };
    let host = event
        .subject
        .device
        .as_deref()
        .filter(|host| is_token(host) && !host.contains(['(', ')']))
        .map(|host| format!(" ({host})"))
        .unwrap_or_default();
    let message = match event.activity {
        Activity::Assign => {
            let lease = event
                .until
                .map(|until| until.millis().saturating_sub(event.time.millis()) / 1000)
                .filter(|seconds| (1..=366 * 86_400).contains(seconds))
                .map(|seconds| format!(" lease-duration {seconds} offered-duration {seconds}"))
                .unwrap_or_default();
            format!("DHCPACK on {ip} to {mac}{host} via eth0{lease}")
        }
        Activity::Release => format!("DHCPRELEASE of {ip} from {mac}{host} via eth0 (found)"),
        _ => return keep("not a DHCP lease activity"),
    };
    let line = format!("<30>{} dhcp1 dhcpd[812]: {message}", clock.rfc3339());
    vendor(DHCP, line.into_bytes(), VendorUid::Digest)
}

// ------------------------------------------------------------------------- linux-auth

/// An sshd or console `login` line as rsyslog forwards it with an RFC 3339 stamp. Only what a
/// line says is written: a sign-in the twin marks privileged (a root shell at a server) has
/// no line that says so, and stays NDJSON.
fn linux_auth(event: &Event, clock: &Clock) -> Rendered {
    if event.privileged {
        return keep("a privileged sign-in: no sshd or login line marks it as such");
    }
    let (Some(user), Some(host)) = (event.subject.user.as_deref(), event.asset.as_deref()) else {
        return keep("a server sign-in without its user or server");
    };
    if !is_token(user) || !is_token(host) || user.contains(['(', ')']) {
        return keep("a user or server name a syslog line cannot hold");
    }
    let pid = 1000 + event.time.millis().rem_euclid(30_000);
    let from = event.src.ip;
    let message = match (event.app.as_deref(), event.outcome, from) {
        (Some("pam:login"), Outcome::Success, None) => {
            format!(
                "login[{pid}]: pam_unix(login:session): session opened for user {user}(uid=1000) by LOGIN(uid=0)"
            )
        }
        (Some("sshd:publickey"), Outcome::Success, Some(ip)) => format!(
            "sshd[{pid}]: Accepted publickey for {user} from {ip} port {} ssh2: ED25519 SHA256:q3n0Zb2Tz0mJ5sVh9Kx1",
            40_000 + pid
        ),
        (Some("sshd:password"), Outcome::Failure, Some(ip)) => format!(
            "sshd[{pid}]: Failed password for {user} from {ip} port {} ssh2",
            40_000 + pid
        ),
        _ => return keep("a server sign-in of a kind the twin does not write as a line"),
    };
    let line = format!("<86>{} {host} {message}", clock.rfc3339());
    vendor(LINUX_AUTH, line.into_bytes(), VendorUid::Digest)
}

// ------------------------------------------------------------------------- servicenow

/// A Table API `change_request` record read with `sysparm_display_value=all` (references and
/// times as `{display_value, value}`) and the dot-walked `assigned_to.user_name`. Times are
/// whole seconds (the API has no milliseconds). The uid becomes the adapter's own
/// (`servicenow-<sys_id>-<update ms>`).
fn servicenow(event: &Event) -> Rendered {
    let Some(change) = event.change.as_deref() else {
        return keep("a change request without its ticket");
    };
    let whole = |ts: Ts| ts.millis().rem_euclid(1000) == 0;
    if !whole(event.time) || !whole(change.start) || !whole(change.end) {
        return keep("a change time with milliseconds, which the Table API does not write");
    }
    if change.assignees.len() > 1 || change.groups.len() > 1 || change.items.len() > 1 {
        return keep("a change with more than one assignee, group or item");
    }
    let digits: String = change.number.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 32 {
        return keep("a change number without digits");
    }
    let sys_id = format!("{digits:0>32}");
    let (Some(updated), Some(start), Some(end)) = (
        table_time(event.time),
        table_time(change.start),
        table_time(change.end),
    ) else {
        return keep("a change time outside the years the Table API writes");
    };
    let (state, approval) = match event.activity {
        Activity::ChangeScheduled => (("-2", "Scheduled"), "approved"),
        Activity::ChangePending => (("-3", "Authorize"), "requested"),
        Activity::ChangeClosed => (("3", "Closed"), "approved"),
        Activity::ChangeCancelled => (("4", "Canceled"), "approved"),
        _ => return keep("not a change request activity"),
    };
    let both = |value: &str| json!({ "display_value": value, "value": value });
    let reference =
        |name: &str| json!({ "display_value": name, "value": format!("{:0>32x}", name.len()) });
    let mut record = json!({
        "sys_id": sys_id,
        "sys_class_name": "change_request",
        "number": change.number,
        "state": { "display_value": state.1, "value": state.0 },
        "approval": both(approval),
        "start_date": both(&start),
        "end_date": both(&end),
        "sys_updated_on": both(&updated),
    });
    if let Some(object) = record.as_object_mut() {
        if let Some(item) = change.items.first() {
            object.insert("cmdb_ci".into(), reference(item));
        }
        if let Some(user) = change.assignees.first() {
            object.insert("assigned_to.user_name".into(), json!(user));
        }
        if let Some(group) = change.groups.first() {
            object.insert("assignment_group".into(), reference(group));
        }
        if let Some(reason) = &event.reason {
            object.insert("short_description".into(), json!(one_line(reason)));
        }
    }
    let uid = format!("servicenow-{sys_id}-{}", event.time.millis());
    json_line(SERVICENOW, &record, VendorUid::Becomes(uid))
}

/// `2026-03-02 21:00:00`, UTC.
fn table_time(ts: Ts) -> Option<String> {
    let clock = Clock::of(ts)?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        clock.year, clock.month, clock.day, clock.hour, clock.minute, clock.second
    ))
}

// ------------------------------------------------------------------------------ flows

/// One nfdump CSV row (the columns of [`NFDUMP_HEADER`]), times in UTC with milliseconds. The
/// flow starts a few seconds before it ends; its packets are estimated from its bytes. Lost:
/// the device name (a flow knows addresses only; the engine finds the workstation by its
/// address).
fn nfdump(event: &Event, clock: &Clock) -> Rendered {
    let (Some(from), Some(to), Some(bytes)) = (event.subject.ip, event.dst.ip, event.bytes_out)
    else {
        return keep("a flow without its addresses or bytes");
    };
    if event.src.ip.is_some_and(|src| src != from) {
        return keep("a flow whose source differs from its subject's address");
    }
    let Some(port) = event.dst.port else {
        return keep("a flow without a destination port");
    };
    let seconds = (bytes / 5_000_000).clamp(1, 600) as i64;
    let Some(start) = Clock::of(event.time.minus_millis(seconds * 1000)) else {
        return keep("a flow that starts before 1970");
    };
    let packets = bytes.div_ceil(1_400).max(1);
    let line = format!(
        "{},{},{}.000,{from},{to},{},{port},TCP,{packets},{bytes}",
        start.nfdump(),
        clock.nfdump(),
        seconds,
        49_152 + event.time.millis().rem_euclid(16_000),
    );
    vendor(NFDUMP, line.into_bytes(), VendorUid::Digest)
}

// ------------------------------------------------------------------------------- pacs

/// A Verkada-style access event webhook (the built-in `verkada` mapping): `event_id` ← uid,
/// `notification_type` from the activity, `door_id` ← door, `device_id` ← reader,
/// `input_value` ← badge, `created` ← time in epoch seconds with the milliseconds as a
/// fraction. Lost: reason, site, zone, asset, user, outcome. Activities the mapping has no
/// name for (door not used, anti-passback, duress, request to exit) stay NDJSON.
fn verkada(event: &Event, clock: &Clock) -> Rendered {
    let kind = match event.activity {
        Activity::Granted => "door_granted",
        Activity::Denied => "door_rejected",
        Activity::DoorUsed => "door_opened",
        Activity::Forced => "door_forced_open",
        Activity::HeldOpen => "door_held_open",
        Activity::Tamper => "door_tamper",
        _ => return keep("the Verkada mapping has no notification type for this door activity"),
    };
    let number = fingerprint(&event.uid);
    let created = clock.epoch_number();
    let mut data = serde_json::Map::new();
    data.insert("notification_type".into(), json!(kind));
    data.insert("event_id".into(), json!(event.uid));
    if let Some(reader) = &event.reader {
        data.insert("device_id".into(), json!(reader));
    }
    data.insert("device_type".into(), json!("access_controller"));
    if let Some(door) = &event.door {
        data.insert("door_id".into(), json!(door));
    }
    data.insert("created".into(), created.clone());
    if let Some(badge) = &event.subject.badge {
        data.insert("input_value".into(), json!(badge));
    }
    let record = json!({
        "webhook_type": "notification",
        "webhook_id": format!("wh-{number:016x}"),
        "org_id": "org-seam-twin",
        "created_at": created,
        "data": data,
    });
    json_line(PACS, &record, uid_as_is(&event.uid))
}

// ------------------------------------------------------------------------------- envoy

/// An Envoy entry webhook: `entry_sign_in` with `signed-in-at`, `entry_sign_out` with
/// `signed-out-at`; the entry id is the uid, so the adapter's uid is `<uid>-<activity>`;
/// `email` ← user. The badge goes in the entry's `user-data` and the site in
/// `meta.location`, which the adapter keeps only in `raw`: badge and site are lost as
/// fields, as are outcome and everything else.
fn envoy(event: &Event, clock: &Clock) -> Rendered {
    let (hook, time_key) = match event.activity {
        Activity::CheckIn => ("entry_sign_in", "signed-in-at"),
        Activity::CheckOut => ("entry_sign_out", "signed-out-at"),
        _ => return keep("not a visitor sign-in or sign-out"),
    };
    let number = fingerprint(&event.uid);
    let user_data = match &event.subject.badge {
        Some(badge) => json!([{ "field": "Badge number", "value": badge }]),
        None => json!([]),
    };
    let location = match &event.site {
        Some(site) => json!({ "id": format!("loc-{site}"), "attributes": { "name": site } }),
        None => Value::Null,
    };
    let mut attributes = serde_json::Map::new();
    attributes.insert("full-name".into(), Value::Null);
    attributes.insert("email".into(), json!(event.subject.user));
    attributes.insert("flow-name".into(), json!("Visitor"));
    attributes.insert("private-notes".into(), Value::Null);
    attributes.insert(time_key.into(), json!(clock.rfc3339()));
    attributes.insert("user-data".into(), user_data);
    let record = json!({
        "meta": {
            "event": hook,
            "config": {},
            "location": location,
            "company": {},
            "job": { "id": format!("job-{number:016x}") },
        },
        "payload": {
            "id": event.uid,
            "type": "entries",
            "attributes": attributes,
        },
    });
    let entry = event.uid.trim();
    let becomes = format!("{entry}-{}", event.activity);
    let uid = if entry.is_empty() || becomes.len() > Event::MAX_UID_BYTES {
        VendorUid::Digest
    } else {
        VendorUid::Becomes(becomes)
    };
    json_line(ENVOY, &record, uid)
}

// ------------------------------------------------------------------------------- zigbee2mqtt

/// A people-counting sensor's state on `zigbee2mqtt/<zone id>`: `people_count` ← count,
/// `occupancy` (count above zero), `last_seen` ← time. The friendly name is the zone id: the
/// adapter's zone map names each zone id as its own device. Digest uid (of topic, time and
/// payload). Lost: site and everything but zone and count. A count outside 0 to 100000 or a
/// zone id unfit for a topic stays NDJSON.
fn zigbee(event: &Event, clock: &Clock) -> Rendered {
    if event.activity != Activity::Count {
        return keep("not an occupancy count");
    }
    let Some(zone) = event.zone.as_deref().filter(|zone| fits_topic(zone)) else {
        return keep("an occupancy count without a zone fit for an MQTT topic");
    };
    let Some(count) = event.count.filter(|count| (0..=100_000).contains(count)) else {
        return keep("an occupancy count outside what a sensor reports (0 to 100000)");
    };
    let payload = json!({
        "last_seen": clock.rfc3339(),
        "linkquality": 90 + fingerprint(&event.uid) % 120,
        "occupancy": count > 0,
        "people_count": count,
    });
    match serde_json::to_vec(&payload) {
        Ok(bytes) => Rendered::Vendor(VendorRecord {
            adapter: ZIGBEE,
            topic: Some(format!("{ZIGBEE_BASE_TOPIC}/{zone}")),
            bytes,
            uid: VendorUid::Digest,
        }),
        Err(_) => keep("the record cannot be written as JSON"),
    }
}

/// A friendly name Zigbee2MQTT can publish under and the adapter reads as a device.
fn fits_topic(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && name != "bridge"
        && !name.starts_with("bridge/")
        && !name.starts_with('/')
        && !["/set", "/get", "/availability"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        && !name.contains(['+', '#'])
        && !name.chars().any(char::is_control)
}

// ------------------------------------------------------------------------------- shared

/// A uid carried in a JSON id field the adapter trims.
fn uid_as_is(uid: &str) -> VendorUid {
    let trimmed = uid.trim();
    if trimmed.is_empty() || trimmed.len() > Event::MAX_UID_BYTES {
        VendorUid::Digest
    } else if trimmed == uid {
        VendorUid::Kept
    } else {
        VendorUid::Becomes(trimmed.to_string())
    }
}

/// FNV-1a: stable numbers (sequence numbers, channels, ids) drawn from a uid, so that every
/// record is distinct and the same event always renders the same.
fn fingerprint(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Control characters (line breaks among them) become spaces: one record, one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A syslog token: non-empty, no spaces or control characters.
fn is_token(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A value for Meraki's single quotes, which cannot hold a quote.
fn quotable(text: &str) -> Option<String> {
    (!text.contains('\'')).then(|| one_line(text))
}

/// A MAC address written with `separator` between its pairs, from any of the spellings the
/// adapters read; `None` when it is not one.
fn mac_text(text: &str, separator: char, upper: bool) -> Option<String> {
    let text = text.trim();
    let digits: String = match text.len() {
        17 => {
            let sep = text.chars().nth(2)?;
            if sep != ':' && sep != '-' {
                return None;
            }
            let mut digits = String::with_capacity(12);
            for (position, c) in text.chars().enumerate() {
                if position % 3 == 2 {
                    if c != sep {
                        return None;
                    }
                } else {
                    digits.push(c);
                }
            }
            digits
        }
        14 => {
            let mut digits = String::with_capacity(12);
            for (position, c) in text.chars().enumerate() {
                if position % 5 == 4 {
                    if c != '.' {
                        return None;
                    }
                } else {
                    digits.push(c);
                }
            }
            digits
        }
        12 => text.to_string(),
        _ => return None,
    };
    if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = String::with_capacity(17);
    for (position, c) in digits.chars().enumerate() {
        if position > 0 && position % 2 == 0 {
            out.push(separator);
        }
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
    }
    Some(out)
}

/// An event time in UTC, in the spellings vendors write.
struct Clock {
    ts: Ts,
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: i8,
    millis: i64,
}

impl Clock {
    /// `None` outside 1970 to 9999: epoch stamps cannot be negative, years have four digits.
    fn of(ts: Ts) -> Option<Clock> {
        let timestamp = ts.to_timestamp()?;
        let civil = jiff::tz::TimeZone::UTC.to_datetime(timestamp);
        if !(1970..=9999).contains(&civil.year()) {
            return None;
        }
        Some(Clock {
            ts,
            year: civil.year(),
            month: civil.month(),
            day: civil.day(),
            hour: civil.hour(),
            minute: civil.minute(),
            second: civil.second(),
            millis: ts.millis().rem_euclid(1000),
        })
    }

    /// `2026-03-02T07:55:00.412Z`
    fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `Mar  2 07:55:00`: BSD syslog, the day padded with a space.
    fn bsd(&self) -> String {
        let month = match self.month {
            1 => "Jan",
            2 => "Feb",
            3 => "Mar",
            4 => "Apr",
            5 => "May",
            6 => "Jun",
            7 => "Jul",
            8 => "Aug",
            9 => "Sep",
            10 => "Oct",
            11 => "Nov",
            _ => "Dec",
        };
        format!(
            "{month} {:>2} {:02}:{:02}:{:02}",
            self.day, self.hour, self.minute, self.second
        )
    }

    /// `2026-03-02 07:55:00.412`: nfdump's CSV, in UTC.
    fn nfdump(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `2026/03/02 07:55:00`: PAN-OS.
    fn pan(&self) -> String {
        format!(
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2026-03-02 07:55:00.412 +00:00`: ISE's message time.
    fn ise(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} +00:00",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `1772437800.412000000`: Meraki's epoch stamp with nanoseconds.
    fn epoch(&self) -> String {
        format!(
            "{}.{:03}000000",
            self.ts.millis().div_euclid(1000),
            self.millis
        )
    }

    /// Epoch seconds as a JSON number, the milliseconds as its fraction.
    fn epoch_number(&self) -> Value {
        let seconds = self.ts.millis().div_euclid(1000);
        if self.millis == 0 {
            return Value::from(seconds);
        }
        // Parsed from the decimal text, the number prints back as exactly that text.
        format!("{seconds}.{:03}", self.millis)
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::from(seconds), Value::Number)
    }
}

/// Writes a simulation in vendor formats: one output stream per adapter (Zigbee2MQTT is an
/// MQTT topic, not a file, so occupancy stays in the NDJSON stream). Events whose record has no
/// event id are read back through their adapter here, so that the ground truth names them by
/// the uid a reader of the files will see.
#[derive(Debug)]
pub struct VendorFiles {
    adapters: Vec<(&'static str, seam_adapters::Adapter)>,
    quirks: Quirks,
}

/// What real deliveries do that a clean export does not, varied per seed: the cloud
/// identity provider's clock (or its pipeline) runs some seconds off the sites', and a few
/// records arrive twice (a retried webhook, a forwarder replaying its buffer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Added to every Okta record's time, ms.
    pub okta_skew_ms: i64,
    /// Records written twice, per thousand.
    pub duplicates_per_mille: u64,
    seed: u64,
}

impl Quirks {
    /// The quirks of a seed: an Okta skew between -90 and +90 s, and 2 to 8 records in a
    /// thousand delivered twice.
    pub fn of_seed(seed: u64) -> Quirks {
        let mut rng = crate::rng::Rng::stream(seed, &[0x9_u64, 0x1e]);
        Quirks {
            okta_skew_ms: (rng.between(0, 180) - 90) * 1000,
            duplicates_per_mille: rng.between(2, 8) as u64,
            seed,
        }
    }

    /// Whether this event's record is delivered twice.
    fn twice(&self, uid: &str) -> bool {
        if self.duplicates_per_mille == 0 {
            return false;
        }
        let mut hash: u64 = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for byte in uid.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash % 1000 < self.duplicates_per_mille
    }
}

/// The streams of [`VendorFiles`], after Seam NDJSON, with their file extensions.
pub const FILE_STREAMS: &[(&str, &str)] = &[
    ("ndjson", "ndjson"),
    (OKTA, "jsonl"),
    (MERAKI, "log"),
    (ISE, "log"),
    (GLOBALPROTECT, "log"),
    (DHCP, "log"),
    (PACS, "jsonl"),
    (ENVOY, "jsonl"),
    (LINUX_AUTH, "log"),
    (SERVICENOW, "jsonl"),
    (NFDUMP, "csv"),
];

impl Default for VendorFiles {
    fn default() -> Self {
        VendorFiles::new()
    }
}

impl VendorFiles {
    pub fn new() -> VendorFiles {
        let adapters = FILE_STREAMS
            .iter()
            .skip(1)
            .filter_map(|(name, _)| {
                seam_adapters::Adapter::from_name(name)
                    .ok()
                    .map(|adapter| (*name, adapter))
            })
            .collect();
        VendorFiles {
            adapters,
            quirks: Quirks::default(),
        }
    }

    /// Vendor files with the delivery quirks of a seed (see [`Quirks`]).
    pub fn with_quirks(quirks: Quirks) -> VendorFiles {
        VendorFiles {
            quirks,
            ..VendorFiles::new()
        }
    }

    /// The uid `adapter` gives the event it reads from `bytes`.
    fn read_back_uid(&self, adapter: &str, bytes: &[u8], time: Ts) -> Option<String> {
        let (_, reader) = self.adapters.iter().find(|(name, _)| *name == adapter)?;
        let mut context = seam_adapters::ParseContext::new(adapter.to_string(), time);
        context.max_ahead_ms = i64::MAX;
        context.max_behind_ms = i64::MAX;
        let batch = match header(adapter) {
            Some(header) => {
                let mut input = header.to_vec();
                input.push(b'\n');
                input.extend_from_slice(bytes);
                reader.parse(&input, &context).ok()?
            }
            None => reader.parse(bytes, &context).ok()?,
        };
        batch.events.into_iter().next().map(|event| event.uid)
    }
}

impl crate::run::Render for VendorFiles {
    fn streams(&self) -> Vec<String> {
        FILE_STREAMS
            .iter()
            .map(|(name, _)| (*name).to_string())
            .collect()
    }

    fn render(&self, event: &Event, out: &mut Vec<u8>) -> (usize, Option<String>) {
        let skewed;
        let event = if event.source == OKTA && self.quirks.okta_skew_ms != 0 {
            let mut copy = event.clone();
            copy.time = copy.time.plus_millis(self.quirks.okta_skew_ms);
            skewed = copy;
            &skewed
        } else {
            event
        };
        if let Rendered::Vendor(record) = render(event)
            && let Some(stream) = FILE_STREAMS
                .iter()
                .position(|(name, _)| *name == record.adapter)
        {
            let uid = match record.uid {
                VendorUid::Kept => None,
                VendorUid::Becomes(uid) => Some(uid),
                VendorUid::Digest => self.read_back_uid(record.adapter, &record.bytes, event.time),
            };
            out.extend_from_slice(&record.bytes);
            out.push(b'\n');
            if self.quirks.twice(&event.uid) {
                out.extend_from_slice(&record.bytes);
                out.push(b'\n');
            }
            return (stream, uid);
        }
        crate::json::write_event(out, event);
        out.push(b'\n');
        (0, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(source: &str, class: EventClass, activity: Activity) -> Event {
        // 2026-03-02T09:05:03.042Z
        Event::new(
            "sim-000-0000042",
            Ts(1_772_442_303_042),
            source,
            class,
            activity,
        )
    }

    fn text(rendered: &Rendered) -> String {
        match rendered {
            Rendered::Vendor(record) => String::from_utf8(record.bytes.clone()).unwrap(),
            Rendered::Ndjson { why } => panic!("kept as NDJSON: {why}"),
        }
    }

    #[test]
    fn a_wifi_association_is_a_meraki_line_from_the_access_point() {
        let mut wifi = event("meraki", EventClass::NetworkSession, Activity::Connect);
        wifi.outcome = Outcome::Success;
        wifi.medium = Some(Medium::Wifi);
        wifi.subject.mac = Some("3c:22:fb:00:00:01".into());
        wifi.ap = Some("hq-f1-ap1".into());
        let rendered = render(&wifi);
        assert_eq!(rendered.adapter(), "meraki");
        let line = text(&rendered);
        assert!(
            line.starts_with(
                "<134>1 1772442303.042000000 hq-f1-ap1 events type=association radio="
            ),
            "{line}"
        );
        assert!(line.contains(" client_mac='3C:22:FB:00:00:01' last_known_client_ip='0.0.0.0' "));
        wifi.ap = Some("lobby ap".into());
        assert_eq!(render(&wifi).adapter(), "ndjson");
    }

    #[test]
    fn a_wired_failure_is_an_ise_failed_attempt_with_the_long_port_name() {
        let mut wired = event("ise", EventClass::NetworkSession, Activity::Connect);
        wired.outcome = Outcome::Failure;
        wired.medium = Some(Medium::Wired);
        wired.subject.mac = Some("0a:11:22:00:01:01".into());
        wired.switch_port = Some("hq-f1-sw:Gi1/0/2".into());
        wired.reason = Some("dot1x_failed, again".into());
        let line = text(&render(&wired));
        assert!(
            line.starts_with("<181>Mar  2 09:05:03 ise01 CISE_Failed_Attempts "),
            "{line}"
        );
        assert!(line.contains(" 1 0 2026-03-02 09:05:03.042 +00:00 "));
        assert!(line.contains(" NetworkDeviceName=hq-f1-sw, User-Name=0A-11-22-00-01-01,"));
        assert!(line.contains(" NAS-Port-Id=GigabitEthernet1/0/2,"));
        assert!(line.contains(" FailureReason=dot1x_failed\\, again,"));
        assert_eq!(ise_value("EXAMPLE\\bob\\"), "EXAMPLE\\bob\\ ");
        assert_eq!(long_interface("Twe1/0/1"), "TwentyFiveGigE1/0/1");
        assert_eq!(long_interface("Tw1/0/1"), "TwoGigabitEthernet1/0/1");
        assert_eq!(long_interface("port7"), "port7");
    }

    #[test]
    fn a_vpn_session_carries_its_uid_as_serial_and_sequence() {
        let mut vpn = event(
            "globalprotect",
            EventClass::NetworkSession,
            Activity::Connect,
        );
        vpn.outcome = Outcome::Success;
        vpn.medium = Some(Medium::Vpn);
        vpn.subject.user = Some("alice@example.com".into());
        vpn.subject.ip = "10.250.0.7".parse().ok();
        vpn.src.ip = "84.0.0.8".parse().ok();
        let rendered = render(&vpn);
        let line = text(&rendered);
        assert!(
            line.starts_with(
                "<14>Mar  2 09:05:03 pa-fw01 1,2026/03/02 09:05:03,sim-000,GLOBALPROTECT,"
            ),
            "{line}"
        );
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[8], "gateway-connected");
        assert_eq!(fields[12], "alice@example.com");
        assert_eq!(
            &fields[15..19],
            ["84.0.0.8", "0.0.0.0", "10.250.0.7", "0.0.0.0"]
        );
        assert_eq!(fields[23], "\"Windows 11 Enterprise");
        // The quoted OS version adds one comma before the sequence number.
        assert_eq!(fields[29], "success");
        assert_eq!(fields[35], "0000042");
        assert_eq!(fields[37], "2026-03-02T09:05:03.042Z");
        let Rendered::Vendor(record) = rendered else {
            unreachable!()
        };
        assert_eq!(record.uid, VendorUid::Kept);
        let (_, _, uid) = gateway_ids("plain", 7);
        assert_eq!(uid, VendorUid::Becomes("013201009876-7".into()));
    }

    #[test]
    fn a_lease_is_a_dhcpack_with_its_duration() {
        let mut lease = event("dhcp", EventClass::Dhcp, Activity::Assign);
        lease.subject.mac = Some("3C-22-FB-00-00-02".into());
        lease.subject.ip = "10.10.1.32".parse().ok();
        lease.until = Some(lease.time.plus_millis(12 * 3_600_000));
        assert_eq!(
            text(&render(&lease)),
            "<30>2026-03-02T09:05:03.042Z dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32 to \
             3c:22:fb:00:00:02 via eth0 lease-duration 43200 offered-duration 43200"
        );
        lease.subject.mac = Some("not a mac".into());
        assert_eq!(render(&lease).adapter(), "ndjson");
    }

    #[test]
    fn a_door_event_is_a_verkada_webhook_with_a_fractional_epoch() {
        let mut badge = event("pacs-hq", EventClass::PhysicalAccess, Activity::DoorUsed);
        badge.subject.badge = Some("4411".into());
        badge.door = Some("hq-main".into());
        let value: Value = serde_json::from_str(&text(&render(&badge))).unwrap();
        assert_eq!(value["data"]["notification_type"], "door_opened");
        assert_eq!(value["data"]["event_id"], "sim-000-0000042");
        assert_eq!(value["data"]["door_id"], "hq-main");
        assert_eq!(value["data"]["input_value"], "4411");
        assert_eq!(value["data"]["created"].to_string(), "1772442303.042");
        badge.activity = Activity::Duress;
        assert_eq!(render(&badge).adapter(), "ndjson");
    }

    #[test]
    fn a_sign_in_to_an_app_is_an_okta_sso_event() {
        let mut signin = event("okta", EventClass::Authentication, Activity::Logon);
        signin.outcome = Outcome::Failure;
        signin.reason = Some("INVALID_CREDENTIALS".into());
        signin.subject.user = Some("carol@example.com".into());
        signin.src.ip = "185.0.0.9".parse().ok();
        signin.src.city = Some("Bucharest".into());
        signin.src.country = Some("Romania".into());
        signin.src.lat = Some(44.43);
        signin.src.lon = Some(26.1);
        signin.app = Some("Microsoft 365".into());
        let rendered = render(&signin);
        let value: Value = serde_json::from_str(&text(&rendered)).unwrap();
        assert_eq!(value["uuid"], "sim-000-0000042");
        assert_eq!(value["eventType"], "user.authentication.sso");
        assert_eq!(value["published"], "2026-03-02T09:05:03.042Z");
        assert_eq!(value["outcome"]["result"], "FAILURE");
        assert_eq!(value["actor"]["alternateId"], "carol@example.com");
        assert_eq!(
            value["client"]["geographicalContext"]["geolocation"]["lon"],
            26.1
        );
        assert_eq!(value["target"][0]["displayName"], "Microsoft 365");
    }

    #[test]
    fn visitors_and_occupancy_name_their_uid_and_topic() {
        let mut visit = event("visitors", EventClass::Visitor, Activity::CheckOut);
        visit.subject.badge = Some("V-00001000".into());
        let Rendered::Vendor(record) = render(&visit) else {
            panic!("not rendered")
        };
        assert_eq!(
            record.uid,
            VendorUid::Becomes("sim-000-0000042-check_out".into())
        );
        let mut count = event("bms", EventClass::Occupancy, Activity::Count);
        count.zone = Some("hq-server".into());
        count.count = Some(2);
        let Rendered::Vendor(record) = render(&count) else {
            panic!("not rendered")
        };
        assert_eq!(record.topic.as_deref(), Some("zigbee2mqtt/hq-server"));
        let payload: Value = serde_json::from_slice(&record.bytes).unwrap();
        assert_eq!(payload["people_count"], 2);
        assert_eq!(payload["last_seen"], "2026-03-02T09:05:03.042Z");
        count.zone = Some("bridge/state".into());
        assert_eq!(render(&count).adapter(), "ndjson");
    }

    #[test]
    fn events_without_a_vendor_format_say_why() {
        let booking = event("rooms", EventClass::Booking, Activity::Booked);
        assert_eq!(
            render(&booking),
            Rendered::Ndjson {
                why: "room bookings have no vendor adapter"
            }
        );
        let early = Event {
            time: Ts(-1),
            ..event("okta", EventClass::Authentication, Activity::Logon)
        };
        assert_eq!(render(&early).adapter(), "ndjson");
        // Only the flow files start with a header line.
        for adapter in ADAPTERS {
            assert_eq!(header(adapter).is_some(), *adapter == NFDUMP, "{adapter}");
        }
    }

    #[test]
    fn macs_in_every_spelling_are_rewritten() {
        for text in [
            "3c:22:fb:00:00:0a",
            "3C-22-FB-00-00-0A",
            "3c22.fb00.000a",
            "3C22FB00000A",
        ] {
            assert_eq!(
                mac_text(text, '-', true).as_deref(),
                Some("3C-22-FB-00-00-0A")
            );
        }
        for text in [
            "3c:22:fb:00:00",
            "3c:22-fb:00:00:0a",
            "zz22fb00000a",
            "ääääää",
        ] {
            assert_eq!(mac_text(text, ':', false), None, "{text}");
        }
    }
}
