//! Event time: milliseconds since the Unix epoch, UTC.
//!
//! One integer type keeps the engine's ordering, windows and snapshots exact and cheap; the
//! conversions to and from RFC 3339 text live here so that every crate agrees on them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

/// Why a timestamp could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid timestamp `{text}`: expected RFC 3339, such as `2026-03-02T09:15:00Z`")]
pub struct TsError {
    pub text: String,
}

impl Ts {
    pub const MIN: Ts = Ts(i64::MIN);
    pub const MAX: Ts = Ts(i64::MAX);

    pub const fn from_millis(millis: i64) -> Ts {
        Ts(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub const fn from_secs(secs: i64) -> Ts {
        Ts(secs.saturating_mul(1000))
    }

    /// Parses RFC 3339 (`2026-03-02T09:15:00Z`, `2026-03-02T10:15:00.250+01:00`).
    pub fn parse(text: &str) -> Result<Ts, TsError> {
        let error = || TsError {
            text: text.chars().take(64).collect(),
        };
        let timestamp: jiff::Timestamp = text.trim().parse().map_err(|_| error())?;
        Ok(Ts(timestamp.as_millisecond()))
    }

    /// The saturating sum, so that deadlines near the ends of time never wrap.
    pub const fn plus_millis(self, millis: i64) -> Ts {
        Ts(self.0.saturating_add(millis))
    }

    pub const fn minus_millis(self, millis: i64) -> Ts {
        Ts(self.0.saturating_sub(millis))
    }

    pub fn to_timestamp(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_millisecond(self.0).ok()
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_timestamp() {
            // Millisecond precision, always `Z`: one canonical text per instant.
            Some(timestamp) => write!(f, "{timestamp:.3}"),
            None => write!(f, "{}ms", self.0),
        }
    }
}

impl fmt::Debug for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Ts {
    type Err = TsError;
    fn from_str(text: &str) -> Result<Ts, TsError> {
        Ts::parse(text)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_timestamp() {
            Some(_) => serializer.collect_str(self),
            // Sentinels such as `Ts::MIN` lie outside the calendar; as integers they round-trip.
            None => serializer.serialize_i64(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ts, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or milliseconds since the epoch")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Ts, E> {
                Ts::parse(text).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Ts, E> {
                Ok(Ts(millis))
            }
            fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Ts, E> {
                i64::try_from(millis)
                    .map(Ts)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A length of time in milliseconds, written in rules and configuration as `30s`, `5m`, `2h`, `1d`.
/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01, for writers
/// that format times by hand on a hot path. Eras of 400 years (146,097 days) are counted from
/// 0000-03-01, March first, so that the leap day ends the year.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn parse_duration_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_rfc3339() {
        let ts = Ts::parse("2026-03-02T10:15:00.250+01:00");
        assert_eq!(
            ts.map(|t| t.to_string()),
            Ok("2026-03-02T09:15:00.250Z".to_string())
        );
    }

    #[test]
    fn rejects_garbage_with_the_text_named() {
        let error = Ts::parse("yesterday").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "invalid timestamp `yesterday`: expected RFC 3339, such as `2026-03-02T09:15:00Z`"
            )
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_millis("30s"), Some(30_000));
        assert_eq!(parse_duration_millis("5m"), Some(300_000));
        assert_eq!(parse_duration_millis("1d"), Some(86_400_000));
        assert_eq!(parse_duration_millis("5"), None);
        assert_eq!(parse_duration_millis("m"), None);
        assert_eq!(parse_duration_millis("99999999999999999d"), None);
    }

    #[test]
    fn sentinels_round_trip_through_json() {
        for ts in [Ts::MIN, Ts::MAX, Ts(0)] {
            let json = serde_json::to_string(&ts).unwrap();
            assert_eq!(serde_json::from_str::<Ts>(&json).unwrap(), ts, "{json}");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(millis in -62_000_000_000_000i64..250_000_000_000_000i64) {
            let ts = Ts(millis);
            proptest::prop_assert_eq!(Ts::parse(&ts.to_string()), Ok(ts));
        }
    }
}

#[cfg(test)]
mod civil_tests {
    use super::*;

    #[test]
    fn days_become_the_dates_the_calendar_gives() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        // 2024 is a leap year: 29 February, then 1 March.
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(20_514), (2026, 3, 2));
        for days in (0..200_000).step_by(997) {
            let ts = Ts(days * 86_400_000).to_string();
            let (y, m, d) = civil_from_days(days);
            assert_eq!(&ts[..10], format!("{y:04}-{m:02}-{d:02}"), "{days}");
        }
    }
}
