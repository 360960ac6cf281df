//! Days and local times for the simulation: which days are working days, and where a site's
//! local midnight falls in UTC.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use seam_model::Ts;

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const MINUTE_MS: i64 = 60_000;

/// 2026-03-02T00:00:00Z, a Monday: the default first day.
pub const DEFAULT_START_MS: i64 = 1_772_409_600_000;

/// `ms` as RFC 3339 text.
pub fn rfc3339(ms: i64) -> String {
    Ts(ms).to_string()
}

/// The UTC date of an instant.
pub fn utc_date(ms: i64) -> Date {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(TimeZone::UTC).date())
        .unwrap_or_default()
}

/// Whether the UTC day of `ms` is Monday to Friday.
pub fn is_weekday(ms: i64) -> bool {
    // 1970-01-01 was a Thursday: day 0 is Thursday, so Monday is (day + 3) % 7 == 0.
    let day = ms.div_euclid(DAY_MS);
    (day + 3).rem_euclid(7) < 5
}

/// Local midnight in `tz` of the date `day` days after the UTC date of `start_ms`, in UTC ms.
pub fn local_midnight_ms(tz: &str, start_ms: i64, day: u32) -> i64 {
    let zone = TimeZone::get(tz).unwrap_or(TimeZone::UTC);
    local_midnight_in(&zone, start_ms, day)
}

/// As [`local_midnight_ms`], for a zone already looked up.
pub fn local_midnight_in(zone: &TimeZone, start_ms: i64, day: u32) -> i64 {
    let date = utc_date(start_ms + i64::from(day) * DAY_MS);
    date.to_zoned(zone.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(start_ms + i64::from(day) * DAY_MS)
}

/// Parses `YYYY-MM-DD` into the UTC midnight of that date.
pub fn parse_start(text: &str) -> Option<i64> {
    let date: Date = text.parse().ok()?;
    date.to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_start_is_a_monday() {
        assert!(is_weekday(DEFAULT_START_MS));
        assert!(is_weekday(DEFAULT_START_MS + 4 * DAY_MS));
        assert!(!is_weekday(DEFAULT_START_MS + 5 * DAY_MS));
        assert!(!is_weekday(DEFAULT_START_MS + 6 * DAY_MS));
        assert_eq!(parse_start("2026-03-02"), Some(DEFAULT_START_MS));
        assert_eq!(parse_start("2026-02-30"), None);
    }

    #[test]
    fn local_midnight_follows_the_zone() {
        // Amsterdam is UTC+1 in March before the switch, New York UTC-5.
        assert_eq!(
            local_midnight_ms("Europe/Amsterdam", DEFAULT_START_MS, 0),
            DEFAULT_START_MS - HOUR_MS
        );
        assert_eq!(
            local_midnight_ms("America/New_York", DEFAULT_START_MS, 0),
            DEFAULT_START_MS + 5 * HOUR_MS
        );
        assert_eq!(rfc3339(DEFAULT_START_MS), "2026-03-02T00:00:00.000Z");
    }
}
