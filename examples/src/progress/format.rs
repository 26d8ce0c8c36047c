//! The text of a progress line: byte counts, rates and time left. Pure functions of numbers, so
//! the display and its tests agree on every figure.

use std::time::Duration;

const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// A byte count in binary units: `512 B`, `1.50 KiB`, `12.3 MiB`, `100 GiB` (three significant
/// figures past the first unit).
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    // Round first, so 1023.99 KiB is shown as 1.00 MiB rather than 1024 KiB.
    let text = three_figures(value);
    if text == "1024" && unit < UNITS.len() - 1 {
        return format!("1.00 {}", UNITS[unit + 1]);
    }
    format!("{text} {}", UNITS[unit])
}

/// `value` (1 ≤ value < 1024) with three significant figures.
fn three_figures(value: f64) -> String {
    if value < 9.995 {
        format!("{value:.2}")
    } else if value < 99.95 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// A transfer rate: `12.3 MiB/s`; `-` while there is no rate yet (nothing moved, or not a finite
/// positive number).
pub fn rate(bytes_per_sec: f64) -> String {
    if !bytes_per_sec.is_finite() || bytes_per_sec <= 0.0 {
        return "-".to_owned();
    }
    if bytes_per_sec < 1.0 {
        return "0 B/s".to_owned();
    }
    format!("{}/s", bytes(bytes_per_sec as u64))
}

/// Time left at `bytes_per_sec` for the bytes between `done` and `total`: `None` when the total is
/// unknown or there is no rate yet; zero once `done` reached `total`.
pub fn eta(done: u64, total: Option<u64>, bytes_per_sec: f64) -> Option<Duration> {
    let left = total?.saturating_sub(done);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    if !bytes_per_sec.is_finite() || bytes_per_sec <= 0.0 {
        return None;
    }
    let secs = left as f64 / bytes_per_sec;
    // Past a year the figure means nothing; say so rather than overflow.
    (secs < 365.0 * 86_400.0).then(|| Duration::from_secs_f64(secs.ceil()))
}

/// A duration to the second: `7s`, `3m05s`, `2h04m`, `3d01h`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() >= 500_000_000);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The figures of a byte progress line: `1.00 GiB/4.00 GiB 12.0 MiB/s eta 4m16s`, or without a
/// known total `1.00 GiB 12.0 MiB/s`.
pub fn stats(done: u64, total: Option<u64>, bytes_per_sec: f64) -> String {
    let mut text = bytes(done);
    if let Some(t) = total {
        text.push('/');
        text.push_str(&bytes(t));
    }
    text.push(' ');
    text.push_str(&rate(bytes_per_sec));
    if total.is_some() {
        text.push_str(" eta ");
        match eta(done, total, bytes_per_sec) {
            Some(d) => text.push_str(&duration(d)),
            None => text.push('-'),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_counts() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(12_900_000), "12.3 MiB");
        assert_eq!(bytes(100 << 30), "100 GiB");
        assert_eq!(bytes((1 << 20) - 1), "1.00 MiB");
        assert_eq!(bytes(50 << 30), "50.0 GiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn rates() {
        assert_eq!(rate(0.0), "-");
        assert_eq!(rate(f64::NAN), "-");
        assert_eq!(rate(f64::INFINITY), "-");
        assert_eq!(rate(-3.0), "-");
        assert_eq!(rate(0.5), "0 B/s");
        assert_eq!(rate(300.0), "300 B/s");
        assert_eq!(rate(12.0 * 1024.0 * 1024.0), "12.0 MiB/s");
    }

    #[test]
    fn time_left() {
        assert_eq!(eta(0, None, 100.0), None);
        assert_eq!(eta(0, Some(1000), 0.0), None);
        assert_eq!(eta(0, Some(1000), 100.0), Some(Duration::from_secs(10)));
        assert_eq!(eta(999, Some(1000), 100.0), Some(Duration::from_secs(1)));
        assert_eq!(eta(1000, Some(1000), 0.0), Some(Duration::ZERO));
        assert_eq!(eta(2000, Some(1000), 5.0), Some(Duration::ZERO));
        assert_eq!(eta(0, Some(u64::MAX), 1.0), None);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(7400)), "7s");
        assert_eq!(duration(Duration::from_millis(59_600)), "1m00s");
        assert_eq!(duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(
            duration(Duration::from_secs(2 * 3600 + 4 * 60 + 59)),
            "2h04m"
        );
        assert_eq!(duration(Duration::from_secs(3 * 86_400 + 3600)), "3d01h");
    }

    #[test]
    fn whole_lines() {
        let mib = 1024.0 * 1024.0;
        assert_eq!(
            stats(1 << 30, Some(4 << 30), 12.0 * mib),
            "1.00 GiB/4.00 GiB 12.0 MiB/s eta 4m16s"
        );
        assert_eq!(stats(1 << 30, None, 12.0 * mib), "1.00 GiB 12.0 MiB/s");
        assert_eq!(stats(0, Some(10), 0.0), "0 B/10 B - eta -");
    }

    proptest! {
        #[test]
        fn byte_text_has_a_number_of_at_most_four_digits_and_a_unit(n in any::<u64>()) {
            let text = bytes(n);
            let (number, unit) = text.split_once(' ').unwrap();
            prop_assert!(UNITS.contains(&unit));
            prop_assert!(number.chars().filter(char::is_ascii_digit).count() <= 4, "{text}");
            let value: f64 = number.parse().unwrap();
            let scale = 1024f64.powi(UNITS.iter().position(|u| *u == unit).unwrap() as i32);
            // Within rounding of three significant figures.
            prop_assert!((value * scale - n as f64).abs() <= n as f64 * 0.006 + 0.5, "{text}");
        }

        #[test]
        fn eta_times_rate_covers_what_is_left(done in 0u64..1 << 40, left in 1u64..1 << 40,
                                              rate in 1.0f64..1e10) {
            let d = eta(done, Some(done + left), rate).unwrap();
            prop_assert!(d.as_secs_f64() * rate >= left as f64 - 1e-6);
            prop_assert!((d.as_secs_f64() - 1.0) * rate < left as f64);
        }
    }
}
