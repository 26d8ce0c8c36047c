//! UTC timestamps in the formats S3 signing and listings use; the calendar is the `time` crate's.

use std::time::{SystemTime, UNIX_EPOCH};

use time::formatting::Formattable;
use time::macros::{datetime, format_description};
use time::{Date, Month, OffsetDateTime};

/// A UTC instant with one-second resolution, as used by request signing.
///
/// Any `i64` second count is stored and returned by [`Timestamp::unix`] unchanged. The text forms
/// ([`amz_date`](Timestamp::amz_date), [`date_stamp`](Timestamp::date_stamp),
/// [`rfc1123`](Timestamp::rfc1123)) have a four-digit year, so they render an instant before
/// `0000-01-01T00:00:00Z` as that instant and one after `9999-12-31T23:59:59Z` as that one, instead
/// of panicking or emitting a malformed year; [`Timestamp::parse_iso8601`] reads back every text
/// form this type writes.
///
/// # Examples
///
/// ```
/// use s3_stream::Timestamp;
/// let t = Timestamp::parse_iso8601("2013-05-24T00:00:00Z").unwrap();
/// assert_eq!(t.amz_date(), "20130524T000000Z");
/// assert_eq!(t.rfc1123(), "Fri, 24 May 2013 00:00:00 GMT");
/// // Out of the four-digit-year range: kept as given, rendered at the nearest end of it.
/// let far = Timestamp::from_unix(i64::MAX);
/// assert_eq!(far.unix(), i64::MAX);
/// assert_eq!(far.amz_date(), "99991231T235959Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
}

/// The earliest instant the text forms render: `0000-01-01T00:00:00Z`.
const MIN_SECS: i64 = datetime!(0000-01-01 0:00 UTC).unix_timestamp();
/// The latest instant the text forms render: `9999-12-31T23:59:59Z`.
const MAX_SECS: i64 = datetime!(9999-12-31 23:59:59 UTC).unix_timestamp();

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        Self { secs }
    }

    /// The current time (the epoch if the system clock reads earlier than it).
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Self { secs }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.secs
    }

    /// The instant as a calendar date and time, clamped to the four-digit-year range.
    fn datetime(self) -> OffsetDateTime {
        let secs = self.secs.clamp(MIN_SECS, MAX_SECS);
        // Years 0..=9999 are inside the `time` crate's range, so the fallback is never taken.
        OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Formats [`Self::datetime`] with a description of calendar and clock fields.
    fn format(self, description: &(impl Formattable + ?Sized)) -> String {
        self.datetime()
            .format(description)
            // Formatting fails only for a field the value lacks (an `OffsetDateTime` has them all)
            // or a year beyond ±9999 (clamped away above).
            .expect("a UTC date-time with a four-digit year formats")
    }

    /// `YYYYMMDDTHHMMSSZ`, the SigV4 `x-amz-date` form.
    pub fn amz_date(self) -> String {
        self.format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
    }

    /// `YYYYMMDD`, the SigV4 credential-scope date.
    pub fn date_stamp(self) -> String {
        self.format(format_description!("[year][month][day]"))
    }

    /// `Fri, 24 May 2013 00:00:00 GMT`, the HTTP `Date` form (used by SigV2).
    pub fn rfc1123(self) -> String {
        self.format(format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (S3 listings) and `YYYYMMDDTHHMMSSZ`.
    /// Returns `None` for anything else.
    ///
    /// The text up to the first `.`, `Z` or `+` must hold exactly 14 ASCII digits (other characters
    /// there are ignored), read as year, month, day, hour, minute and second. Month `01`–`12`, day
    /// `01`–`31`, hour `00`–`23`, minute `00`–`59` and second `00`–`60` are accepted; a day past the
    /// end of its month rolls over into the next (`2015-02-31` is 2015-03-03) and second `60` into
    /// the next minute.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let s = s.trim();
        let digits: String = s
            .split(['.', 'Z', '+'])
            .next()?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if digits.len() != 14 {
            return None;
        }
        let n = |a: usize, b: usize| digits[a..b].parse::<u16>().ok();
        let (y, mo, d, h, mi, se) = (
            n(0, 4)?,
            n(4, 6)?,
            n(6, 8)?,
            n(8, 10)?,
            n(10, 12)?,
            n(12, 14)?,
        );
        if !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
        // Midnight on the first of the month, then the rest as a plain count of seconds: that is
        // what lets day 31 of a shorter month and second 60 roll over instead of failing.
        let first = Date::from_calendar_date(i32::from(y), month, 1).ok()?;
        let secs = first.midnight().assume_utc().unix_timestamp()
            + (i64::from(d) - 1) * 86_400
            + i64::from(h) * 3600
            + i64::from(mi) * 60
            + i64::from(se);
        Some(Self { secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hand-rolled calendar this module used before the `time` crate (Howard Hinnant's
    /// civil-from-days and days-from-civil algorithms) and the formatting and parsing built on it,
    /// kept verbatim here only as an independent reference for the comparisons below.
    mod reference {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];

        pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
            let z = z + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z.rem_euclid(146_097);
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let y = yoe + era * 400;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
            let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
            (if m <= 2 { y + 1 } else { y }, m, d)
        }

        pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
            let y = if m <= 2 { y - 1 } else { y };
            let era = y.div_euclid(400);
            let yoe = y.rem_euclid(400);
            let m = i64::from(m);
            let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            era * 146_097 + doe - 719_468
        }

        fn parts(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
            let days = secs.div_euclid(86_400);
            let rem = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            (
                y,
                m,
                d,
                (rem / 3600) as u32,
                (rem / 60 % 60) as u32,
                (rem % 60) as u32,
            )
        }

        pub(super) fn amz_date(secs: i64) -> String {
            let (y, m, d, hh, mm, ss) = parts(secs);
            format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
        }

        pub(super) fn date_stamp(secs: i64) -> String {
            let (y, m, d, ..) = parts(secs);
            format!("{y:04}{m:02}{d:02}")
        }

        pub(super) fn rfc1123(secs: i64) -> String {
            let (y, m, d, hh, mm, ss) = parts(secs);
            let wd = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
            let mon = MONTHS[(m - 1) as usize];
            format!("{wd}, {d:02} {mon} {y:04} {hh:02}:{mm:02}:{ss:02} GMT")
        }

        /// `YYYY-MM-DDTHH:MM:SS.fffZ`, the S3 listing form.
        pub(super) fn listing(secs: i64) -> String {
            let (y, m, d, hh, mm, ss) = parts(secs);
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.000Z")
        }

        pub(super) fn parse_iso8601(s: &str) -> Option<i64> {
            let s = s.trim();
            let digits: String = s
                .split(['.', 'Z', '+'])
                .next()?
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if digits.len() != 14 {
                return None;
            }
            let n = |a: usize, b: usize| digits[a..b].parse::<u32>().ok();
            let (y, mo, d, h, mi, se) = (
                n(0, 4)?,
                n(4, 6)?,
                n(6, 8)?,
                n(8, 10)?,
                n(10, 12)?,
                n(12, 14)?,
            );
            if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
                return None;
            }
            let days = days_from_civil(i64::from(y), mo, d);
            Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + se))
        }
    }

    /// Every text form of `secs` equals the reference's, and the two parsers read them back alike.
    fn assert_matches_reference(secs: i64) {
        let t = Timestamp::from_unix(secs);
        assert_eq!(t.amz_date(), reference::amz_date(secs), "{secs}");
        assert_eq!(t.date_stamp(), reference::date_stamp(secs), "{secs}");
        assert_eq!(t.rfc1123(), reference::rfc1123(secs), "{secs}");
        for text in [t.amz_date(), reference::listing(secs)] {
            assert_eq!(Timestamp::parse_iso8601(&text), Some(t), "{text}");
            assert_eq!(reference::parse_iso8601(&text), Some(secs), "{text}");
        }
    }

    #[test]
    fn formats_known_instants() {
        let t = Timestamp::from_unix(1_175_030_145); // Tue, 27 Mar 2007 21:15:45 GMT
        assert_eq!(t.rfc1123(), "Tue, 27 Mar 2007 21:15:45 GMT");
        assert_eq!(t.amz_date(), "20070327T211545Z");
        assert_eq!(t.date_stamp(), "20070327");
        assert_eq!(
            Timestamp::from_unix(0).rfc1123(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn parses_listing_and_amz_forms() {
        let a = Timestamp::parse_iso8601("2015-08-30T12:36:00Z").unwrap();
        assert_eq!(a.amz_date(), "20150830T123600Z");
        let b = Timestamp::parse_iso8601("2015-08-30T12:36:00.123Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(Timestamp::parse_iso8601("20150830T123600Z"), Some(a));
        assert_eq!(Timestamp::parse_iso8601("nonsense"), None);
        assert_eq!(Timestamp::parse_iso8601("2015-13-30T12:36:00Z"), None);
    }

    #[test]
    fn round_trips_many_days() {
        for days in (0..2_900_000).step_by(997) {
            let t = Timestamp::from_unix(days * 86_400 + 3723);
            let back = Timestamp::parse_iso8601(&t.amz_date()).unwrap();
            assert_eq!(back, t);
        }
    }

    /// Fixed vectors from Python's `datetime` (an oracle independent of both calendars here):
    /// RFC 9110's example date, a leap day, and 2100 (not a leap year).
    #[test]
    fn formats_python_datetime_vectors() {
        for (secs, rfc, amz) in [
            (
                784_111_777,
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "19941106T084937Z",
            ),
            (
                951_825_600,
                "Tue, 29 Feb 2000 12:00:00 GMT",
                "20000229T120000Z",
            ),
            (
                1_796_511_600,
                "Sat, 05 Dec 2026 23:00:00 GMT",
                "20261205T230000Z",
            ),
            (
                4_107_542_399,
                "Sun, 28 Feb 2100 23:59:59 GMT",
                "21000228T235959Z",
            ),
            (
                4_107_542_400,
                "Mon, 01 Mar 2100 00:00:00 GMT",
                "21000301T000000Z",
            ),
        ] {
            let t = Timestamp::from_unix(secs);
            assert_eq!(t.rfc1123(), rfc);
            assert_eq!(t.amz_date(), amz);
            assert_eq!(t.date_stamp(), amz[..8]);
            assert_eq!(Timestamp::parse_iso8601(amz), Some(t));
        }
    }

    /// Every day from 1970-01-01 to 2100-12-31, at its first and last second and one in between
    /// that walks through the day, against the reference calendar.
    #[test]
    fn every_day_1970_to_2100_matches_reference() {
        let last = reference::days_from_civil(2100, 12, 31);
        assert_eq!(last, 47_846);
        for day in 0..=last {
            let start = day * 86_400;
            for secs in [start, start + day * 7919 % 86_400, start + 86_399] {
                assert_matches_reference(secs);
            }
        }
    }

    #[test]
    fn range_ends_and_out_of_range_inputs() {
        assert_eq!(MIN_SECS, reference::days_from_civil(0, 1, 1) * 86_400);
        assert_eq!(
            MAX_SECS,
            reference::days_from_civil(10_000, 1, 1) * 86_400 - 1
        );
        assert_matches_reference(MIN_SECS);
        assert_matches_reference(MAX_SECS);
        let lo = Timestamp::from_unix(MIN_SECS);
        assert_eq!(lo.rfc1123(), "Sat, 01 Jan 0000 00:00:00 GMT");
        let hi = Timestamp::from_unix(MAX_SECS);
        assert_eq!(hi.rfc1123(), "Fri, 31 Dec 9999 23:59:59 GMT");
        for secs in [i64::MIN, MIN_SECS - 1, -(1 << 50)] {
            let t = Timestamp::from_unix(secs);
            assert_eq!(t.unix(), secs);
            assert_eq!(t.amz_date(), "00000101T000000Z");
            assert_eq!(t.date_stamp(), "00000101");
            assert_eq!(t.rfc1123(), lo.rfc1123());
        }
        for secs in [i64::MAX, MAX_SECS + 1, 1 << 50] {
            let t = Timestamp::from_unix(secs);
            assert_eq!(t.unix(), secs);
            assert_eq!(t.amz_date(), "99991231T235959Z");
            assert_eq!(t.date_stamp(), "99991231");
            assert_eq!(t.rfc1123(), hi.rfc1123());
        }
        // The parser's own extremes (four-digit years, second 60) do not overflow either.
        assert_eq!(
            Timestamp::parse_iso8601("0000-01-01T00:00:00Z"),
            Some(Timestamp::from_unix(MIN_SECS))
        );
        assert_eq!(
            Timestamp::parse_iso8601("9999-12-31T23:59:60Z"),
            Some(Timestamp::from_unix(MAX_SECS + 1))
        );
    }

    #[test]
    fn parse_rolls_over_like_before() {
        let p = |s: &str| Timestamp::parse_iso8601(s).map(Timestamp::amz_date);
        assert_eq!(
            p("2015-02-31T00:00:00Z").as_deref(),
            Some("20150303T000000Z")
        );
        assert_eq!(
            p("2016-02-30T00:00:00Z").as_deref(),
            Some("20160301T000000Z")
        );
        assert_eq!(
            p("2015-04-31T10:00:00Z").as_deref(),
            Some("20150501T100000Z")
        );
        assert_eq!(
            p("2015-12-31T23:59:60Z").as_deref(),
            Some("20160101T000000Z")
        );
        assert_eq!(
            p("2015/08/30 12:36:00+01:00").as_deref(),
            Some("20150830T123600Z")
        );
        for bad in [
            "",
            "2015-00-30T12:36:00Z",
            "2015-08-00T12:36:00Z",
            "2015-08-32T12:36:00Z",
            "2015-08-30T24:00:00Z",
            "2015-08-30T12:60:00Z",
            "2015-08-30T12:36:61Z",
            "2015-08-30T12:36Z",
            "2015-08-30T12:36:00-05:00",
            "12015-08-30T12:36:00Z",
        ] {
            assert_eq!(p(bad), None, "{bad}");
            assert_eq!(reference::parse_iso8601(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn formats_match_reference(secs in MIN_SECS..=MAX_SECS) {
            assert_matches_reference(secs);
        }

        #[test]
        fn out_of_range_formats_at_the_nearest_end(secs in any::<i64>()) {
            let t = Timestamp::from_unix(secs);
            let clamped = secs.clamp(MIN_SECS, MAX_SECS);
            prop_assert_eq!(t.unix(), secs);
            prop_assert_eq!(t.amz_date(), reference::amz_date(clamped));
            prop_assert_eq!(t.rfc1123(), reference::rfc1123(clamped));
            prop_assert_eq!(
                Timestamp::parse_iso8601(&t.amz_date()),
                Some(Timestamp::from_unix(clamped))
            );
        }

        /// Field values in and just outside their ranges, in the listing and the amz layout:
        /// accepted and rejected alike, with the same instant.
        #[test]
        fn parse_fields_match_reference(
            y in 0u32..=9999,
            mo in 0u32..=13,
            d in 0u32..=32,
            h in 0u32..=24,
            mi in 0u32..=60,
            se in 0u32..=61,
            listing in any::<bool>(),
            tail in prop::sample::select(vec!["Z", ".5Z", ".123Z", "", "+00:00", " "]),
        ) {
            let s = if listing {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{tail}")
            } else {
                format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{se:02}{tail}")
            };
            prop_assert_eq!(
                Timestamp::parse_iso8601(&s).map(Timestamp::unix),
                reference::parse_iso8601(&s),
                "{}", s
            );
        }

        #[test]
        fn parse_any_text_matches_reference(s in "[0-9TZ:. +-]{0,28}") {
            prop_assert_eq!(
                Timestamp::parse_iso8601(&s).map(Timestamp::unix),
                reference::parse_iso8601(&s),
                "{:?}", s
            );
        }
    }
}
