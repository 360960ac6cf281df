//! Clock times, weekdays and daily hours, read in a site's local time.
//!
//! Hours are compared on the civil time of an instant in the site's zone, so a daylight-saving
//! change never opens a gap or a double hour in the answer.

use std::fmt;

use seam_model::Ts;
use serde::{Serialize, Serializer};

/// A time of day, `HH:MM` or `HH:MM:SS`, stored as seconds after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    seconds: u32,
}

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime { seconds: 0 };

    /// Reads `HH:MM` or `HH:MM:SS` (two digits each, 24-hour clock).
    pub fn parse(text: &str) -> Option<ClockTime> {
        let mut parts = text.split(':');
        let hours = two_digits(parts.next()?, 23)?;
        let minutes = two_digits(parts.next()?, 59)?;
        let seconds = match parts.next() {
            Some(part) => two_digits(part, 59)?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(ClockTime {
            seconds: hours * 3600 + minutes * 60 + seconds,
        })
    }

    pub const fn from_hms(hours: u8, minutes: u8, seconds: u8) -> Option<ClockTime> {
        if hours > 23 || minutes > 59 || seconds > 59 {
            return None;
        }
        Some(ClockTime {
            seconds: hours as u32 * 3600 + minutes as u32 * 60 + seconds as u32,
        })
    }

    pub const fn seconds_after_midnight(self) -> u32 {
        self.seconds
    }

    fn of_civil(civil: jiff::civil::DateTime) -> ClockTime {
        // jiff keeps these in range, so the casts cannot lose anything.
        let hours = u32::try_from(civil.hour()).unwrap_or(0);
        let minutes = u32::try_from(civil.minute()).unwrap_or(0);
        let seconds = u32::try_from(civil.second()).unwrap_or(0);
        ClockTime {
            seconds: hours * 3600 + minutes * 60 + seconds,
        }
    }
}

fn two_digits(text: &str, max: u32) -> Option<u32> {
    if text.len() != 2 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: u32 = text.parse().ok()?;
    (value <= max).then_some(value)
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hours, minutes, seconds) = (
            self.seconds / 3600,
            self.seconds / 60 % 60,
            self.seconds % 60,
        );
        if seconds == 0 {
            write!(f, "{hours:02}:{minutes:02}")
        } else {
            write!(f, "{hours:02}:{minutes:02}:{seconds:02}")
        }
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The names of the days, Monday first, as written in the files.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A set of weekdays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Weekdays {
    /// Bit 0 is Monday, bit 6 Sunday.
    bits: u8,
}

impl Weekdays {
    pub const NONE: Weekdays = Weekdays { bits: 0 };

    /// Reads one day name (`mon` ... `sun`).
    pub fn parse_day(text: &str) -> Option<Weekdays> {
        let position = DAY_NAMES.iter().position(|name| *name == text)?;
        Some(Weekdays {
            bits: 1 << position,
        })
    }

    pub const fn union(self, other: Weekdays) -> Weekdays {
        Weekdays {
            bits: self.bits | other.bits,
        }
    }

    pub fn contains(self, day: jiff::civil::Weekday) -> bool {
        self.contains_day(MondayIndex::of(day))
    }

    fn contains_day(self, day: MondayIndex) -> bool {
        self.bits & (1 << day.0) != 0
    }

    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The day names in the set, Monday first.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        DAY_NAMES
            .iter()
            .enumerate()
            .filter(move |(position, _)| self.bits & (1 << position) != 0)
            .map(|(_, name)| *name)
    }
}

impl Serialize for Weekdays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

/// Recurring hours on some weekdays: a site's business hours or a person's shift.
///
/// When `end` is not after `start` the hours cross midnight (a night shift): they begin on a
/// listed day and run into the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DailyHours {
    pub days: Weekdays,
    pub start: ClockTime,
    pub end: ClockTime,
}

impl DailyHours {
    /// Whether the civil (local) time falls inside the hours.
    pub fn contains(&self, local: jiff::civil::DateTime) -> bool {
        self.contains_local(MondayIndex::of(local.weekday()), ClockTime::of_civil(local))
    }

    fn contains_local(&self, today: MondayIndex, time: ClockTime) -> bool {
        if self.start < self.end {
            self.days.contains_day(today) && self.start <= time && time < self.end
        } else {
            let started_today = self.days.contains_day(today) && time >= self.start;
            let started_yesterday = self.days.contains_day(today.previous()) && time < self.end;
            started_today || started_yesterday
        }
    }

    /// Whether the instant falls inside the hours, read in the zone of `local`.
    pub(crate) fn contains_instant(&self, local: &LocalTime, at: Ts) -> bool {
        match local.day_and_time(at) {
            Some((today, time)) => self.contains_local(today, time),
            None => false,
        }
    }
}

/// A weekday as 0 (Monday) to 6 (Sunday).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MondayIndex(u8);

impl MondayIndex {
    fn of(day: jiff::civil::Weekday) -> MondayIndex {
        MondayIndex(u8::try_from(day.to_monday_zero_offset()).unwrap_or(0))
    }

    /// The weekday of a day counted from 1970-01-01, a Thursday.
    fn of_epoch_day(day: i64) -> MondayIndex {
        MondayIndex(u8::try_from((day + 3).rem_euclid(7)).unwrap_or(0))
    }

    fn previous(self) -> MondayIndex {
        MondayIndex((self.0 + 6) % 7)
    }
}

/// A period: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: Ts,
    pub end: Ts,
}

impl Window {
    pub fn contains(&self, at: Ts) -> bool {
        self.start <= at && at < self.end
    }
}

const DAY_MS: i64 = 86_400_000;
/// The table of offsets covers 1970-01-01 to 2100-01-01; jiff answers outside it.
const TABLE_START_MS: i64 = 0;
const TABLE_END_MS: i64 = 4_102_444_800_000;

/// A site's time zone with its UTC offsets laid out as a sorted table of transitions, so that
/// the local time of an event costs a binary search instead of an evaluation of the zone's
/// daylight-saving rules (which the compact zone data leaves to run time for recent years).
#[derive(Clone, Debug)]
pub(crate) struct LocalTime {
    tz: jiff::tz::TimeZone,
    /// Millisecond instants at which an offset starts, ascending; the first is the table start.
    starts: Vec<i64>,
    /// The offset in seconds from each start on.
    offsets: Vec<i32>,
}

impl LocalTime {
    pub(crate) fn new(tz: jiff::tz::TimeZone) -> LocalTime {
        let mut starts = Vec::new();
        let mut offsets = Vec::new();
        if let Ok(table_start) = jiff::Timestamp::from_millisecond(TABLE_START_MS) {
            starts.push(TABLE_START_MS);
            offsets.push(tz.to_offset(table_start).seconds());
            for transition in tz.following(table_start) {
                let start = transition.timestamp().as_millisecond();
                if start >= TABLE_END_MS {
                    break;
                }
                starts.push(start);
                offsets.push(transition.offset().seconds());
            }
        }
        LocalTime {
            tz,
            starts,
            offsets,
        }
    }

    pub(crate) fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }

    /// The offset in force at `at` (ms) and the instant it came into force, inside the table.
    fn period(&self, at: i64) -> Option<(i64, i64)> {
        if !(TABLE_START_MS..TABLE_END_MS).contains(&at) {
            return None;
        }
        let index = self
            .starts
            .partition_point(|start| *start <= at)
            .checked_sub(1)?;
        let offset_ms = i64::from(*self.offsets.get(index)?) * 1000;
        Some((offset_ms, *self.starts.get(index)?))
    }

    /// The local weekday and time of day of `at`.
    fn day_and_time(&self, at: Ts) -> Option<(MondayIndex, ClockTime)> {
        if let Some((offset_ms, _)) = self.period(at.0) {
            let local = at.0 + offset_ms;
            let seconds = u32::try_from(local.rem_euclid(DAY_MS) / 1000).unwrap_or(0);
            return Some((
                MondayIndex::of_epoch_day(local.div_euclid(DAY_MS)),
                ClockTime { seconds },
            ));
        }
        let civil = self.tz.to_datetime(at.to_timestamp()?);
        Some((MondayIndex::of(civil.weekday()), ClockTime::of_civil(civil)))
    }

    /// Local midnight at or before `at`; see [`local_day_start`].
    pub(crate) fn day_start(&self, at: Ts) -> Ts {
        // With one offset for the two days before `at`, local midnight is plain arithmetic;
        // near a transition (a skipped or repeated midnight) jiff decides.
        if let Some((offset_ms, since)) = self.period(at.0)
            && since <= at.0 - 2 * DAY_MS
        {
            let local = at.0 + offset_ms;
            return Ts(local - local.rem_euclid(DAY_MS) - offset_ms);
        }
        local_day_start(&self.tz, at)
    }
}

/// Local midnight at or before `at` in `tz`, correct across daylight-saving changes (when
/// midnight itself is skipped, the day starts at the first instant that exists).
pub fn local_day_start(tz: &jiff::tz::TimeZone, at: Ts) -> Ts {
    let start = at
        .to_timestamp()
        .map(|timestamp| timestamp.to_zoned(tz.clone()))
        .and_then(|zoned| zoned.start_of_day().ok());
    match start {
        Some(zoned) => Ts(zoned.timestamp().as_millisecond()),
        // Only at the very ends of time; the UTC day is the best answer left.
        None => Ts(at.0.saturating_sub(at.0.rem_euclid(86_400_000))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(names: &[&str]) -> Weekdays {
        names.iter().fold(Weekdays::NONE, |set, name| {
            set.union(Weekdays::parse_day(name).unwrap())
        })
    }

    fn civil(text: &str) -> jiff::civil::DateTime {
        text.parse().unwrap()
    }

    #[test]
    fn clock_times_are_strict() {
        assert_eq!(
            ClockTime::parse("07:00").map(ClockTime::seconds_after_midnight),
            Some(25_200)
        );
        assert_eq!(
            ClockTime::parse("23:59:59").map(|t| t.to_string()),
            Some("23:59:59".into())
        );
        for bad in [
            "24:00",
            "7:00",
            "07:60",
            "07",
            "07:00:00:00",
            "ab:cd",
            "",
            "07:00:60",
            "+7:00",
        ] {
            assert_eq!(ClockTime::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn weekdays_parse_and_list() {
        let set = days(&["fri", "mon"]);
        assert_eq!(set.names().collect::<Vec<_>>(), ["mon", "fri"]);
        assert!(set.contains(jiff::civil::Weekday::Friday));
        assert!(!set.contains(jiff::civil::Weekday::Sunday));
        assert_eq!(Weekdays::parse_day("monday"), None);
    }

    #[test]
    fn day_hours_are_half_open() {
        let hours = DailyHours {
            days: days(&["mon", "tue", "wed", "thu", "fri"]),
            start: ClockTime::parse("08:00").unwrap(),
            end: ClockTime::parse("18:00").unwrap(),
        };
        // 2026-03-02 is a Monday.
        assert!(!hours.contains(civil("2026-03-02T07:59:59")));
        assert!(hours.contains(civil("2026-03-02T08:00")));
        assert!(hours.contains(civil("2026-03-02T17:59:59")));
        assert!(!hours.contains(civil("2026-03-02T18:00")));
        assert!(!hours.contains(civil("2026-03-07T10:00")), "saturday");
    }

    #[test]
    fn night_shift_runs_into_the_next_day() {
        let hours = DailyHours {
            days: days(&["mon", "tue", "wed", "thu", "fri"]),
            start: ClockTime::parse("22:00").unwrap(),
            end: ClockTime::parse("06:00").unwrap(),
        };
        assert!(hours.contains(civil("2026-03-06T23:00")), "friday night");
        assert!(
            hours.contains(civil("2026-03-07T05:59")),
            "saturday morning, from friday"
        );
        assert!(!hours.contains(civil("2026-03-07T06:00")), "shift over");
        assert!(
            !hours.contains(civil("2026-03-07T23:00")),
            "saturday is not listed"
        );
        assert!(
            !hours.contains(civil("2026-03-09T05:00")),
            "sunday's shift does not exist"
        );
        assert!(hours.contains(civil("2026-03-09T22:00")), "monday night");
        assert!(!hours.contains(civil("2026-03-09T21:59")));
    }

    #[test]
    fn windows_are_half_open() {
        let window = Window {
            start: Ts(10),
            end: Ts(20),
        };
        assert!(!window.contains(Ts(9)));
        assert!(window.contains(Ts(10)));
        assert!(window.contains(Ts(19)));
        assert!(!window.contains(Ts(20)));
    }

    /// Zones with unusual rules: half-hour and 30-minute shifts, changes at midnight, negative
    /// daylight saving, permanent moves of the standard offset.
    const ZONES: [&str; 10] = [
        "Europe/Amsterdam",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Santiago",
        "America/Havana",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Europe/Dublin",
        "Africa/Casablanca",
        "Pacific/Apia",
    ];

    proptest::proptest! {
        /// The table agrees with jiff, which evaluates the zone's rules, at any instant from
        /// 1950 to 2120 (both sides of the table's ends).
        #[test]
        fn the_offset_table_agrees_with_the_zone_rules(
            zone in 0..ZONES.len(),
            at in -631_152_000_000i64..4_733_510_400_000,
        ) {
            let tz = jiff::tz::TimeZone::get(ZONES[zone]).unwrap();
            let local = LocalTime::new(tz.clone());
            let civil = tz.to_datetime(Ts(at).to_timestamp().unwrap());
            let expected = (MondayIndex::of(civil.weekday()), ClockTime::of_civil(civil));
            proptest::prop_assert_eq!(local.day_and_time(Ts(at)), Some(expected));
            proptest::prop_assert_eq!(local.day_start(Ts(at)), local_day_start(&tz, Ts(at)));
        }
    }

    #[test]
    fn the_offset_table_around_the_amsterdam_changes() {
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        let local = LocalTime::new(tz.clone());
        // Every minute of the weeks around the spring and autumn changes of 2026.
        for (from, to) in [
            ("2026-03-26T00:00:00Z", "2026-04-02T00:00:00Z"),
            ("2026-10-22T00:00:00Z", "2026-10-29T00:00:00Z"),
        ] {
            let (from, to) = (Ts::parse(from).unwrap(), Ts::parse(to).unwrap());
            for at in (from.0..to.0).step_by(60_000) {
                let civil = tz.to_datetime(Ts(at).to_timestamp().unwrap());
                assert_eq!(
                    local.day_and_time(Ts(at)),
                    Some((MondayIndex::of(civil.weekday()), ClockTime::of_civil(civil)))
                );
                assert_eq!(
                    local.day_start(Ts(at)),
                    local_day_start(&tz, Ts(at)),
                    "{}",
                    Ts(at)
                );
            }
        }
    }

    #[test]
    fn day_start_in_utc_and_at_the_ends_of_time() {
        let utc = jiff::tz::TimeZone::UTC;
        let at = Ts::parse("2026-03-02T09:12:00Z").unwrap();
        assert_eq!(
            local_day_start(&utc, at),
            Ts::parse("2026-03-02T00:00:00Z").unwrap()
        );
        assert_eq!(
            local_day_start(&utc, Ts(i64::MAX)),
            Ts(i64::MAX - i64::MAX % 86_400_000)
        );
        assert_eq!(local_day_start(&utc, Ts(-1)), Ts(-86_400_000));
        assert_eq!(local_day_start(&utc, Ts(i64::MIN)), Ts(i64::MIN));
        let table = LocalTime::new(utc);
        assert_eq!(
            table.day_start(Ts(i64::MAX)),
            Ts(i64::MAX - i64::MAX % 86_400_000)
        );
        assert_eq!(table.day_and_time(Ts(i64::MAX)), None);
    }
}
