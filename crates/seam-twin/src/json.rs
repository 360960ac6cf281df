//! A fast writer of normalized events as JSON, for the simulator's output.
//!
//! It writes exactly what `serde_json` writes for an [`Event`] (a test holds it to that, byte for
//! byte), without serde's per-field machinery or a date library per timestamp: the twin writes
//! millions of events, and formatting them was most of its time.

use std::io::Write as _;

use seam_model::{Event, Ts};

/// Appends `event` as one line of JSON (without the newline).
pub fn write_event(out: &mut Vec<u8>, event: &Event) {
    out.extend_from_slice(b"{\"uid\":");
    string(out, &event.uid);
    out.extend_from_slice(b",\"time\":");
    time(out, event.time);
    if let Some(observed) = event.observed {
        out.extend_from_slice(b",\"observed\":");
        time(out, observed);
    }
    out.extend_from_slice(b",\"source\":");
    string(out, &event.source);
    out.extend_from_slice(b",\"class\":\"");
    out.extend_from_slice(event.class.as_str().as_bytes());
    out.extend_from_slice(b"\",\"activity\":\"");
    out.extend_from_slice(event.activity.as_str().as_bytes());
    out.push(b'"');
    if event.outcome != seam_model::Outcome::Unknown {
        out.extend_from_slice(b",\"outcome\":\"");
        out.extend_from_slice(event.outcome.as_str().as_bytes());
        out.push(b'"');
    }
    optional_string(out, "reason", event.reason.as_deref());
    let subject = &event.subject;
    if !subject.is_empty() {
        out.extend_from_slice(b",\"subject\":{");
        let mut first = true;
        member(out, &mut first, "badge", subject.badge.as_deref());
        member(out, &mut first, "user", subject.user.as_deref());
        member(out, &mut first, "idp_id", subject.idp_id.as_deref());
        member(out, &mut first, "device", subject.device.as_deref());
        member(out, &mut first, "mac", subject.mac.as_deref());
        if let Some(ip) = subject.ip {
            key(out, &mut first, "ip");
            let _ = write!(out, "\"{ip}\"");
        }
        out.push(b'}');
    }
    let src = &event.src;
    if !src.is_empty() {
        out.extend_from_slice(b",\"src\":{");
        let mut first = true;
        if let Some(ip) = src.ip {
            key(out, &mut first, "ip");
            let _ = write!(out, "\"{ip}\"");
        }
        member(out, &mut first, "country", src.country.as_deref());
        member(out, &mut first, "city", src.city.as_deref());
        if let Some(lat) = src.lat {
            key(out, &mut first, "lat");
            float(out, lat);
        }
        if let Some(lon) = src.lon {
            key(out, &mut first, "lon");
            float(out, lon);
        }
        out.push(b'}');
    }
    let dst = &event.dst;
    if !dst.is_empty() {
        out.extend_from_slice(b",\"dst\":{");
        let mut first = true;
        if let Some(ip) = dst.ip {
            key(out, &mut first, "ip");
            let _ = write!(out, "\"{ip}\"");
        }
        if let Some(port) = dst.port {
            key(out, &mut first, "port");
            let _ = write!(out, "{port}");
        }
        member(out, &mut first, "host", dst.host.as_deref());
        out.push(b'}');
    }
    optional_string(out, "site", event.site.as_deref());
    optional_string(out, "zone", event.zone.as_deref());
    optional_string(out, "door", event.door.as_deref());
    optional_string(out, "reader", event.reader.as_deref());
    optional_string(out, "ap", event.ap.as_deref());
    optional_string(out, "switch_port", event.switch_port.as_deref());
    optional_string(out, "asset", event.asset.as_deref());
    optional_string(out, "resource", event.resource.as_deref());
    optional_string(out, "app", event.app.as_deref());
    if let Some(medium) = event.medium {
        out.extend_from_slice(b",\"medium\":\"");
        out.extend_from_slice(medium.as_str().as_bytes());
        out.push(b'"');
    }
    if let Some(count) = event.count {
        let _ = write!(out, ",\"count\":{count}");
    }
    if let Some(bytes) = event.bytes_out {
        let _ = write!(out, ",\"bytes_out\":{bytes}");
    }
    if event.privileged {
        out.extend_from_slice(b",\"privileged\":true");
    }
    if let Some(mfa) = event.mfa {
        let _ = write!(out, ",\"mfa\":{mfa}");
    }
    if let Some(compliant) = event.compliant {
        let _ = write!(out, ",\"compliant\":{compliant}");
    }
    if let Some(until) = event.until {
        out.extend_from_slice(b",\"until\":");
        time(out, until);
    }
    // Rare (a change ticket a day at most): serde writes it.
    if let Some(change) = &event.change {
        out.extend_from_slice(b",\"change\":");
        let _ = serde_json::to_writer(&mut *out, change);
    }
    if let Some(raw) = &event.raw {
        out.extend_from_slice(b",\"raw\":");
        let _ = serde_json::to_writer(&mut *out, raw);
    }
    out.push(b'}');
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn member(out: &mut Vec<u8>, first: &mut bool, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        key(out, first, name);
        string(out, value);
    }
}

fn optional_string(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        string(out, value);
    }
}

/// Floats are rare (coordinates): serde_json's own formatting keeps them identical.
fn float(out: &mut Vec<u8>, value: f64) {
    let _ = serde_json::to_writer(&mut *out, &value);
}

/// A JSON string with serde_json's escapes.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..index).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = index + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// `"2026-03-02T09:15:00.000Z"`, as `Ts` serializes; instants outside years 0..=9999 fall
/// back to the model's own serialization.
fn time(out: &mut Vec<u8>, ts: Ts) {
    const MS_PER_DAY: i64 = 86_400_000;
    // 0000-01-01 and 10000-01-01 in days since 1970-01-01.
    const FIRST_DAY: i64 = -719_528;
    const LAST_DAY: i64 = 2_932_897;
    let ms = ts.millis();
    let days = ms.div_euclid(MS_PER_DAY);
    if !(FIRST_DAY..LAST_DAY).contains(&days) {
        let _ = serde_json::to_writer(&mut *out, &ts);
        return;
    }
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = seam_model::time::civil_from_days(days);
    let hour = in_day / 3_600_000;
    let minute = in_day / 60_000 % 60;
    let second = in_day / 1000 % 60;
    let milli = in_day % 1000;
    // By hand: formatting machinery was a tenth of the simulator's time.
    out.push(b'"');
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, hour, 2);
    out.push(b':');
    digits(out, minute, 2);
    out.push(b':');
    digits(out, second, 2);
    out.push(b'.');
    digits(out, milli, 3);
    out.extend_from_slice(b"Z\"");
}

/// `value` (0 to 9999) as exactly `width` decimal digits.
fn digits(out: &mut Vec<u8>, value: i64, width: u32) {
    let mut divisor = 10i64.pow(width.saturating_sub(1));
    while divisor > 0 {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::{Activity, EventClass, Medium, Outcome};

    fn same_as_serde(event: &Event) {
        let mut ours = Vec::new();
        write_event(&mut ours, event);
        let theirs = serde_json::to_vec(event).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn writes_what_serde_writes_for_every_field() {
        let mut event = Event::new(
            "a\"b\\c\n\u{1}é",
            Ts(1_772_442_000_123),
            "okta",
            EventClass::Authentication,
            Activity::Logon,
        );
        same_as_serde(&event);
        event.observed = Some(Ts(1_772_442_000_999));
        event.outcome = Outcome::Failure;
        event.reason = Some("tab\there".into());
        event.subject.badge = Some("4411".into());
        event.subject.user = Some("alice@example.com".into());
        event.subject.idp_id = Some("00u1".into());
        event.subject.device = Some("ws".into());
        event.subject.mac = Some("3c:22:fb:00:00:01".into());
        event.subject.ip = "10.0.0.1".parse().ok();
        event.src.ip = "2001:db8::1".parse().ok();
        event.src.country = Some("Netherlands".into());
        event.src.city = Some("Amsterdam".into());
        event.src.lat = Some(52.37);
        event.src.lon = Some(4.0);
        event.dst.ip = "203.0.113.5".parse().ok();
        event.dst.port = Some(443);
        event.dst.host = Some("db".into());
        event.site = Some("hq".into());
        event.zone = Some("z".into());
        event.door = Some("d".into());
        event.reader = Some("r".into());
        event.ap = Some("ap".into());
        event.switch_port = Some("sw:Gi1/0/1".into());
        event.asset = Some("a".into());
        event.resource = Some("res".into());
        event.app = Some("app".into());
        event.medium = Some(Medium::Vpn);
        event.count = Some(-3);
        event.bytes_out = Some(u64::MAX);
        event.privileged = true;
        event.mfa = Some(false);
        event.compliant = Some(true);
        event.until = Some(Ts(0));
        event.change = Some(Box::new(seam_model::ChangeDetails {
            number: "CHG1".into(),
            start: Ts(0),
            end: Ts(1),
            items: vec!["db".into()],
            assignees: vec![],
            groups: vec!["ops".into()],
        }));
        event.raw = Some(serde_json::json!({"k": [1, 2.5, null]}));
        same_as_serde(&event);
        // A source with only a city is empty to serde (it checks ip, country and lat).
        let mut odd = Event::new("x", Ts(-1), "s", EventClass::Occupancy, Activity::Count);
        odd.src.city = Some("Nowhere".into());
        same_as_serde(&odd);
        odd.time = Ts::MIN;
        same_as_serde(&odd);
    }

    proptest::proptest! {
        #[test]
        fn times_match_the_model_everywhere_in_the_calendar(ms in -62_000_000_000_000i64..253_000_000_000_000i64) {
            let mut ours = Vec::new();
            time(&mut ours, Ts(ms));
            let theirs = serde_json::to_vec(&Ts(ms)).unwrap();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }
}
