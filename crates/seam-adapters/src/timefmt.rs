//! Reading vendors' times strictly: RFC 3339, epoch numbers, local times in a zone, BSD
//! syslog stamps without a year, and times that end in a zone abbreviation.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, fmt::strtime};

use seam_model::Ts;

/// RFC 3339 with an offset or `Z` (`2026-03-02T07:55:00.123Z`, up to nine fraction digits).
pub(crate) fn rfc3339(text: &str) -> Result<Ts, String> {
    let text = text.trim();
    let timestamp: Timestamp = text
        .parse()
        .map_err(|_| format!("invalid timestamp `{}`: expected RFC 3339", shorten(text)))?;
    Ok(Ts(timestamp.as_millisecond()))
}

/// Seconds since the epoch, optionally with a fraction (`1772437800.608053271`).
pub(crate) fn epoch_seconds_text(text: &str) -> Result<Ts, String> {
    let text = text.trim();
    let error = || format!("invalid epoch time `{}`", shorten(text));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 12
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(error());
    }
    let seconds: i64 = whole.parse().map_err(|_| error())?;
    let mut millis: i64 = 0;
    for (position, digit) in fraction.bytes().take(3).enumerate() {
        let scale = [100, 10, 1].get(position).copied().unwrap_or(0);
        millis += i64::from(digit - b'0') * scale;
    }
    seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .map(Ts)
        .ok_or_else(error)
}

/// Milliseconds since the epoch, within the calendar.
pub(crate) fn epoch_millis(millis: i64) -> Result<Ts, String> {
    if !(0..=253_402_300_799_999).contains(&millis) {
        return Err(format!("epoch time {millis} ms is out of range"));
    }
    Ok(Ts(millis))
}

/// A wall-clock time in `timezone`. In the hour a DST change repeats, the earlier instant is
/// taken; a time that does not exist (the skipped hour) is shifted forward, as clocks do.
pub(crate) fn local(datetime: DateTime, timezone: &TimeZone) -> Result<Ts, String> {
    timezone
        .to_ambiguous_timestamp(datetime)
        .compatible()
        .map(|timestamp| Ts(timestamp.as_millisecond()))
        .map_err(|error| format!("time {datetime} cannot be placed in its time zone: {error}"))
}

/// A time in a `strftime` pattern (`%Y-%m-%d %H:%M:%S`); an offset in the text (`%z`) wins,
/// else the time is read in `timezone`.
pub(crate) fn pattern(format: &str, text: &str, timezone: &TimeZone) -> Result<Ts, String> {
    let text = text.trim();
    let error = |detail: String| {
        format!(
            "time `{}` does not match the format `{format}`: {detail}",
            shorten(text)
        )
    };
    let broken = strtime::parse(format, text).map_err(|e| error(e.to_string()))?;
    if broken.offset().is_some() || broken.timestamp().is_some() {
        let timestamp = broken.to_timestamp().map_err(|e| error(e.to_string()))?;
        return Ok(Ts(timestamp.as_millisecond()));
    }
    let datetime = broken.to_datetime().map_err(|e| error(e.to_string()))?;
    local(datetime, timezone)
}

/// A BSD syslog stamp (`Mar  2 07:41:30`), which has no year: the year that puts it closest
/// to the receive time, reading the wall clock in `timezone`.
pub(crate) fn bsd(stamp: BsdStamp, timezone: &TimeZone, observed: Ts) -> Result<Ts, String> {
    let observed_year = Timestamp::from_millisecond(observed.0)
        .map(|timestamp| timezone.to_datetime(timestamp).year())
        .unwrap_or(1970);
    let mut best: Option<Ts> = None;
    for year in [observed_year - 1, observed_year, observed_year + 1] {
        let Ok(datetime) = DateTime::new(
            year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
            stamp.millis * 1_000_000,
        ) else {
            continue;
        };
        let Ok(ts) = local(datetime, timezone) else {
            continue;
        };
        let closer =
            best.is_none_or(|best| ts.0.abs_diff(observed.0) < best.0.abs_diff(observed.0));
        if closer {
            best = Some(ts);
        }
    }
    best.ok_or_else(|| "the syslog date is not a day of any nearby year".to_string())
}

/// The parts of a BSD syslog stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BsdStamp {
    pub(crate) month: i8,
    pub(crate) day: i8,
    pub(crate) hour: i8,
    pub(crate) minute: i8,
    pub(crate) second: i8,
    pub(crate) millis: i32,
}

/// `YYYY-MM-DD HH:MM:SS[.fff]` as a civil time.
pub(crate) fn civil(text: &str) -> Result<DateTime, String> {
    let text = text.trim();
    let error = || {
        format!(
            "invalid time `{}`: expected `YYYY-MM-DD HH:MM:SS`",
            shorten(text)
        )
    };
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !matches!(bytes.get(10), Some(b' ' | b'T')) {
        return Err(error());
    }
    let normalized = text.replacen(' ', "T", 1);
    normalized.parse::<DateTime>().map_err(|_| error())
}

/// A fixed offset written `+HH:MM`, `-HHMM` or `Z`.
pub(crate) fn offset(text: &str) -> Option<Offset> {
    let text = text.trim();
    if text == "Z" || text == "z" {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..)?.parse().ok()?;
    if hours > 18 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// A time zone by IANA name (`Europe/Amsterdam`), `UTC`, or a fixed offset (`+01:00`).
pub(crate) fn zone(text: &str) -> Result<TimeZone, String> {
    let text = text.trim();
    if let Some(offset) = offset(text) {
        return Ok(TimeZone::fixed(offset));
    }
    TimeZone::get(text).map_err(|_| {
        format!("unknown time zone `{text}`: expected an IANA name such as `Europe/Amsterdam`, `UTC` or an offset such as `+01:00`")
    })
}

/// A civil time followed by a zone abbreviation (`2026-03-02 08:50:00 CET`). The
/// abbreviation must be the one `timezone` uses at that time, or one of the few that mean a
/// single offset everywhere; anything else is refused rather than guessed.
pub(crate) fn with_abbreviation(
    datetime: DateTime,
    abbreviation: &str,
    timezone: &TimeZone,
) -> Result<Ts, String> {
    let abbreviation = abbreviation.trim();
    if let Some(offset) = offset(abbreviation) {
        return offset
            .to_timestamp(datetime)
            .map(|timestamp| Ts(timestamp.as_millisecond()))
            .map_err(|error| error.to_string());
    }
    if let Some(hours) = unambiguous_abbreviation(abbreviation) {
        return Offset::constant(hours)
            .to_timestamp(datetime)
            .map(|timestamp| Ts(timestamp.as_millisecond()))
            .map_err(|error| error.to_string());
    }
    for candidate in [
        timezone.to_ambiguous_timestamp(datetime).earlier(),
        timezone.to_ambiguous_timestamp(datetime).later(),
    ] {
        let Ok(timestamp) = candidate else { continue };
        let info = timezone.to_offset_info(timestamp);
        if info.abbreviation().eq_ignore_ascii_case(abbreviation) {
            return Ok(Ts(timestamp.as_millisecond()));
        }
    }
    Err(format!(
        "time zone abbreviation `{}` is not the one the source's time zone uses at {datetime}",
        shorten(abbreviation)
    ))
}

/// Abbreviations with one meaning: UTC and the North American zones (CST, IST and BST each
/// mean several offsets around the world, so they are read only through the source's zone).
fn unambiguous_abbreviation(text: &str) -> Option<i8> {
    Some(match text.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "CET" => 1,
        "CEST" => 2,
        _ => return None,
    })
}

/// At most 64 characters of a value, for messages.
pub(crate) fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amsterdam() -> TimeZone {
        TimeZone::get("Europe/Amsterdam").unwrap()
    }

    #[test]
    fn rfc3339_is_strict() {
        assert_eq!(
            rfc3339("2019-10-18T04:45:48.0729893-05:00")
                .unwrap()
                .to_string(),
            "2019-10-18T09:45:48.072Z"
        );
        assert!(rfc3339("2026-03-02T07:55:00").is_err(), "no offset");
        assert!(rfc3339("2026-03-02").is_err());
    }

    #[test]
    fn epoch_text_keeps_milliseconds() {
        assert_eq!(
            epoch_seconds_text("1772437800.608053271").unwrap(),
            Ts(1_772_437_800_608)
        );
        assert_eq!(
            epoch_seconds_text("1772437800").unwrap(),
            Ts(1_772_437_800_000)
        );
        for bad in ["", ".5", "12a", "1.2.3", "-5", "9999999999999"] {
            assert!(epoch_seconds_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_times_follow_daylight_saving() {
        let winter = civil("2026-03-02 08:50:00").unwrap();
        assert_eq!(
            local(winter, &amsterdam()).unwrap().to_string(),
            "2026-03-02T07:50:00.000Z"
        );
        let summer = civil("2026-07-02 08:50:00").unwrap();
        assert_eq!(
            local(summer, &amsterdam()).unwrap().to_string(),
            "2026-07-02T06:50:00.000Z"
        );
        // 02:30 on the night clocks go forward does not exist: it moves to 03:30 CEST.
        let gap = civil("2026-03-29 02:30:00").unwrap();
        assert_eq!(
            local(gap, &amsterdam()).unwrap().to_string(),
            "2026-03-29T01:30:00.000Z"
        );
        // 02:30 on the night clocks go back happens twice: the first is taken.
        let fold = civil("2026-10-25 02:30:00").unwrap();
        assert_eq!(
            local(fold, &amsterdam()).unwrap().to_string(),
            "2026-10-25T00:30:00.000Z"
        );
    }

    #[test]
    fn bsd_stamps_take_the_nearest_year() {
        let stamp = BsdStamp {
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 58,
            millis: 0,
        };
        // Received just after new year: the stamp is from the year before.
        let observed = rfc3339("2027-01-01T00:00:05Z").unwrap();
        assert_eq!(
            bsd(stamp, &TimeZone::UTC, observed).unwrap().to_string(),
            "2026-12-31T23:59:58.000Z"
        );
        let leap = BsdStamp {
            month: 2,
            day: 29,
            ..stamp
        };
        let observed = rfc3339("2028-03-01T00:00:00Z").unwrap();
        assert_eq!(
            bsd(leap, &TimeZone::UTC, observed).unwrap().to_string(),
            "2028-02-29T23:59:58.000Z"
        );
    }

    #[test]
    fn patterns_use_their_offset_or_the_zone() {
        assert_eq!(
            pattern(
                "%m/%d/%Y %I:%M:%S %p",
                "03/02/2026 08:50:00 AM",
                &amsterdam()
            )
            .unwrap()
            .to_string(),
            "2026-03-02T07:50:00.000Z"
        );
        assert_eq!(
            pattern(
                "%Y-%m-%d %H:%M:%S %z",
                "2026-03-02 08:50:00 +0000",
                &amsterdam()
            )
            .unwrap()
            .to_string(),
            "2026-03-02T08:50:00.000Z"
        );
        let error = pattern("%Y-%m-%d", "02/03/2026", &amsterdam()).unwrap_err();
        assert!(error.starts_with("time `02/03/2026` does not match the format `%Y-%m-%d`"));
    }

    #[test]
    fn abbreviations_are_checked_against_the_zone() {
        let time = civil("2026-03-02 08:50:00").unwrap();
        assert_eq!(
            with_abbreviation(time, "CET", &amsterdam())
                .unwrap()
                .to_string(),
            "2026-03-02T07:50:00.000Z"
        );
        assert_eq!(
            with_abbreviation(time, "PST", &amsterdam())
                .unwrap()
                .to_string(),
            "2026-03-02T16:50:00.000Z"
        );
        assert!(with_abbreviation(time, "IST", &amsterdam()).is_err());
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(
            with_abbreviation(time, "JST", &tokyo).unwrap().to_string(),
            "2026-03-01T23:50:00.000Z"
        );
    }

    #[test]
    fn zones_by_name_or_offset() {
        assert!(zone("Europe/Amsterdam").is_ok());
        assert!(zone("+05:30").is_ok());
        assert!(zone("UTC").is_ok());
        assert!(
            zone("Mars/Olympus")
                .unwrap_err()
                .starts_with("unknown time zone")
        );
    }
}
