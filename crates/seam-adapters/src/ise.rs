//! Cisco ISE remote syslog, one message per line:
//!
//! ```text
//! <PRI>Mmm dd hh:mm:ss host CISE_<Category> <msg id> <segments> <segment> YYYY-MM-DD hh:mm:ss.ffffff ±hh:mm <seq> <code> <severity> <Class>: <text>, key=value, key=value, …
//! <PRI>Mmm dd hh:mm:ss host CISE_Alarm <SEVERITY>: <alarm name>: Key=value; Key=value
//! ```
//!
//! Every category that reports something that happened becomes an event of the class that
//! fits (network sessions, sign-ins to ISE, the network devices and the guest portals,
//! configuration changes, posture and profiles, ISE's own operations and alarms); the
//! diagnostics and statistics categories, which only retell what another category reports or
//! describe ISE's own health, are skipped, each with its reason.
//!
//! ISE splits a long message into segments; only the first carries the header, so later
//! segments are skipped (set the remote target's maximum length high enough to keep a
//! message whole: 8192 is ISE's maximum).

use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};

use crate::common::{self, Read, RecordResult};
use crate::{Batch, ParseContext, syslog, timefmt};

const NAME: &str = "ise";

pub(crate) fn parse(input: &[u8], ctx: &ParseContext) -> Batch {
    common::parse_lines(input, ctx, |line, raw| parse_line(line, raw, ctx))
}

// ------------------------------------------------------------------------------- the message

/// The first segment of an ISE message, after the syslog header.
#[derive(Debug)]
struct Message<'a> {
    /// The ISE node that sent it (the syslog host), when the header names one.
    host: Option<&'a str>,
    time: Ts,
    /// The message code of ISE's catalog (`5200`, `51001`, `3002`).
    code: Option<u32>,
    severity: &'a str,
    /// The message class before the text: `Passed-Authentication`, `Administrator-Login`.
    class: &'a str,
    /// The message text: `Authentication succeeded`.
    text: String,
    pairs: Vec<(String, String)>,
}

impl Message<'_> {
    /// The first non-empty value of `key`.
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.trim())
            .find(|value| !value.is_empty())
    }

    /// The first non-empty value of any of `keys`, in their order.
    fn first(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|key| self.get(key))
    }

    /// A `cisco-av-pair` value: `cisco-av-pair=mdm-tlv=device-mac=…` holds `device-mac`.
    fn av_pair(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find_map(|(key, value)| {
            if key != "cisco-av-pair" {
                return None;
            }
            let value = value.strip_prefix("mdm-tlv=").unwrap_or(value);
            let (pair_name, pair_value) = value.split_once('=')?;
            (pair_name == name).then_some(pair_value.trim())
        })
    }

    /// `<class>: <text>` as ISE writes it, for a `reason`.
    fn summary(&self) -> String {
        match (self.class.is_empty(), self.text.is_empty()) {
            (false, false) => format!("{}: {}", self.class, self.text),
            (false, true) => self.class.to_string(),
            _ => self.text.clone(),
        }
    }

    /// The ISE node's short name, lowercase (`ise01` of `ise01.example.com`); an address as
    /// written.
    fn node(&self) -> Option<String> {
        let host = self.get("AcsInstance").or(self.host)?;
        if common::ip(Some(host)).is_some() {
            return Some(host.to_string());
        }
        let short = host.split('.').next().unwrap_or(host).to_ascii_lowercase();
        (!short.is_empty()).then_some(short)
    }

    /// The `FailureFlag` ISE writes on audit records: true is a failure.
    fn failure_flag(&self) -> Option<bool> {
        match self.get("FailureFlag")? {
            flag if flag.eq_ignore_ascii_case("true") => Some(true),
            flag if flag.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

/// Where the category token is: the host before it (a relay may have dropped it) and what
/// follows it.
fn locate(rest: &str) -> Result<(Option<&str>, &str, &str), String> {
    let mut host = None;
    let mut rest = rest;
    loop {
        let (token, after) = syslog::next_token(rest);
        if token.is_empty() {
            return Err("no `CISE_` category: not a Cisco ISE message".to_string());
        }
        if token.starts_with("CISE_") {
            return Ok((host, token, after));
        }
        host = Some(token);
        rest = after;
    }
}

/// The message after the category; `Ok(None)` for a continuation segment.
fn split_message<'a>(host: Option<&'a str>, rest: &'a str) -> Result<Option<Message<'a>>, String> {
    // RFC 5424's nil PROCID, MSGID and structured data.
    let mut rest = rest;
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start();
    }
    let (_message_id, rest) = syslog::next_token(rest);
    let (_segments, rest) = syslog::next_token(rest);
    let (segment, rest) = syslog::next_token(rest);
    if segment != "0" {
        if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "segment number `{}` is not a number",
                timefmt::shorten(segment)
            ));
        }
        return Ok(None);
    }
    let (date, rest) = syslog::next_token(rest);
    let (clock, rest) = syslog::next_token(rest);
    let (offset, rest) = syslog::next_token(rest);
    let civil = timefmt::civil(&format!("{date} {clock}"))?;
    let offset = timefmt::offset(offset).ok_or_else(|| {
        format!(
            "invalid offset `{}` after the ISE timestamp",
            timefmt::shorten(offset)
        )
    })?;
    let time = offset
        .to_timestamp(civil)
        .map(|timestamp| Ts(timestamp.as_millisecond()))
        .map_err(|error| error.to_string())?;
    let (_sequence, rest) = syslog::next_token(rest);
    let (code, rest) = syslog::next_token(rest);
    let (severity, rest) = syslog::next_token(rest);
    // `Class: text, key=value, …`
    let (class, body) = rest
        .split_once(": ")
        .ok_or("no `Class: text` part after the ISE header")?;
    let mut items = split_items(body).into_iter().peekable();
    // The text comes first; a message without one starts with its pairs.
    let text = match items.peek() {
        Some(first) if !first.contains('=') => items.next().unwrap_or_default(),
        _ => String::new(),
    };
    let mut pairs = Vec::new();
    for item in items {
        if let Some((key, value)) = item.split_once('=')
            && !key.is_empty()
        {
            pairs.push((key.trim().to_string(), value.to_string()));
        }
    }
    Ok(Some(Message {
        host,
        time,
        code: code.parse().ok(),
        severity,
        class: class.trim(),
        text,
        pairs,
    }))
}

/// Splits `a=1, b=2\, still b, c={x; y, z}` at the commas ISE writes between pairs: a
/// backslash escapes a comma, braces hold commas of their own.
fn split_items(body: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current).trim().to_string());
            }
            _ => current.push(c),
        }
    }
    let last = current.trim();
    if !last.is_empty() {
        items.push(last.to_string());
    }
    items
}

// ------------------------------------------------------------------------------- dispatch

/// The categories that only retell what another category reports (the steps of an
/// authentication logged whole in Passed Authentications and Failed Attempts) or describe
/// ISE's own health, with the reason each is skipped.
fn skipped_category(category: &str) -> Option<&'static str> {
    Some(match category {
        "CISE_System_Statistics" => "ISE system statistics (load, memory, counters)",
        "CISE_Internal_Operations_Diagnostics" => "ISE internal operations diagnostics",
        "CISE_RADIUS_Diagnostics" => {
            "ISE RADIUS diagnostics (the outcome is in Passed Authentications and Failed Attempts)"
        }
        "CISE_Authentication_Flow_Diagnostics" => {
            "ISE authentication flow diagnostics (the outcome is in Passed Authentications and Failed Attempts)"
        }
        "CISE_Identity_Stores_Diagnostics" => {
            "ISE identity store diagnostics (the outcome is in Passed Authentications and Failed Attempts)"
        }
        "CISE_Policy_Diagnostics" => {
            "ISE policy diagnostics (the outcome is in Passed Authentications and Failed Attempts)"
        }
        "CISE_TACACS_Diagnostics" => {
            "ISE TACACS+ diagnostics (the outcome is in Passed Authentications and Failed Attempts)"
        }
        "CISE_AD_Connector" => "ISE Active Directory connector diagnostics",
        "CISE_Distributed_Management" => "ISE deployment diagnostics between its nodes",
        "CISE_Monitoring_Data_Purge_Audit" => "ISE monitoring data purges",
        _ => return None,
    })
}

const UNKNOWN_CATEGORY: &str = "an ISE message category Seam does not read";

fn parse_line(line: &str, raw: &[u8], ctx: &ParseContext) -> RecordResult {
    let header = syslog::header(line).ok_or("not a syslog line")?;
    let (host, category, rest) = locate(header.rest)?;
    let draft = Draft { ctx, raw, line };
    if category == "CISE_Alarm" {
        return alarm(&draft, host, rest, header.time(ctx)?);
    }
    let Some(message) = split_message(host, rest)? else {
        return Ok(Read::Skip(
            "a continuation segment of a multi-part ISE message",
        ));
    };
    if let Some(reason) = skipped_category(category) {
        return Ok(Read::Skip(reason));
    }
    let event = match category {
        "CISE_RADIUS_Accounting" => return radius_accounting(&draft, &message),
        "CISE_Passed_Authentications" => authentication(&draft, &message, Outcome::Success),
        "CISE_Failed_Attempts" => authentication(&draft, &message, Outcome::Failure),
        "CISE_Administrative_and_Operational_Audit" => administration(&draft, &message),
        "CISE_MyDevices" => portal_sign_in(&draft, &message, "ise-mydevices"),
        "CISE_Guest" => guest(&draft, &message),
        "CISE_Posture_and_Client_Provisioning_Audit" => posture(&draft, &message),
        "CISE_Posture_and_Client_Provisioning_Diagnostics" => {
            if posture_status(&message).is_none() {
                return Ok(Read::Skip(
                    "ISE posture and client provisioning diagnostics without a posture status",
                ));
            }
            posture(&draft, &message)
        }
        "CISE_Profiler" => profiler(&draft, &message),
        "CISE_TACACS_Accounting" => tacacs_accounting(&draft, &message),
        "CISE_Threat_Centric_NAC" => notice(&draft, &message),
        _ => return Ok(Read::Skip(UNKNOWN_CATEGORY)),
    };
    Ok(Read::Event(event))
}

struct Draft<'a> {
    ctx: &'a ParseContext,
    raw: &'a [u8],
    line: &'a str,
}

impl Draft<'_> {
    fn event(&self, time: Ts, class: EventClass, activity: Activity) -> Event {
        let uid = common::digest_uid(NAME, &[self.raw]);
        let mut event = common::new_event(self.ctx, uid, time, class, activity);
        event.raw = Some(serde_json::Value::String(self.line.to_string()));
        event
    }
}

// ------------------------------------------------------------------------------- network sessions

fn radius_accounting(draft: &Draft<'_>, message: &Message<'_>) -> RecordResult {
    let status = message.get("Acct-Status-Type").unwrap_or_default();
    let (activity, outcome) = match status {
        "Start" => (Activity::Connect, Outcome::Success),
        "Stop" => (Activity::Disconnect, Outcome::Unknown),
        // The session is still up, which its start already said: as a connect, every rule on
        // connects would fire again every few minutes for as long as the session lasts.
        "Interim-Update" | "Watchdog" => {
            return Ok(Read::Skip(
                "interim accounting update: the session was reported at its start",
            ));
        }
        "Tunnel-Start" | "Tunnel-Link-Start" => (Activity::Connect, Outcome::Success),
        "Tunnel-Stop" | "Tunnel-Link-Stop" => (Activity::Disconnect, Outcome::Unknown),
        "Tunnel-Reject" | "Tunnel-Link-Reject" => (Activity::Connect, Outcome::Failure),
        "Accounting-On" | "Accounting-Off" => {
            return Ok(Read::Event(accounting_on_off(
                draft,
                message,
                status == "Accounting-On",
            )));
        }
        _ => {
            return Ok(Read::Skip(
                "RADIUS accounting without a status type Seam knows",
            ));
        }
    };
    let mut event = network_session(draft, message, activity, outcome);
    if status.starts_with("Tunnel") && event.medium.is_none() {
        event.medium = Some(Medium::Vpn);
    }
    if activity == Activity::Disconnect {
        event.reason = message.get("Acct-Terminate-Cause").map(str::to_string);
    }
    Ok(Read::Event(event))
}

/// A network device's accounting restarting (`Accounting-On`, after it booted) or stopping
/// (`Accounting-Off`, before it goes down): the device is online or offline.
fn accounting_on_off(draft: &Draft<'_>, message: &Message<'_>, on: bool) -> Event {
    let activity = if on {
        Activity::Online
    } else {
        Activity::Offline
    };
    let mut event = draft.event(message.time, EventClass::DeviceStatus, activity);
    event.asset = message
        .first(&["NetworkDeviceName", "NAS-Identifier", "NAS-IP-Address"])
        .map(str::to_string);
    event.reason = Some(if on {
        "RADIUS accounting on".to_string()
    } else {
        "RADIUS accounting off".to_string()
    });
    event
}

/// Passed Authentications and Failed Attempts: network access by default; the guest portal's,
/// device administration's (TACACS+) and ISE's own RADIUS notices by their class.
fn authentication(draft: &Draft<'_>, message: &Message<'_>, outcome: Outcome) -> Event {
    match message.class {
        "Guest" => {
            let mut event = portal_event(draft, message, Activity::Logon, "ise-guest");
            event.outcome = outcome;
            if outcome == Outcome::Failure {
                event.reason = message.get("FailureReason").map(str::to_string);
            }
            event
        }
        "Device-Administration" => device_administration(draft, message, outcome),
        // A notice of ISE's RADIUS service that names no endpoint (`NAS problem was fixed`).
        "RADIUS" if endpoint_named(message).is_none() => notice(draft, message),
        _ => network_session(draft, message, Activity::Connect, outcome),
    }
}

/// Whether the message names a client: a user, or a calling station.
fn endpoint_named<'m>(message: &'m Message<'_>) -> Option<&'m str> {
    message.first(&[
        "User-Name",
        "UserName",
        "Calling-Station-ID",
        "EndPointMACAddress",
    ])
}

fn network_session(
    draft: &Draft<'_>,
    message: &Message<'_>,
    activity: Activity,
    outcome: Outcome,
) -> Event {
    let mut out = draft.event(message.time, EventClass::NetworkSession, activity);
    out.outcome = outcome;
    out.medium = medium(message);
    if outcome == Outcome::Failure {
        out.reason = message.get("FailureReason").map(str::to_string);
    }
    let calling = message.get("Calling-Station-ID");
    out.subject.mac = calling
        .and_then(common::mac)
        .or_else(|| message.get("EndPointMACAddress").and_then(common::mac))
        .or_else(|| message.av_pair("device-mac").and_then(common::mac));
    out.subject.ip = common::ip(message.get("Framed-IP-Address"));
    let user_name = message
        .first(&["User-Name", "UserName"])
        // A network device fetching its TrustSec data is no user.
        .filter(|name| *name != "#CTSREQUEST#");
    match user_name {
        // Machine authentication: `host/<name>[.domain]`.
        Some(name) if name.starts_with("host/") => {
            let host = name.trim_start_matches("host/");
            let host = host.split('.').next().unwrap_or(host);
            out.subject.device = common::clean(Some(host));
        }
        // MAB sends the MAC as the user name.
        Some(name) if common::mac(name).is_some() => {}
        Some(name) => {
            let resolved = message
                .get("AD-User-Resolved-Identities")
                .filter(|identity| identity.contains('@'));
            out.subject.user = common::clean(Some(resolved.unwrap_or(name)));
        }
        None => {}
    }
    match out.medium {
        Some(Medium::Wired) => {
            if let (Some(device), Some(port)) =
                (message.get("NetworkDeviceName"), message.get("NAS-Port-Id"))
            {
                out.switch_port = Some(format!("{device}:{}", short_interface(port)));
            }
        }
        Some(Medium::Wifi) => {
            // `AA-BB-CC-DD-EE-FF:SSID`: the AP radio's MAC, then the SSID.
            out.ap = message
                .get("Called-Station-ID")
                .and_then(|called| called.get(..17))
                .and_then(common::mac);
        }
        Some(Medium::Vpn) => {
            // The client's public address.
            out.src.ip = calling.and_then(|text| common::ip(Some(text))).or_else(|| {
                message
                    .get("Tunnel-Client-Endpoint")
                    .map(|text| text.trim_start_matches("(tag=0)"))
                    .and_then(|text| common::ip(Some(text)))
            });
        }
        None => {}
    }
    out.compliant = compliance(message.get("PostureAssessmentStatus"));
    out
}

/// How the client reached the network: NAS-Port-Type first, then ISE's flow type.
fn medium(message: &Message<'_>) -> Option<Medium> {
    if message.get("ASA VPN") == Some("true") {
        return Some(Medium::Vpn);
    }
    match message.get("NAS-Port-Type") {
        Some(kind) if kind.starts_with("Ethernet") => return Some(Medium::Wired),
        Some(kind) if kind.starts_with("Wireless") => return Some(Medium::Wifi),
        Some("Virtual") => return Some(Medium::Vpn),
        _ => {}
    }
    match message.get("RadiusFlowType") {
        Some(flow) if flow.starts_with("Wired") => Some(Medium::Wired),
        Some(flow) if flow.starts_with("Wireless") => Some(Medium::Wifi),
        _ => None,
    }
}

/// `Compliant` / `NonCompliant`; ISE's other states (`Pending`, `Unknown`, `NotApplicable`)
/// say nothing.
fn compliance(status: Option<&str>) -> Option<bool> {
    match status? {
        "Compliant" => Some(true),
        "NonCompliant" | "Non-Compliant" => Some(false),
        _ => None,
    }
}

/// `GigabitEthernet1/0/7` → `Gi1/0/7`, the form switch configurations and the estate use.
fn short_interface(port: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("hundredgige", "Hu"),
        ("fortygigabitethernet", "Fo"),
        ("twentyfivegige", "Twe"),
        ("tengigabitethernet", "Te"),
        ("twogigabitethernet", "Tw"),
        ("fivegigabitethernet", "Fi"),
        ("gigabitethernet", "Gi"),
        ("fastethernet", "Fa"),
    ];
    let lower = port.to_ascii_lowercase();
    for (long, short) in NAMES {
        if let Some(rest) = lower.strip_prefix(long)
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            let number = port.get(long.len()..).unwrap_or(rest);
            return format!("{short}{number}");
        }
    }
    port.to_string()
}

// ------------------------------------------------------------------------------- sign-ins

/// Administration of a network device through ISE (TACACS+): an authentication is a sign-in
/// to the device; command and session authorizations are other steps.
fn device_administration(draft: &Draft<'_>, message: &Message<'_>, outcome: Outcome) -> Event {
    let text = message.text.to_ascii_lowercase();
    let activity = if text.contains("authorization") {
        Activity::AuthOther
    } else {
        Activity::Logon
    };
    let mut event = tacacs_event(draft, message, activity);
    event.outcome = outcome;
    event.reason = match outcome {
        Outcome::Failure => message.get("FailureReason").map(str::to_string),
        _ if activity == Activity::AuthOther => command(message)
            .map(|command| format!("command: {command}"))
            .or_else(|| Some(message.text.clone()).filter(|text| !text.is_empty())),
        _ => None,
    };
    event
}

/// The common fields of a TACACS+ record: the administrator, where from, the device.
fn tacacs_event(draft: &Draft<'_>, message: &Message<'_>, activity: Activity) -> Event {
    let mut event = draft.event(message.time, EventClass::Authentication, activity);
    event.app = Some("tacacs".to_string());
    event.subject.user = common::clean(message.first(&["User", "UserName", "User-Name"]));
    event.src.ip = common::ip(message.get("Remote-Address"));
    event.asset = message.get("NetworkDeviceName").map(str::to_string);
    event.dst.ip = common::ip(message.get("Device IP Address"));
    event.privileged = message.get("Privilege-Level") == Some("15");
    event
}

/// `CmdSet=[ CmdAV=show running-config <cr> ]` → `show running-config`.
fn command<'m>(message: &'m Message<'_>) -> Option<&'m str> {
    let set = message.get("CmdSet")?;
    let inner = set.trim_start_matches('[').trim_end_matches(']').trim();
    let inner = inner.strip_prefix("CmdAV=").unwrap_or(inner);
    let inner = inner.trim().trim_end_matches("<cr>").trim();
    (!inner.is_empty()).then_some(inner)
}

/// TACACS+ accounting of device administration: a session's start and stop, and each command.
fn tacacs_accounting(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let text = message.text.to_ascii_lowercase();
    let flags = message.get("AcctRequest-Flags").unwrap_or_default();
    let activity = match message.code {
        Some(3300) => Activity::AuthOther,
        Some(3301) => Activity::Logon,
        Some(3302) => Activity::Logoff,
        _ if text.contains("command") || message.get("CmdSet").is_some() => Activity::AuthOther,
        _ if text.contains("start") || flags.eq_ignore_ascii_case("start") => Activity::Logon,
        _ if text.contains("stop") || flags.eq_ignore_ascii_case("stop") => Activity::Logoff,
        _ => Activity::AuthOther,
    };
    let mut event = tacacs_event(draft, message, activity);
    match activity {
        Activity::Logon | Activity::AuthOther => event.outcome = Outcome::Success,
        _ => {}
    }
    if activity == Activity::AuthOther {
        event.reason = Some(match command(message) {
            Some(command) => format!("command: {command}"),
            None => message.summary(),
        });
    }
    event
}

/// ISE's administration audit: administrators signing in to ISE (GUI or CLI), configuration
/// changes, the My Devices portal, and ISE's own operations (backups, restarts, feeds).
fn administration(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    match message.class {
        "Administrator-Login" => administrator_sign_in(draft, message),
        "Configuration-Changes" => configuration_change(draft, message),
        "MyDevices" => portal_sign_in(draft, message, "ise-mydevices"),
        _ => notice(draft, message),
    }
}

fn administrator_sign_in(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let text = message.text.to_ascii_lowercase();
    let (activity, outcome) = match message.code {
        Some(51001 | 60115) => (Activity::Logon, Outcome::Success),
        Some(51000 | 51020 | 51021 | 60081) => (Activity::Logon, Outcome::Failure),
        Some(51002 | 60116) => (Activity::Logoff, Outcome::Unknown),
        // sshd's acceptance before the CLI session (60115) that follows it, and a
        // connection closed before signing in.
        Some(60080) => (Activity::AuthOther, Outcome::Success),
        Some(60188) => (Activity::AuthOther, Outcome::Failure),
        _ if text.contains("logged out") || text.contains("logged off") => {
            (Activity::Logoff, Outcome::Unknown)
        }
        _ if text.contains("fail") || text.contains("unsuccessful") => {
            (Activity::Logon, Outcome::Failure)
        }
        _ if text.contains("succe") || text.contains("logged in") => {
            (Activity::Logon, Outcome::Success)
        }
        _ => (Activity::AuthOther, Outcome::Unknown),
    };
    let mut event = draft.event(message.time, EventClass::Authentication, activity);
    event.outcome = outcome;
    event.app = Some("ise-admin".to_string());
    event.asset = message.node();
    // sshd's own words when ISE names neither: `Failed password for alice from 10.40.0.5
    // port 51234 ssh2`.
    let sshd = message
        .get("OperationMessageText")
        .and_then(|text| text.split_once(" for "))
        .map(|(_, after)| after);
    event.subject.user = common::clean(message.get("AdminName")).or_else(|| {
        sshd.and_then(|after| after.split_once(" from "))
            .and_then(|(user, _)| common::clean(Some(user.trim_start_matches("invalid user "))))
    });
    event.src.ip = common::ip(message.get("AdminIPAddress")).or_else(|| {
        sshd.and_then(|after| after.split_once(" from "))
            .and_then(|(_, from)| common::ip(Some(syslog::next_token(from).0)))
    });
    event.privileged = outcome == Outcome::Success && activity == Activity::Logon;
    if outcome == Outcome::Failure {
        event.reason = message
            .get("FailureReason")
            .or_else(|| message.get("OperationMessageText"))
            .map(str::to_string)
            .or_else(|| Some(message.text.clone()));
    }
    event
}

fn configuration_change(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let text = message.text.to_ascii_lowercase();
    let activity = match message.code {
        Some(52000) => Activity::EntityCreated,
        Some(52001) => Activity::EntityUpdated,
        Some(52002) => Activity::EntityDeleted,
        _ if text.starts_with("added") => Activity::EntityCreated,
        _ if text.starts_with("changed") => Activity::EntityUpdated,
        _ if text.starts_with("deleted") => Activity::EntityDeleted,
        _ => Activity::EntityOther,
    };
    let mut event = draft.event(message.time, EventClass::EntityManagement, activity);
    event.outcome = match message.failure_flag() {
        Some(true) => Outcome::Failure,
        _ => Outcome::Success,
    };
    event.app = Some("ise-admin".to_string());
    event.asset = message.node();
    event.subject.user = common::clean(message.get("AdminName"));
    event.src.ip = common::ip(message.get("AdminIPAddress"));
    event.resource = match (message.get("ObjectType"), message.get("ObjectName")) {
        (Some(kind), Some(name)) => Some(format!("{kind}: {name}")),
        (Some(only), None) | (None, Some(only)) => Some(only.to_string()),
        (None, None) => None,
    };
    event
}

/// A sign-in to one of ISE's portals (`ise-mydevices`, `ise-guest`): logon, failure, logoff
/// by its text.
fn portal_sign_in(draft: &Draft<'_>, message: &Message<'_>, app: &str) -> Event {
    let text = message.text.to_ascii_lowercase();
    let failed = message.get("FailureReason").is_some() || text.contains("fail");
    let (activity, outcome) = if text.contains("logged out") {
        (Activity::Logoff, Outcome::Unknown)
    } else if failed {
        (Activity::Logon, Outcome::Failure)
    } else {
        (Activity::Logon, Outcome::Success)
    };
    let mut event = portal_event(draft, message, activity, app);
    event.outcome = outcome;
    if outcome == Outcome::Failure {
        event.reason = message.get("FailureReason").map(str::to_string);
    }
    event
}

/// The common fields of a portal record: who (`UserName`, a guest's `GuestUserName`), from
/// which address and device.
fn portal_event(draft: &Draft<'_>, message: &Message<'_>, activity: Activity, app: &str) -> Event {
    let mut event = draft.event(message.time, EventClass::Authentication, activity);
    event.app = Some(app.to_string());
    event.asset = message.node();
    event.subject.user = common::clean(message.first(&["GuestUserName", "UserName"]));
    event.subject.mac = message
        .first(&["MacAddress", "MACAddress", "Calling-Station-ID"])
        .and_then(common::mac);
    event.src.ip = common::ip(message.get("IpAddress"));
    event
}

/// The guest portals' steps (a guest accepting the use policy, registering a device, a
/// sponsor creating an account): `auth_other`, a sign-in `logon`, by the text. The guest
/// sign-in itself is in Passed Authentications and Failed Attempts (class `Guest`).
fn guest(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let text = message.text.to_ascii_lowercase();
    let signs_in = text.contains("logged in") || text.contains("login") || text.contains("log in");
    if signs_in || text.contains("logged out") {
        return portal_sign_in(draft, message, "ise-guest");
    }
    let mut event = portal_event(draft, message, Activity::AuthOther, "ise-guest");
    event.outcome = match message.get("FailureReason") {
        Some(_) => Outcome::Failure,
        None => Outcome::Success,
    };
    event.reason = message
        .get("FailureReason")
        .map(str::to_string)
        .or_else(|| Some(message.text.clone()).filter(|text| !text.is_empty()));
    event
}

// ------------------------------------------------------------------------------- endpoints

fn posture_status<'m>(message: &'m Message<'_>) -> Option<&'m str> {
    message.first(&["PostureStatus", "PostureAssessmentStatus"])
}

/// The endpoint a posture, profiling or threat record is about.
fn endpoint(event: &mut Event, message: &Message<'_>) {
    event.subject.mac = message
        .first(&[
            "EndpointMacAddress",
            "EndPointMACAddress",
            "MACAddress",
            "MacAddress",
            "Calling-Station-ID",
        ])
        .and_then(common::mac);
    event.subject.ip = common::ip(message.first(&[
        "EndpointIPAddress",
        "EndPointIPAddress",
        "IpAddress",
        "Framed-IP-Address",
    ]));
}

/// A posture report (`compliant` from its status) is device inventory; the rest of the
/// category (agent provisioning, the endpoint protection service's operations, the CA
/// service going down and up) is ISE's own activity.
fn posture(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let Some(status) = posture_status(message) else {
        return notice(draft, message);
    };
    let mut event = draft.event(message.time, EventClass::DeviceInventory, Activity::Posture);
    endpoint(&mut event, message);
    event.subject.user = common::clean(message.first(&["UserName", "SystemUser"]));
    event.subject.device = common::clean(message.get("SystemName"));
    event.compliant = compliance(Some(status));
    event.reason = Some(match message.get("PosturePolicyMatched") {
        Some(policy) => format!("posture {status} ({policy})"),
        None => format!("posture {status}"),
    });
    event
}

/// An endpoint profiled: device inventory naming what the endpoint is (`reason` =
/// `profiled as <policy>`), with no posture of its own. Profiler notices that name no
/// endpoint are ISE's own activity.
fn profiler(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let mut event = draft.event(message.time, EventClass::DeviceInventory, Activity::Posture);
    endpoint(&mut event, message);
    if event.subject.mac.is_none() && event.subject.ip.is_none() {
        return notice(draft, message);
    }
    event.subject.device = common::clean(message.first(&["host-name", "EndpointHostName"]));
    event.reason = message
        .first(&[
            "EndpointPolicy",
            "EndPointPolicy",
            "EndPointMatchedProfile",
            "MatchedPolicy",
        ])
        .map(|policy| format!("profiled as {policy}"))
        .or_else(|| Some(message.summary()));
    event
}

/// What ISE reports of its own work (backups, restarts, feed downloads, adapters of Threat
/// Centric NAC, agent provisioning, RADIUS notices): `api_activity`, the message as `reason`,
/// failed when ISE flags it so or writes it as an error.
fn notice(draft: &Draft<'_>, message: &Message<'_>) -> Event {
    let mut event = draft.event(message.time, EventClass::ApiActivity, Activity::ApiCall);
    event.outcome = match message.failure_flag() {
        Some(true) => Outcome::Failure,
        Some(false) => Outcome::Success,
        None if matches!(message.severity, "ERROR" | "FATAL") => Outcome::Failure,
        None if message.get("FailureReason").is_some() => Outcome::Failure,
        None => Outcome::Unknown,
    };
    event.app = Some("ise".to_string());
    event.asset = message.node();
    event.subject.user = common::clean(message.first(&["AdminName", "UserName"]));
    endpoint(&mut event, message);
    event.reason = Some(match message.get("FailureReason") {
        Some(failure) => format!("{}: {failure}", message.summary()),
        None => message.summary(),
    });
    event
}

/// `CISE_Alarm <SEVERITY>: <alarm name>: Key=value; Key=value` (the name may end in a space
/// before its colon): ISE's alarms, timed by the syslog header.
fn alarm(draft: &Draft<'_>, host: Option<&str>, rest: &str, time: Ts) -> RecordResult {
    let (severity, rest) = rest
        .split_once(':')
        .ok_or("no `SEVERITY: alarm` after CISE_Alarm")?;
    let (name, details) = rest.split_once(':').unwrap_or((rest, ""));
    let name = name.trim();
    if name.is_empty() {
        return Err("a CISE_Alarm without its name".to_string());
    }
    let field = |key: &str| {
        details.split(';').find_map(|item| {
            let (item_key, value) = item.split_once('=')?;
            let value = value.trim();
            (item_key.trim() == key && !value.is_empty()).then_some(value)
        })
    };
    let mut event = draft.event(time, EventClass::ApiActivity, Activity::ApiCall);
    event.app = Some("ise".to_string());
    event.reason = Some(format!("alarm: {name} ({})", severity.trim()));
    event.asset = field("Network Device Name")
        .or_else(|| field("Server"))
        .or(host)
        .map(str::to_string);
    event.subject.mac = field("Calling Station Id").and_then(common::mac);
    event.dst.ip = common::ip(
        field("Network device IP")
            .or_else(|| field("NAD Address"))
            .or_else(|| field("NAS IP Address")),
    );
    Ok(Read::Event(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_respect_escapes_and_braces() {
        assert_eq!(
            split_items(
                "Authentication succeeded, a=1, b=x\\, y, Response={Class=C; k=v, w; }, c="
            ),
            vec![
                "Authentication succeeded",
                "a=1",
                "b=x, y",
                "Response={Class=C; k=v, w; }",
                "c="
            ]
        );
    }

    #[test]
    fn interface_names_are_shortened() {
        assert_eq!(short_interface("GigabitEthernet1/0/7"), "Gi1/0/7");
        assert_eq!(short_interface("gigabitEthernet1/0/1"), "Gi1/0/1");
        assert_eq!(short_interface("TenGigabitEthernet2/1/1"), "Te2/1/1");
        assert_eq!(short_interface("Gi1/0/7"), "Gi1/0/7");
        assert_eq!(short_interface("GigabitEthernetX"), "GigabitEthernetX");
    }

    #[test]
    fn a_continuation_segment_is_skipped_and_garbage_rejected() {
        let ctx = ParseContext::new("ise", Ts(1_772_442_000_000));
        let batch = parse(
            b"<181>Mar  2 08:52:00 ise01 CISE_Passed_Authentications 0000012345 2 1 Step=11001, Step=11017,\n\
              <181>Mar  2 08:52:00 ise01 something else\n",
            &ctx,
        );
        assert_eq!(batch.skipped, 1);
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].index, 2);
        assert_eq!(
            batch.rejected[0].reason,
            "no `CISE_` category: not a Cisco ISE message"
        );
    }

    fn one(line: &str) -> Event {
        let ctx = ParseContext::new("ise", Ts(1_772_442_000_000));
        let batch = parse(line.as_bytes(), &ctx);
        assert_eq!(batch.rejected, [], "{line}");
        assert_eq!(batch.events.len(), 1, "{line}: {batch:?}");
        batch.events.into_iter().next().unwrap()
    }

    #[test]
    fn the_text_and_its_pairs_are_told_apart() {
        let (_, _, rest) = locate(
            "ise01 CISE_Guest 0000000001 1 0 2026-03-02 09:00:00.000 +01:00 0000000002 86005 INFO Guest: Guest user has accepted the Use Policy, UserName=frank, IpAddress=10.10.4.20,",
        )
        .unwrap();
        let message = split_message(Some("ise01"), rest).unwrap().unwrap();
        assert_eq!(message.code, Some(86005));
        assert_eq!(message.class, "Guest");
        assert_eq!(message.text, "Guest user has accepted the Use Policy");
        assert_eq!(message.get("UserName"), Some("frank"));
        assert_eq!(message.node().as_deref(), Some("ise01"));
    }

    #[test]
    fn sshd_words_name_the_administrator() {
        let event = one(
            "<181>Mar  2 09:10:00 ise01.example.com CISE_Administrative_and_Operational_Audit 0000000001 1 0 2026-03-02 09:10:00.000 +01:00 0000000002 60081 NOTICE Administrator-Login: A SSH CLI user has attempted unsuccessfully to login, ConfigVersionId=1, AdminInterface=CLI, OperationMessageText=Failed password for invalid user root from 198.51.100.7 port 50122 ssh2,",
        );
        assert_eq!(
            (event.class, event.activity, event.outcome),
            (
                EventClass::Authentication,
                Activity::Logon,
                Outcome::Failure
            )
        );
        assert_eq!(event.subject.user.as_deref(), Some("root"));
        assert_eq!(event.src.ip, "198.51.100.7".parse().ok());
        assert_eq!(event.asset.as_deref(), Some("ise01"));
        assert!(!event.privileged);
    }

    #[test]
    fn alarms_name_the_device() {
        let event = one(
            "<178>Mar  2 09:20:00 ise01 CISE_Alarm WARN: Dynamic Authorization Failed for Device : Server=ise01; Calling Station Id=3C:22:FB:00:00:11; Network device IP=10.10.0.2; Network Device Name=hq-sw1; Failure Reason=11213 No response",
        );
        assert_eq!(event.class, EventClass::ApiActivity);
        assert_eq!(event.asset.as_deref(), Some("hq-sw1"));
        assert_eq!(event.subject.mac.as_deref(), Some("3c:22:fb:00:00:11"));
        assert_eq!(
            event.reason.as_deref(),
            Some("alarm: Dynamic Authorization Failed for Device (WARN)")
        );
        assert_eq!(event.time.to_string(), "2026-03-02T09:20:00.000Z");
    }

    #[test]
    fn commands_are_read_from_their_set() {
        let event = one(
            "<182>Mar  2 09:30:00 ise01 CISE_TACACS_Accounting 0000000001 1 0 2026-03-02 09:30:00.000 +01:00 0000000002 3300 NOTICE Tacacs-Accounting: TACACS+ Accounting with Command, Device IP Address=10.10.0.2, CmdSet=[ CmdAV=show running-config <cr> ], NetworkDeviceName=hq-sw1, Privilege-Level=15, User=dan, Remote-Address=10.10.1.24,",
        );
        assert_eq!(event.activity, Activity::AuthOther);
        assert_eq!(
            event.reason.as_deref(),
            Some("command: show running-config")
        );
        assert!(event.privileged);
        assert_eq!(event.asset.as_deref(), Some("hq-sw1"));
    }
}
