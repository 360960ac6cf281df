//! Dates as exports write them: a day (read as that local day), a local date and time, an
//! instant with an offset, or Active Directory's FILETIME.

use jiff::civil::{Date, DateTime};
use jiff::fmt::strtime;
use jiff::tz::TimeZone;

use seam_model::Ts;

/// A date as written: a whole day, or an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    Day(Date),
    At(Ts),
}

/// Reads ISO 8601 (`2026-03-02`, `2026-03-02T09:00[:00]` or with a space, RFC 3339 with an
/// offset), or what `pattern` describes.
pub(crate) fn parse(text: &str, pattern: Option<&str>, tz: &TimeZone) -> Result<When, String> {
    let text = text.trim();
    if let Some(pattern) = pattern
        && let Ok(broken) = strtime::parse(pattern, text)
    {
        if broken.offset().is_some() || broken.timestamp().is_some() {
            if let Ok(timestamp) = broken.to_timestamp() {
                return Ok(When::At(Ts(timestamp.as_millisecond())));
            }
        } else if broken.hour().is_some() {
            if let Ok(datetime) = broken.to_datetime() {
                return local(datetime, tz).map(When::At);
            }
        } else if let Ok(date) = broken.to_date() {
            return Ok(When::Day(date));
        }
    }
    if text.len() == 10
        && let Ok(date) = text.parse::<Date>()
    {
        return Ok(When::Day(date));
    }
    if let Ok(ts) = Ts::parse(text) {
        return Ok(When::At(ts));
    }
    if let Ok(datetime) = text.parse::<DateTime>() {
        return local(datetime, tz).map(When::At);
    }
    let expected = match pattern {
        Some(pattern) => format!("`{pattern}` or ISO 8601"),
        None => "ISO 8601, such as `2026-03-02` or `2026-03-02T09:00:00+01:00`".to_string(),
    };
    Err(format!(
        "{} is not a date: expected {expected}",
        super::quote(text)
    ))
}

/// A local date and time in `tz`; in the hour a DST change repeats, the earlier instant.
fn local(datetime: DateTime, tz: &TimeZone) -> Result<Ts, String> {
    tz.to_ambiguous_timestamp(datetime)
        .compatible()
        .map(|timestamp| Ts(timestamp.as_millisecond()))
        .map_err(|error| format!("`{datetime}` has no instant: {error}"))
}

/// The first instant of a date: a day starts at local midnight (or, on a day whose midnight
/// a DST change skips, the first instant after it).
pub(crate) fn start(when: When, tz: &TimeZone) -> Result<Ts, String> {
    match when {
        When::At(ts) => Ok(ts),
        When::Day(date) => local(date.to_datetime(jiff::civil::Time::midnight()), tz),
    }
}

/// The end of a last day or an expiry date, exclusive: a day ends at the next local midnight.
pub(crate) fn end(when: When, tz: &TimeZone) -> Result<Ts, String> {
    match when {
        When::At(ts) => Ok(ts),
        When::Day(date) => {
            let next = date
                .tomorrow()
                .map_err(|_| format!("`{date}` is the last day there is"))?;
            start(When::Day(next), tz)
        }
    }
}

/// Windows FILETIME (100 ns ticks since 1601-01-01, UTC) as Active Directory writes
/// `accountExpires`; `0` and `9223372036854775807` mean never.
pub(crate) fn filetime(text: &str) -> Result<Option<Ts>, String> {
    // 1601-01-01 to 1970-01-01, in ticks.
    const EPOCH_TICKS: i64 = 116_444_736_000_000_000;
    let ticks: i64 = text.trim().parse().map_err(|_| {
        format!(
            "{} is not a FILETIME: expected a count of 100 ns ticks since 1601, such as `133851168000000000`",
            super::quote(text)
        )
    })?;
    if ticks == 0 || ticks == i64::MAX {
        return Ok(None);
    }
    if ticks < 0 {
        return Err(format!("{} is a negative FILETIME", super::quote(text)));
    }
    let ts = Ts((ticks - EPOCH_TICKS).div_euclid(10_000));
    if ts.to_timestamp().is_none() {
        return Err(format!("{} is out of range", super::quote(text)));
    }
    Ok(Some(ts))
}

/// Whether `pattern` reads back a date it writes.
pub(crate) fn pattern_reads_dates(pattern: &str) -> bool {
    let Ok(sample) = jiff::civil::date(2026, 3, 2)
        .at(7, 41, 30, 0)
        .to_zoned(TimeZone::UTC)
    else {
        return false;
    };
    let Ok(text) = strtime::format(pattern, &sample) else {
        return false;
    };
    strtime::parse(pattern, &text)
        .and_then(|broken| broken.to_date())
        .is_ok_and(|date| date == sample.date())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amsterdam() -> TimeZone {
        TimeZone::get("Europe/Amsterdam").unwrap()
    }

    fn ts(text: &str) -> Ts {
        Ts::parse(text).unwrap()
    }

    #[test]
    fn days_are_local_days() {
        let tz = amsterdam();
        let day = parse("2026-02-27", None, &tz).unwrap();
        assert_eq!(day, When::Day(jiff::civil::date(2026, 2, 27)));
        assert_eq!(start(day, &tz), Ok(ts("2026-02-26T23:00:00Z")));
        assert_eq!(end(day, &tz), Ok(ts("2026-02-27T23:00:00Z")));
        // The last day before summer time: it is 23 hours long.
        let day = parse("2026-03-29", None, &tz).unwrap();
        assert_eq!(end(day, &tz), Ok(ts("2026-03-29T22:00:00Z")));
    }

    #[test]
    fn times_with_and_without_offsets() {
        let tz = amsterdam();
        assert_eq!(
            parse("2026-03-02T09:00:00Z", None, &tz),
            Ok(When::At(ts("2026-03-02T09:00:00Z")))
        );
        assert_eq!(
            parse("2026-03-02 09:00", None, &tz),
            Ok(When::At(ts("2026-03-02T08:00:00Z")))
        );
        // The repeated hour of the autumn change: the earlier instant.
        assert_eq!(
            parse("2026-10-25T02:30:00", None, &tz),
            Ok(When::At(ts("2026-10-25T00:30:00Z")))
        );
        assert!(parse("next week", None, &tz).is_err());
        assert!(parse("2026-02-30", None, &tz).is_err());
    }

    #[test]
    fn patterns() {
        let tz = amsterdam();
        assert_eq!(
            parse("27.02.2026", Some("%d.%m.%Y"), &tz),
            Ok(When::Day(jiff::civil::date(2026, 2, 27)))
        );
        assert_eq!(
            parse("02/27/2026 17:30", Some("%m/%d/%Y %H:%M"), &tz),
            Ok(When::At(ts("2026-02-27T16:30:00Z")))
        );
        // ISO still reads with a pattern set.
        assert_eq!(
            parse("2026-02-27", Some("%d.%m.%Y"), &tz),
            Ok(When::Day(jiff::civil::date(2026, 2, 27)))
        );
        assert!(pattern_reads_dates("%d.%m.%Y"));
        assert!(pattern_reads_dates("%Y-%m-%d %H:%M:%S"));
        assert!(!pattern_reads_dates("%H:%M"));
        assert!(!pattern_reads_dates("%d.%m"));
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime("0"), Ok(None));
        assert_eq!(filetime("9223372036854775807"), Ok(None));
        // 2026-07-01T00:00:00Z.
        assert_eq!(
            filetime("134273376000000000"),
            Ok(Some(ts("2026-07-01T00:00:00Z")))
        );
        assert_eq!(filetime("116444736000000000"), Ok(Some(Ts(0))));
        assert!(filetime("-5").is_err());
        assert!(filetime("soon").is_err());
    }
}
