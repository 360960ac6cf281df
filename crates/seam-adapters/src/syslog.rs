//! Syslog headers: RFC 3164 (`<PRI>Mmm dd hh:mm:ss host tag: msg`) and RFC 5424
//! (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`), and the variants vendors send (no
//! PRI when a relay stripped it, an RFC 3339 stamp in the 3164 position, Meraki's epoch
//! stamp after the version). Only the stamp is interpreted here; what follows it is the
//! vendor's to read.

use seam_model::Ts;

use crate::ParseContext;
use crate::timefmt::{self, BsdStamp};

/// The stamp at the head of a syslog line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// `Mar  2 07:41:30`: wall-clock time without a year or a zone.
    Bsd(BsdStamp),
    /// An RFC 3339 stamp.
    Exact(Ts),
    /// RFC 5424's nil stamp `-`, or none at all.
    Missing,
}

/// A syslog line split after its stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) stamp: Stamp,
    /// RFC 5424 (a version after the PRI).
    pub(crate) rfc5424: bool,
    /// What follows the stamp: `host tag: msg` (3164) or `HOST APP PROCID MSGID SD MSG`.
    pub(crate) rest: &'a str,
}

impl Header<'_> {
    /// The stamp as a time: BSD stamps in the context's zone, the year nearest the receive time.
    pub(crate) fn time(&self, ctx: &ParseContext) -> Result<Ts, String> {
        match self.stamp {
            Stamp::Bsd(stamp) => timefmt::bsd(stamp, &ctx.timezone, ctx.observed),
            Stamp::Exact(ts) => Ok(ts),
            Stamp::Missing => Err("the syslog line has no timestamp".to_string()),
        }
    }
}

/// Splits a syslog line after its stamp; `None` when it does not start like syslog.
pub(crate) fn header(line: &str) -> Option<Header<'_>> {
    let line = line.trim_start();
    let after_pri = strip_pri(line);
    let had_pri = after_pri.len() != line.len();
    // RFC 5424: a version (`1`) and a space follow the PRI.
    if had_pri && let Some(rest) = after_pri.strip_prefix("1 ") {
        let (token, rest) = next_token(rest);
        let stamp = match token {
            "-" => Stamp::Missing,
            _ => match timefmt::rfc3339(token) {
                Ok(ts) => Stamp::Exact(ts),
                // Meraki writes epoch seconds here.
                Err(_) => Stamp::Exact(timefmt::epoch_seconds_text(token).ok()?),
            },
        };
        return Some(Header {
            stamp,
            rfc5424: true,
            rest,
        });
    }
    if let Some((stamp, rest)) = bsd_stamp(after_pri) {
        return Some(Header {
            stamp: Stamp::Bsd(stamp),
            rfc5424: false,
            rest,
        });
    }
    let (token, rest) = next_token(after_pri);
    if let Ok(ts) = timefmt::rfc3339(token) {
        return Some(Header {
            stamp: Stamp::Exact(ts),
            rfc5424: false,
            rest,
        });
    }
    None
}

/// The line without a leading `<PRI>` (1–3 digits, at most 191).
pub(crate) fn strip_pri(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('<') else {
        return line;
    };
    let Some(end) = rest.find('>') else {
        return line;
    };
    let digits = rest.get(..end).unwrap_or_default();
    let valid = (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u16>().is_ok_and(|pri| pri <= 191);
    if valid {
        rest.get(end + 1..).unwrap_or_default()
    } else {
        line
    }
}

/// `Mmm dd hh:mm:ss[.fff]` (the day space-padded or not) and what follows it.
fn bsd_stamp(text: &str) -> Option<(BsdStamp, &str)> {
    let month = match text.get(..3)? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let rest = text.get(3..)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let (day, rest) = next_token(rest);
    let (clock, rest) = next_token(rest);
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: i8 = day.parse().ok()?;
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = clock.split(':');
    let mut part = || -> Option<i8> {
        let text = parts.next()?;
        if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    let (hour, minute, second) = (part()?, part()?, part()?);
    if parts.next().is_some() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut millis = 0;
    for (position, digit) in fraction.bytes().take(3).enumerate() {
        millis += i32::from(digit - b'0') * [100, 10, 1].get(position).copied().unwrap_or(0);
    }
    let stamp = BsdStamp {
        month,
        day,
        hour,
        minute,
        second,
        millis,
    };
    Some((stamp, rest))
}

/// The first space-separated token and the rest after the spaces that end it.
pub(crate) fn next_token(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches(' ');
    match text.find(' ') {
        Some(end) => (
            text.get(..end).unwrap_or_default(),
            text.get(end..).unwrap_or_default().trim_start_matches(' '),
        ),
        None => (text, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::new("test", timefmt::rfc3339("2026-03-02T12:00:00Z").unwrap())
    }

    #[test]
    fn rfc3164_with_and_without_pri() {
        for line in [
            "<30>Mar  2 07:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32",
            "Mar  2 07:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32",
            "<30>Mar 2 07:41:30 dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32",
        ] {
            let header = header(line).unwrap();
            assert!(!header.rfc5424);
            assert_eq!(header.rest, "dhcp1 dhcpd[812]: DHCPACK on 10.10.1.32");
            assert_eq!(
                header.time(&ctx()).unwrap().to_string(),
                "2026-03-02T07:41:30.000Z"
            );
        }
    }

    #[test]
    fn rfc5424_with_offset_nil_or_epoch() {
        let header5424 = header(
            "<181>1 2026-03-02T08:52:00.250+01:00 ise01 CISE_Passed_Authentications - - - body",
        )
        .unwrap();
        assert!(header5424.rfc5424);
        assert_eq!(
            header5424.time(&ctx()).unwrap().to_string(),
            "2026-03-02T07:52:00.250Z"
        );
        assert_eq!(
            header5424.rest,
            "ise01 CISE_Passed_Authentications - - - body"
        );
        let nil = header("<14>1 - host app - - - msg").unwrap();
        assert_eq!(nil.stamp, Stamp::Missing);
        assert!(nil.time(&ctx()).is_err());
        let meraki =
            header("<134>1 1772437800.608053271 hq-ap-office events type=association").unwrap();
        assert_eq!(meraki.stamp, Stamp::Exact(Ts(1_772_437_800_608)));
        assert_eq!(meraki.rest, "hq-ap-office events type=association");
    }

    #[test]
    fn rfc3339_in_the_bsd_position() {
        let header = header("2026-03-02T07:41:30.5Z dhcp1 kea-dhcp4: INFO x").unwrap();
        assert_eq!(header.stamp, Stamp::Exact(Ts(1_772_437_290_500)));
    }

    #[test]
    fn not_syslog() {
        for line in [
            "",
            "hello world",
            "<999>Mar  2 07:41:30 x",
            "Mar 32x 07:41:30 x",
            "Mar  2 7:41:30 x",
        ] {
            assert_eq!(header(line).map(|h| h.stamp), None, "{line}");
        }
        assert_eq!(strip_pri("<12"), "<12");
        assert_eq!(strip_pri("<>x"), "<>x");
    }
}
