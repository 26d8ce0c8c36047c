//! DMTF programmatic units (DSP0004 annex C), as used by `ovf:capacityAllocationUnits` and
//! `rasd:AllocationUnits`.
//!
//! Accepted forms: a base unit followed by any number of `* N` or `* N^E` factors, with or
//! without spaces (`byte * 2^30`, `byte*2^30`, `byte * 2 ^ 20`, `byte*1024*1024`,
//! `byte * 1024^3`, `hertz * 10^6`), and the names found in the wild (`KiloBytes`,
//! `MegaBytes`, `GigaBytes`, `TeraBytes`, `kibibytes`, `MB`, `GiB`, `MegaHertz`, ...).
//! For bytes the decimal-looking names (`MegaBytes`, `KB`) mean powers of 1024: that is what
//! VirtualBox means when it writes them and what other OVF tools assume. Anything else is an
//! error, never a guess.

use serde::Serialize;

/// A parsed programmatic unit: a base unit and an integer multiplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammaticUnit {
    /// The base unit, lowercased and singular (`byte`, `hertz`, `bit`, ...).
    pub base: String,
    /// How many base units one unit is (`2^30` for `byte * 2^30`).
    pub multiplier: u128,
}

/// Why a unit string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitError {
    /// The string is empty.
    Empty,
    /// The string does not follow the grammar; `at` is the byte offset of the problem.
    Syntax {
        /// Byte offset.
        at: usize,
    },
    /// The multiplier does not fit in 128 bits (or, for bytes, 64 bits).
    Overflow,
    /// The base unit is not the expected one (e.g. `hertz` where bytes were expected).
    WrongBase {
        /// The base found.
        found: String,
    },
}

impl std::fmt::Display for UnitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitError::Empty => f.write_str("empty unit"),
            UnitError::Syntax { at } => write!(f, "unit syntax error at offset {at}"),
            UnitError::Overflow => f.write_str("unit multiplier overflows"),
            UnitError::WrongBase { found } => write!(f, "unit base is {found}, not byte"),
        }
    }
}

impl std::error::Error for UnitError {}

/// Named units: (lowercased name, base, multiplier).
const NAMED: &[(&str, &str, u128)] = &[
    ("byte", "byte", 1),
    ("bytes", "byte", 1),
    ("b", "byte", 1),
    ("kilobyte", "byte", 1 << 10),
    ("kilobytes", "byte", 1 << 10),
    ("kibibyte", "byte", 1 << 10),
    ("kibibytes", "byte", 1 << 10),
    ("kb", "byte", 1 << 10),
    ("kib", "byte", 1 << 10),
    ("megabyte", "byte", 1 << 20),
    ("megabytes", "byte", 1 << 20),
    ("mebibyte", "byte", 1 << 20),
    ("mebibytes", "byte", 1 << 20),
    ("mb", "byte", 1 << 20),
    ("mib", "byte", 1 << 20),
    ("gigabyte", "byte", 1 << 30),
    ("gigabytes", "byte", 1 << 30),
    ("gibibyte", "byte", 1 << 30),
    ("gibibytes", "byte", 1 << 30),
    ("gb", "byte", 1 << 30),
    ("gib", "byte", 1 << 30),
    ("terabyte", "byte", 1 << 40),
    ("terabytes", "byte", 1 << 40),
    ("tebibyte", "byte", 1 << 40),
    ("tebibytes", "byte", 1 << 40),
    ("tb", "byte", 1 << 40),
    ("tib", "byte", 1 << 40),
    ("bit", "bit", 1),
    ("bits", "bit", 1),
    ("hertz", "hertz", 1),
    ("hz", "hertz", 1),
    ("kilohertz", "hertz", 1_000),
    ("megahertz", "hertz", 1_000_000),
    ("mhz", "hertz", 1_000_000),
    ("gigahertz", "hertz", 1_000_000_000),
    ("ghz", "hertz", 1_000_000_000),
    ("second", "second", 1),
    ("seconds", "second", 1),
];

/// Parses a programmatic unit string.
///
/// # Errors
///
/// [`UnitError`] when the string is empty, does not follow the grammar, names an unknown
/// unit, or its multiplier overflows.
///
/// # Examples
///
/// ```
/// use ova_core::ovf::units::parse_unit;
/// let u = parse_unit("byte * 2^30").unwrap();
/// assert_eq!((u.base.as_str(), u.multiplier), ("byte", 1 << 30));
/// assert_eq!(parse_unit("hertz * 10^6").unwrap().multiplier, 1_000_000);
/// assert!(parse_unit("byte * 2^").is_err());
/// ```
pub fn parse_unit(s: &str) -> Result<ProgrammaticUnit, UnitError> {
    let b = s.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if i == b.len() {
        return Err(UnitError::Empty);
    }
    let word_start = i;
    while i < b.len() && b[i].is_ascii_alphabetic() {
        i += 1;
    }
    if i == word_start {
        return Err(UnitError::Syntax { at: i });
    }
    let word = s[word_start..i].to_ascii_lowercase();
    let (_, base, mut multiplier) = NAMED
        .iter()
        .find(|(n, _, _)| *n == word)
        .copied()
        .ok_or(UnitError::Syntax { at: word_start })?;
    loop {
        skip_ws(&mut i);
        if i == b.len() {
            break;
        }
        if b[i] != b'*' {
            return Err(UnitError::Syntax { at: i });
        }
        i += 1;
        skip_ws(&mut i);
        let factor_base = parse_number(b, &mut i)?;
        skip_ws(&mut i);
        let factor = if i < b.len() && b[i] == b'^' {
            i += 1;
            skip_ws(&mut i);
            let exp = parse_number(b, &mut i)?;
            let exp = u32::try_from(exp).map_err(|_| UnitError::Overflow)?;
            factor_base.checked_pow(exp).ok_or(UnitError::Overflow)?
        } else {
            factor_base
        };
        if factor == 0 {
            return Err(UnitError::Syntax { at: i });
        }
        multiplier = multiplier.checked_mul(factor).ok_or(UnitError::Overflow)?;
    }
    Ok(ProgrammaticUnit {
        base: base.to_string(),
        multiplier,
    })
}

fn parse_number(b: &[u8], i: &mut usize) -> Result<u128, UnitError> {
    let start = *i;
    let mut n: u128 = 0;
    while *i < b.len() && b[*i].is_ascii_digit() {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(b[*i] - b'0')))
            .ok_or(UnitError::Overflow)?;
        *i += 1;
    }
    if *i == start {
        return Err(UnitError::Syntax { at: start });
    }
    Ok(n)
}

/// How many bytes one unit of `s` is (`"byte * 2^20"` → 1048576).
///
/// # Errors
///
/// [`UnitError`] when `s` does not parse, is not a byte unit, or exceeds 64 bits.
///
/// # Examples
///
/// ```
/// use ova_core::ovf::units::bytes_per_unit;
/// assert_eq!(bytes_per_unit("byte*1024*1024").unwrap(), 1 << 20);
/// assert_eq!(bytes_per_unit("MegaBytes").unwrap(), 1 << 20);
/// assert!(bytes_per_unit("hertz * 10^6").is_err());
/// ```
pub fn bytes_per_unit(s: &str) -> Result<u64, UnitError> {
    let u = parse_unit(s)?;
    if u.base != "byte" {
        return Err(UnitError::WrongBase { found: u.base });
    }
    u64::try_from(u.multiplier).map_err(|_| UnitError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms_seen_in_the_wild() {
        for (s, m) in [
            ("byte", 1u64),
            ("byte * 2^20", 1 << 20),
            ("byte * 2^30", 1 << 30),
            ("byte*2^30", 1 << 30),
            ("byte * 2 ^ 20", 1 << 20),
            ("byte*1024*1024", 1 << 20),
            ("byte * 1024^3", 1 << 30),
            ("byte * 10^9", 1_000_000_000),
            ("KiloBytes", 1 << 10),
            ("MegaBytes", 1 << 20),
            ("GigaBytes", 1 << 30),
            ("TeraBytes", 1 << 40),
            ("  MB ", 1 << 20),
            ("gibibytes", 1 << 30),
        ] {
            assert_eq!(bytes_per_unit(s), Ok(m), "{s}");
        }
        assert_eq!(parse_unit("Hertz*10^9").unwrap().multiplier, 1_000_000_000);
        assert_eq!(parse_unit("MegaHertz").unwrap().base, "hertz");
    }

    #[test]
    fn refuses_rather_than_guesses() {
        assert_eq!(bytes_per_unit(""), Err(UnitError::Empty));
        for s in [
            "byte * 2^",
            "byte *",
            "byte ^ 2",
            "furlong",
            "byte / 8",
            "byte * 0",
            "2^30",
            "byte * 2^30 extra",
            "@@UNITS@@",
        ] {
            assert!(bytes_per_unit(s).is_err(), "{s}");
        }
        assert_eq!(bytes_per_unit("byte * 2^64"), Err(UnitError::Overflow));
        assert_eq!(parse_unit("byte * 2^200"), Err(UnitError::Overflow));
        assert!(matches!(
            bytes_per_unit("hertz * 10^6"),
            Err(UnitError::WrongBase { .. })
        ));
    }

    proptest! {
        #[test]
        fn power_forms_agree(e in 0u32..63, spaces in 0usize..3) {
            let sp = " ".repeat(spaces);
            let a = format!("byte{sp}*{sp}2{sp}^{sp}{e}");
            prop_assert_eq!(bytes_per_unit(&a), Ok(1u64 << e));
            if e % 10 == 0 {
                let b = format!("byte * 1024^{}", e / 10);
                prop_assert_eq!(bytes_per_unit(&b), Ok(1u64 << e));
            }
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_unit(&s);
        }

        #[test]
        fn product_of_factors(fs in proptest::collection::vec(1u64..5000, 0..4)) {
            let text = std::iter::once("byte".to_string())
                .chain(fs.iter().map(|f| f.to_string()))
                .collect::<Vec<_>>()
                .join(" * ");
            let expected = fs.iter().try_fold(1u64, |a, f| a.checked_mul(*f));
            match expected {
                Some(m) => prop_assert_eq!(bytes_per_unit(&text), Ok(m)),
                None => prop_assert!(bytes_per_unit(&text).is_err()),
            }
        }
    }
}
