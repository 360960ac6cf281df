//! Cisco Meraki syslog, every feed an MX, MR or MS sends:
//!
//! ```text
//! <134>1 <epoch.nanos> <device name> events type=association client_mac='…' …
//! <134>1 <epoch.nanos> <device name> events client_vpn_connect user id '…' local ip … connected from …
//! <134>1 <epoch.nanos> <device name> flows src=… dst=… mac=… protocol=tcp sport=… dport=… pattern: allow all
//! <134>1 <epoch.nanos> <device name> urls src=…:… dst=…:… mac=… request: GET https://…
//! <134>1 <epoch.nanos> <device name> security_event ids_alerted signature=… priority=… … message: …
//! ```
//!
//! The `events` feed holds Wi-Fi sessions, 802.1X, splash pages, client VPN and AnyConnect,
//! DHCP, and the devices' own state (switch ports, uplinks, site-to-site VPN); `flows` (and
//! its successors `firewall`, `vpn_firewall`, `cellular_firewall`,
//! `bridge_anyconnect_client_vpn_firewall`), `ip_flow_start`/`ip_flow_end`, `urls`,
//! `ids-alerts` and `security_event` are network activity; `airmarshal_events` names rogue
//! access points. Meraki's flow records carry no byte counts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog};

const NAME: &str = "meraki";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let header = syslog::header(line).ok_or("not a syslog line")?;
    let time = header.time(ctx)?;
    let (device, rest) = syslog::next_token(header.rest);
    let (feed, body) = syslog::next_token(rest);
    if device.is_empty() || feed.is_empty() {
        return Err("no device name and feed after the Meraki timestamp".to_string());
    }
    let draft = Draft {
        ctx,
        raw,
        line,
        time,
        device,
    };
    match feed {
        "events" => events(&draft, body),
        "flows"
        | "firewall"
        | "vpn_firewall"
        | "cellular_firewall"
        | "bridge_anyconnect_client_vpn_firewall" => flow(&draft, body).map(Read::Event),
        "ip_flow_start" | "ip_flow_end" => ip_flow(&draft, body).map(Read::Event),
        "urls" => url(&draft, body).map(Read::Event),
        "ids-alerts" => ids_alert(&draft, body).map(Read::Event),
        "security_event" => security_event(&draft, body),
        "airmarshal_events" => {
            let pairs = pairs(body)?;
            Ok(Read::Event(rogue_access_point(&draft, &pairs)))
        }
        _ => Ok(Read::Skip("a Meraki feed Seam does not read")),
    }
}

struct Draft<'a> {
    ctx: &'a ParseContext,
    raw: &'a [u8],
    line: &'a str,
    time: Ts,
    /// The device that sent the line, by its name in the dashboard.
    device: &'a str,
}

impl Draft<'_> {
    fn event(&self, class: EventClass, activity: Activity) -> Event {
        let uid = common::digest_uid(NAME, &[self.raw]);
        let mut event = common::new_event(self.ctx, uid, self.time, class, activity);
        event.raw = Some(serde_json::Value::String(self.line.to_string()));
        event
    }
}

// ------------------------------------------------------------------------------- reading

/// `type=association radio='1' client_mac='…'`: values bare or in single quotes (which may
/// hold spaces); `msg= '…'` has a space after the `=`.
fn pairs(body: &str) -> Result<BTreeMap<&str, &str>, String> {
    let mut pairs = BTreeMap::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, value, after) = pair(rest)?;
        pairs.entry(key).or_insert(value);
        rest = after.trim_start();
    }
    Ok(pairs)
}

/// The `key=value` at the start of `text`, and what follows it.
fn pair(text: &str) -> Result<(&str, &str, &str), String> {
    let expected = || {
        format!(
            "expected `key=value` at `{}`",
            crate::timefmt::shorten(text)
        )
    };
    let (key, after) = text.split_once('=').ok_or_else(expected)?;
    if key.is_empty() || key.contains(' ') {
        return Err(expected());
    }
    let after = after.trim_start_matches(' ');
    if let Some(quoted) = after.strip_prefix('\'') {
        let end = quoted
            .find('\'')
            .ok_or_else(|| format!("the value of `{key}` has no closing quote"))?;
        return Ok((
            key,
            quoted.get(..end).unwrap_or_default(),
            quoted.get(end + 1..).unwrap_or_default(),
        ));
    }
    let end = after.find(' ').unwrap_or(after.len());
    Ok((
        key,
        after.get(..end).unwrap_or_default(),
        after.get(end..).unwrap_or_default(),
    ))
}

/// The records of the traffic feeds: `key=value` pairs, bare words (the `allow` or `deny` an
/// access point writes first) and a last part after a word ending in `:` (`pattern: allow
/// all`, `request: GET https://…`, `message: …`) that runs to the end of the line.
#[derive(Debug, Default)]
struct Fields<'a> {
    pairs: BTreeMap<&'a str, &'a str>,
    words: Vec<&'a str>,
    tail: Option<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn read(body: &'a str) -> Result<Fields<'a>, String> {
        let mut fields = Fields::default();
        let mut rest = body.trim_start();
        while !rest.is_empty() {
            let (token, after) = syslog::next_token(rest);
            if let Some(label) = token.strip_suffix(':') {
                fields.tail = Some((label, after.trim()));
                break;
            }
            if token.contains('=') {
                let (key, value, after) = pair(rest)?;
                fields.pairs.entry(key).or_insert(value);
                rest = after.trim_start();
            } else {
                fields.words.push(token);
                rest = after;
            }
        }
        Ok(fields)
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .get(key)
            .copied()
            .filter(|value| !value.is_empty())
    }

    fn tail(&self, label: &str) -> Option<&'a str> {
        self.tail
            .filter(|(found, _)| *found == label)
            .map(|(_, text)| text)
    }
}

/// `10.0.0.1`, `10.0.0.1:443`, `[2001:db8::1]:443` or `2001:db8::1`: the address and port.
fn address_port(text: &str) -> (Option<IpAddr>, Option<u16>) {
    if let Some(address) = common::ip(Some(text)) {
        return (Some(address), None);
    }
    let (address, port) = match text.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once("]:") {
            Some((address, port)) => (address, port),
            None => (bracketed.trim_end_matches(']'), ""),
        },
        None => text.rsplit_once(':').unwrap_or((text, "")),
    };
    (common::ip(Some(address)), port_number(port))
}

/// A port, none for 0.
fn port_number(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|port| *port != 0)
}

/// Meraki's protocol names as flow records name them: `icmp6` is `icmpv6`, `tcp/ip` is `tcp`.
fn protocol(text: &str) -> String {
    let name = text.split('/').next().unwrap_or(text).to_ascii_lowercase();
    match name.as_str() {
        "icmp6" => "icmpv6".to_string(),
        _ => name,
    }
}

/// The common fields of a traffic record: who sent it, to where, over what.
fn traffic(draft: &Draft<'_>, fields: &Fields<'_>) -> Event {
    let mut event = draft.event(EventClass::NetworkActivity, Activity::Traffic);
    let (source, _) = fields.get("src").map_or((None, None), address_port);
    let (destination, destination_port) = fields.get("dst").map_or((None, None), address_port);
    event.subject.ip = source;
    event.src.ip = source;
    event.dst.ip = destination;
    event.dst.port = fields
        .get("dport")
        .and_then(port_number)
        .or(destination_port);
    event.subject.mac = fields
        .get("mac")
        .or_else(|| fields.get("shost"))
        .and_then(common::mac);
    event.app = fields.get("protocol").map(protocol);
    event
}

// ------------------------------------------------------------------------------- traffic

/// A firewall decision on a flow: `pattern: allow all` / `pattern: deny (src …)`, inbound
/// rules `pattern: 0 all` (allow) / `pattern: 1 all` (deny), or an access point's leading
/// `allow` / `deny`. `reason` is the rule as written.
fn flow(draft: &Draft<'_>, body: &str) -> Result<Event, String> {
    let fields = Fields::read(body)?;
    let mut event = traffic(draft, &fields);
    let pattern = fields.tail("pattern");
    let decision = pattern
        .map(|rule| syslog::next_token(rule).0)
        .or_else(|| fields.words.first().copied())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let rule = pattern.unwrap_or_default().to_ascii_lowercase();
    event.outcome = match decision.as_str() {
        "allow" | "0" => Outcome::Success,
        "deny" | "1" => Outcome::Failure,
        _ if rule.contains("deny") => Outcome::Failure,
        _ if rule.contains("allow") => Outcome::Success,
        _ => Outcome::Unknown,
    };
    event.reason = pattern.map(str::to_string);
    Ok(event)
}

/// A NAT flow's start or end (`translated_src_ip` and the like stay in `raw`).
fn ip_flow(draft: &Draft<'_>, body: &str) -> Result<Event, String> {
    let fields = Fields::read(body)?;
    Ok(traffic(draft, &fields))
}

/// An HTTP request: `resource` the URL, `app` = `http`; HTTPS requests are written with the
/// method `UNKNOWN`.
fn url(draft: &Draft<'_>, body: &str) -> Result<Event, String> {
    let fields = Fields::read(body)?;
    let mut event = traffic(draft, &fields);
    event.app = Some("http".to_string());
    let request = fields
        .tail("request")
        .ok_or("a Meraki URL record without its `request:`")?;
    let (_method, url) = syslog::next_token(request);
    event.resource = common::clean(Some(url));
    Ok(event)
}

/// An intrusion detection alert (`ids-alerts`, or `security_event ids_alerted`): `reason`
/// = `ids: <message> (priority N)`, a failure when the appliance blocked the traffic.
fn ids_alert(draft: &Draft<'_>, body: &str) -> Result<Event, String> {
    let fields = Fields::read(body)?;
    let mut event = traffic(draft, &fields);
    let message = fields
        .tail("message")
        .ok_or("a Meraki IDS alert without its `message:`")?;
    event.reason = Some(match fields.get("priority") {
        Some(priority) => format!("ids: {message} (priority {priority})"),
        None => format!("ids: {message}"),
    });
    event.outcome = match fields.get("decision") {
        Some("blocked") => Outcome::Failure,
        Some("allowed") => Outcome::Success,
        _ => Outcome::Unknown,
    };
    Ok(event)
}

fn security_event(draft: &Draft<'_>, body: &str) -> RecordResult {
    let (kind, rest) = syslog::next_token(body);
    match kind {
        "ids_alerted" => ids_alert(draft, rest).map(Read::Event),
        "security_filtering_file_scanned" | "security_filtering_disposition_change" => {
            file_scanned(draft, kind, rest).map(Read::Event)
        }
        _ => Ok(Read::Skip(
            "a Meraki security event type Seam does not read",
        )),
    }
}

/// A file the appliance scanned for malware (or a later verdict on one): `resource` the URL
/// it came from (else its name), a failure when it was blocked, `reason` = `file
/// <disposition>: <name>`. The subject is the client that downloaded it: the destination,
/// whose MAC the record names.
fn file_scanned(draft: &Draft<'_>, kind: &str, body: &str) -> Result<Event, String> {
    let fields = Fields::read(body)?;
    let mut event = traffic(draft, &fields);
    event.subject.ip = event.dst.ip;
    event.resource = fields
        .get("url")
        .or_else(|| fields.get("name"))
        .map(str::to_string);
    let disposition = fields.get("disposition").unwrap_or("unknown");
    let file = fields
        .get("name")
        .or_else(|| fields.get("sha256"))
        .unwrap_or("unnamed");
    event.reason = Some(if kind == "security_filtering_disposition_change" {
        format!("file now {disposition}: {file}")
    } else {
        format!("file {disposition}: {file}")
    });
    event.outcome = match fields.get("action") {
        Some("block") => Outcome::Failure,
        Some("allow") => Outcome::Success,
        _ => Outcome::Unknown,
    };
    Ok(event)
}

/// Air Marshal: an access point seen on the wired network (`rogue_ssid_detected`) or one
/// broadcasting an SSID of the network's own (`ssid_spoofing_detected`). Device inventory of
/// a device that should not be there: `compliant` false, `subject.mac` its BSSID, `ap` the
/// access point that heard it.
fn rogue_access_point(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Event {
    let mut event = draft.event(EventClass::DeviceInventory, Activity::Posture);
    let kind = pairs.get("type").copied().unwrap_or("air_marshal");
    event.subject.mac = ["bssid", "src"]
        .iter()
        .find_map(|key| pairs.get(key).and_then(|mac| common::mac(mac)));
    event.ap = Some(draft.device.to_string());
    event.compliant = Some(false);
    event.reason = Some(match pairs.get("ssid").filter(|ssid| !ssid.is_empty()) {
        Some(ssid) => format!("{kind}: ssid '{ssid}'"),
        None => format!("{kind}: hidden ssid"),
    });
    event
}

// ------------------------------------------------------------------------------- events

fn events(draft: &Draft<'_>, body: &str) -> RecordResult {
    if body.starts_with("type=") {
        let pairs = pairs(body)?;
        return Ok(typed_event(draft, &pairs));
    }
    Ok(free_text(draft, body))
}

/// An 802.1X identity that names a person: not the anonymous outer identity.
fn identity(pairs: &BTreeMap<&str, &str>) -> Option<String> {
    let identity = common::clean(pairs.get("identity").copied())?;
    (!identity.to_ascii_lowercase().starts_with("anonymous")).then_some(identity)
}

fn typed_event(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Read {
    let kind = pairs.get("type").copied().unwrap_or_default();
    let (activity, outcome) = match kind {
        "association"
        | "8021x_auth"
        | "wpa_auth"
        | "8021x_client_auth"
        | "8021x_eap_success"
        | "8021x_guest_auth"
        | "8021x_critical_auth" => (Activity::Connect, Outcome::Success),
        "8021x_eap_failure" | "wpa_auth_failure" => (Activity::Connect, Outcome::Failure),
        "disassociation"
        | "wpa_deauth"
        | "8021x_deauth"
        | "8021x_client_deauth"
        | "wpa_client_deauth" => (Activity::Disconnect, Outcome::Unknown),
        "anyconnect_vpn_session_manager" => return anyconnect_session(draft, pairs),
        "anyconnect_vpn_auth_success" => return anyconnect_auth(draft, pairs, Outcome::Success),
        "anyconnect_vpn_auth_failure" => return anyconnect_auth(draft, pairs, Outcome::Failure),
        "splash_auth" => return Read::Event(splash(draft, pairs)),
        "vpn_connectivity_change" => return Read::Event(site_to_site(draft, pairs)),
        "multiple_dhcp_servers_detected" => return Read::Event(second_dhcp_server(draft, pairs)),
        "rogue_ssid_detected" | "ssid_spoofing_detected" => {
            return Read::Event(rogue_access_point(draft, pairs));
        }
        "dfs_event" => {
            let mut event = draft.event(EventClass::DeviceStatus, Activity::ConfigChange);
            event.asset = Some(draft.device.to_string());
            event.reason = Some(match pairs.get("channel") {
                Some(channel) => format!("radar detected: left channel {channel}"),
                None => "radar detected".to_string(),
            });
            return Read::Event(event);
        }
        "martian_vlan" => return unexpected_vlan(draft, pairs),
        "aps_association_reject" => {
            return Read::Skip("a Meraki load-balancing notice that names no client");
        }
        _ => return Read::Skip("a Meraki event type Seam does not read"),
    };
    let mut event = draft.event(EventClass::NetworkSession, activity);
    event.outcome = outcome;
    event.medium = Some(Medium::Wifi);
    event.ap = Some(draft.device.to_string());
    event.subject.mac = pairs.get("client_mac").and_then(|mac| common::mac(mac));
    event.subject.ip = ["client_ip", "last_known_client_ip", "ip_src"]
        .iter()
        .find_map(|key| common::ip(pairs.get(key).copied()));
    event.subject.user = identity(pairs);
    if activity == Activity::Disconnect {
        event.reason = pairs
            .get("reason")
            .map(|code| format!("802.11 reason {code}"));
    }
    Read::Event(event)
}

/// A client through the splash page: a connect, valid for `duration` seconds (`until`). An
/// access point writes `wired_vlan='-1'`: Wi-Fi from that access point; otherwise wired.
fn splash(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Event {
    let mut event = draft.event(EventClass::NetworkSession, Activity::Connect);
    event.outcome = Outcome::Success;
    event.subject.mac = ["mac", "client_mac"]
        .iter()
        .find_map(|key| pairs.get(key).and_then(|mac| common::mac(mac)));
    event.subject.ip = common::ip(pairs.get("client_ip").copied());
    match pairs.get("wired_vlan").copied() {
        None | Some("-1") => {
            event.medium = Some(Medium::Wifi);
            event.ap = Some(draft.device.to_string());
        }
        Some(_) => event.medium = Some(Medium::Wired),
    }
    event.until = pairs
        .get("duration")
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .filter(|seconds| *seconds > 0)
        .and_then(|seconds| seconds.checked_mul(1000))
        .map(|millis| draft.time.plus_millis(millis));
    event.reason = Some("splash page".to_string());
    event
}

/// An Auto VPN (site-to-site) tunnel coming up (`connectivity='true'`) or going down: a VPN
/// session of the appliance with its peer (`dst`), `app` the VPN type.
fn site_to_site(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Event {
    let up = pairs.get("connectivity").copied() == Some("true");
    let activity = if up {
        Activity::Connect
    } else {
        Activity::Disconnect
    };
    let mut event = draft.event(EventClass::NetworkSession, activity);
    if up {
        event.outcome = Outcome::Success;
    }
    event.medium = Some(Medium::Vpn);
    event.asset = Some(draft.device.to_string());
    let (peer, port) = pairs
        .get("peer_contact")
        .map_or((None, None), |contact| address_port(contact));
    event.dst.ip = peer;
    event.dst.port = port;
    event.app = pairs.get("vpn_type").map(|kind| kind.to_string());
    event
}

/// A second DHCP server answering on the network: device inventory of a server that should
/// not be there (`compliant` false).
fn second_dhcp_server(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Event {
    let mut event = draft.event(EventClass::DeviceInventory, Activity::Posture);
    event.subject.ip = common::ip(pairs.get("server_ip").copied());
    event.subject.mac = pairs.get("server_mac").and_then(|mac| common::mac(mac));
    event.asset = Some(draft.device.to_string());
    event.compliant = Some(false);
    event.reason = Some(match pairs.get("original_server_ip") {
        Some(original) => format!("another DHCP server besides {original}"),
        None => "another DHCP server".to_string(),
    });
    event
}

/// A client sending on a VLAN it does not belong to.
fn unexpected_vlan(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Read {
    let ip = common::ip(pairs.get("Client").copied());
    let mac = pairs.get("MAC").and_then(|mac| common::mac(mac));
    if ip.is_none() && mac.is_none() {
        return Read::Skip("a Meraki summary of unexpected packets that names no client");
    }
    let mut event = draft.event(EventClass::NetworkActivity, Activity::Traffic);
    event.subject.ip = ip;
    event.src.ip = ip;
    event.subject.mac = mac;
    event.asset = Some(draft.device.to_string());
    event.reason = Some(match (pairs.get("VLAN"), pairs.get("details")) {
        (Some(vlan), Some(details)) => format!("unexpected VLAN {vlan}: {details}"),
        (Some(vlan), None) => format!("unexpected VLAN {vlan}"),
        (None, _) => "unexpected VLAN".to_string(),
    });
    Read::Event(event)
}

/// `msg= 'Sess-ID[369] Peer IP=… User[name]: Session disconnected. … Reason: …'`; the
/// tunnels added and deleted within a session are skipped.
fn anyconnect_session(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>) -> Read {
    let message = pairs.get("msg").copied().unwrap_or_default();
    if !message.contains("Session disconnected") {
        return Read::Skip(
            "an AnyConnect tunnel detail (the session's connect and disconnect are read)",
        );
    }
    let mut event = draft.event(EventClass::NetworkSession, Activity::Disconnect);
    event.medium = Some(Medium::Vpn);
    event.subject.user = between(message, "User[", "]").and_then(|user| common::clean(Some(user)));
    event.src.ip = between(message, "Peer IP=", " ").and_then(|ip| common::ip(Some(ip)));
    event.reason = message
        .split_once("Reason: ")
        .and_then(|(_, reason)| common::clean(Some(reason)));
    Read::Event(event)
}

/// `msg= 'RADIUS[511] Server IP=… Server port=1812 Peer IP=… Peer port=… User=name:
/// Authentication request accepted.'`: an AnyConnect sign-in.
fn anyconnect_auth(draft: &Draft<'_>, pairs: &BTreeMap<&str, &str>, outcome: Outcome) -> Read {
    let message = pairs.get("msg").copied().unwrap_or_default();
    let mut event = draft.event(EventClass::Authentication, Activity::Logon);
    event.outcome = outcome;
    event.app = Some("anyconnect".to_string());
    event.asset = Some(draft.device.to_string());
    event.subject.user = between(message, "User=", ":").and_then(|user| common::clean(Some(user)));
    event.src.ip = between(message, "Peer IP=", " ").and_then(|ip| common::ip(Some(ip)));
    if outcome == Outcome::Failure {
        event.reason = message
            .split_once("User=")
            .and_then(|(_, after)| after.split_once(": "))
            .and_then(|(_, reason)| common::clean(Some(reason.trim().trim_end_matches('.'))));
    }
    Read::Event(event)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, after) = text.split_once(start)?;
    Some(after.split_once(end).map_or(after, |(inside, _)| inside))
}

/// The free-text events: client VPN sessions, DHCP, switch ports, uplinks, ARP inspection.
fn free_text(draft: &Draft<'_>, body: &str) -> Read {
    let (kind, rest) = syslog::next_token(body);
    let event = match kind {
        "client_vpn_connect" | "anyconnect_vpn_connect" => vpn(draft, rest, Activity::Connect),
        "client_vpn_disconnect" | "anyconnect_vpn_disconnect" => {
            vpn(draft, rest, Activity::Disconnect)
        }
        "dhcp" if rest.starts_with("lease of ip ") => dhcp_lease(draft, rest),
        "dhcp" if rest.starts_with("no offers") => dhcp_no_offer(draft, rest),
        "carrier_change" => carrier_change(draft, rest),
        "Site-to-Site" => {
            return Read::Skip(
                "a site-to-site VPN negotiation step (vpn_connectivity_change carries the tunnel's state)",
            );
        }
        _ if kind.eq_ignore_ascii_case("port") => switch_port(draft, body),
        "Cellular" | "failover" => uplink(draft, body),
        "Blocked" if rest.starts_with("ARP Packet") => blocked_arp(draft, body),
        _ => None,
    };
    event.map_or(
        Read::Skip("a Meraki free-text event Seam does not read"),
        Read::Event,
    )
}

/// `user id 'alice@example.com' local ip 10.99.0.41 connected from 192.0.2.60`
fn vpn(draft: &Draft<'_>, rest: &str, activity: Activity) -> Option<Event> {
    let mut event = draft.event(EventClass::NetworkSession, activity);
    event.medium = Some(Medium::Vpn);
    if activity == Activity::Connect {
        event.outcome = Outcome::Success;
    }
    event.subject.user = between(rest, "user id '", "'").and_then(|user| common::clean(Some(user)));
    event.subject.ip = between(rest, "local ip ", " ").and_then(|ip| common::ip(Some(ip)));
    event.src.ip = rest
        .split_once(" from ")
        .and_then(|(_, from)| common::ip(Some(syslog::next_token(from).0)));
    Some(event)
}

/// `lease of ip 10.0.2.213 from mx mac … for client mac E0:CB:… from router … on subnet …`
fn dhcp_lease(draft: &Draft<'_>, rest: &str) -> Option<Event> {
    let mut event = draft.event(EventClass::Dhcp, Activity::Assign);
    event.subject.ip = between(rest, "lease of ip ", " ").and_then(|ip| common::ip(Some(ip)));
    event.subject.mac = between(rest, "for client mac ", " ").and_then(common::mac);
    Some(event)
}

/// `no offers for mac A4:83:E7:… host = 192.168.10.1`: no server answered the client.
fn dhcp_no_offer(draft: &Draft<'_>, rest: &str) -> Option<Event> {
    let mut event = draft.event(EventClass::Dhcp, Activity::Assign);
    event.outcome = Outcome::Failure;
    event.subject.mac = between(rest, "for mac ", " ").and_then(common::mac);
    event.reason = Some("no DHCP offer".to_string());
    Some(event)
}

/// `port 4 status changed from 100fdx to down`, `Port 4 changed STP role from designated to
/// disabled`: a switch port going down (offline), coming up (online) or changing otherwise.
fn switch_port(draft: &Draft<'_>, text: &str) -> Option<Event> {
    let (_, rest) = syslog::next_token(text);
    let (port, rest) = syslog::next_token(rest);
    if port.is_empty() {
        return None;
    }
    let activity = match rest
        .strip_prefix("status changed from ")
        .and_then(|change| change.split_once(" to "))
    {
        Some((_, "down")) => Activity::Offline,
        Some(("down", _)) => Activity::Online,
        _ => Activity::ConfigChange,
    };
    let mut event = draft.event(EventClass::DeviceStatus, activity);
    event.asset = Some(draft.device.to_string());
    event.switch_port = Some(format!("{}:{port}", draft.device));
    event.reason = Some(text.to_string());
    Some(event)
}

/// `carrier_change device port1 up true`: an appliance's uplink port gaining or losing its
/// link.
fn carrier_change(draft: &Draft<'_>, rest: &str) -> Option<Event> {
    let (_device, rest) = syslog::next_token(rest);
    let (port, rest) = syslog::next_token(rest);
    let up = match rest {
        "up true" => true,
        "up false" => false,
        _ => return None,
    };
    let activity = if up {
        Activity::Online
    } else {
        Activity::Offline
    };
    let mut event = draft.event(EventClass::DeviceStatus, activity);
    event.asset = Some(draft.device.to_string());
    event.reason = Some(format!("{port} carrier {}", if up { "up" } else { "down" }));
    Some(event)
}

/// `Cellular connection down` / `up`, `failover to wan1`: an appliance's uplinks.
fn uplink(draft: &Draft<'_>, text: &str) -> Option<Event> {
    let activity = if text.ends_with(" down") {
        Activity::Offline
    } else if text.ends_with(" up") {
        Activity::Online
    } else {
        Activity::ConfigChange
    };
    let mut event = draft.event(EventClass::DeviceStatus, activity);
    event.asset = Some(draft.device.to_string());
    event.reason = Some(text.to_string());
    Some(event)
}

/// `Blocked ARP Packet from ab:01:… with IP 10.0.0.9 on VLAN 123`: a switch's ARP inspection
/// dropping a client's packet.
fn blocked_arp(draft: &Draft<'_>, text: &str) -> Option<Event> {
    let mut event = draft.event(EventClass::NetworkActivity, Activity::Traffic);
    event.outcome = Outcome::Failure;
    event.subject.mac = between(text, "ARP Packet from ", " ").and_then(common::mac);
    event.subject.ip = between(text, " with IP ", " ").and_then(|ip| common::ip(Some(ip)));
    event.src.ip = event.subject.ip;
    event.asset = Some(draft.device.to_string());
    event.reason = Some(text.to_string());
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_quotes_spaces_and_bare_values() {
        let parsed =
            pairs("type=anyconnect_vpn_session_manager msg= 'Sess-ID[1] User[a b]: x' radio=1")
                .unwrap();
        assert_eq!(parsed["type"], "anyconnect_vpn_session_manager");
        assert_eq!(parsed["msg"], "Sess-ID[1] User[a b]: x");
        assert_eq!(parsed["radio"], "1");
        assert!(pairs("type=x client_mac='unclosed").is_err());
        assert!(pairs("type=x stray").is_err());
    }

    #[test]
    fn traffic_fields_words_and_the_tail() {
        let fields = Fields::read(
            "allow src=10.0.0.1 dst=10.0.0.2 mac=00:11:22:33:44:55 agent='Mozilla/5.0 (X11)' request: GET https://example.com/a b",
        )
        .unwrap();
        assert_eq!(fields.words, ["allow"]);
        assert_eq!(fields.get("agent"), Some("Mozilla/5.0 (X11)"));
        assert_eq!(fields.tail("request"), Some("GET https://example.com/a b"));
        assert!(Fields::read("src='open").is_err());
    }

    #[test]
    fn addresses_with_and_without_ports() {
        assert_eq!(
            address_port("10.0.0.1:443"),
            ("10.0.0.1".parse().ok(), Some(443))
        );
        assert_eq!(address_port("10.0.0.1"), ("10.0.0.1".parse().ok(), None));
        assert_eq!(
            address_port("[2001:db8::1]:80"),
            ("2001:db8::1".parse().ok(), Some(80))
        );
        assert_eq!(
            address_port("2001:db8::1"),
            ("2001:db8::1".parse().ok(), None)
        );
        assert_eq!(address_port("garbage"), (None, None));
    }

    #[test]
    fn unknown_feeds_are_skipped_and_garbage_rejected() {
        let ctx = ParseContext::new("meraki", Ts(1_772_442_000_000));
        let batch = parse(
            b"<134>1 1772437800.1 hq-mx telemetry cpu=5\n\
              <134>1 1772437800.1\n\
              hello\n",
            &ctx,
        );
        assert_eq!(
            batch.skip_reasons.get("a Meraki feed Seam does not read"),
            Some(&1)
        );
        assert_eq!(
            batch
                .rejected
                .iter()
                .map(|r| (r.index, r.reason.as_str()))
                .collect::<Vec<_>>(),
            [
                (2, "no device name and feed after the Meraki timestamp"),
                (3, "not a syslog line")
            ]
        );
    }
}
