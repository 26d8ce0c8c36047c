//! UTC timestamps without a calendar dependency: the formats S3 signing and listings use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant with one-second resolution, as used by request signing.
///
/// # Examples
///
/// ```
/// use s3_stream::Timestamp;
/// let t = Timestamp::parse_iso8601("2013-05-24T00:00:00Z").unwrap();
/// assert_eq!(t.amz_date(), "20130524T000000Z");
/// assert_eq!(t.rfc1123(), "Fri, 24 May 2013 00:00:00 GMT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

// Howard Hinnant's civil-from-days and days-from-civil algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        Self { secs }
    }

    /// The current time.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        Self { secs: secs as i64 }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.secs
    }

    fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
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

    /// `YYYYMMDDTHHMMSSZ`, the SigV4 `x-amz-date` form.
    pub fn amz_date(self) -> String {
        let (y, m, d, hh, mm, ss) = self.parts();
        format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
    }

    /// `YYYYMMDD`, the SigV4 credential-scope date.
    pub fn date_stamp(self) -> String {
        let (y, m, d, ..) = self.parts();
        format!("{y:04}{m:02}{d:02}")
    }

    /// `Fri, 24 May 2013 00:00:00 GMT`, the HTTP `Date` form (used by SigV2).
    pub fn rfc1123(self) -> String {
        let (y, m, d, hh, mm, ss) = self.parts();
        let wd = DAYS[self.secs.div_euclid(86_400).rem_euclid(7) as usize];
        let mon = MONTHS[(m - 1) as usize];
        format!("{wd}, {d:02} {mon} {y:04} {hh:02}:{mm:02}:{ss:02} GMT")
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (S3 listings) and `YYYYMMDDTHHMMSSZ`.
    /// Returns `None` for anything else.
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
        Some(Self {
            secs: days * 86_400 + i64::from(h * 3600 + mi * 60 + se),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
