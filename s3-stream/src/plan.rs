//! The part plan: how a stream is cut into multipart-upload parts. Pure.
//!
//! S3 rules: at most 10,000 parts, every part but the last at least 5 MiB, at most 5 GiB each.
//! Some stores (Cloudflare R2) also require every non-last part to have the same size, so the plan
//! always uses one size, rounded up to a whole MiB.

use std::ops::Range;

use crate::error::{Error, Result};

/// 1 MiB.
pub const MIB: u64 = 1024 * 1024;
/// S3's smallest allowed non-last part.
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's largest allowed part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// S3's largest part number.
pub const MAX_PARTS: u32 = 10_000;
/// Part size used for known lengths unless a larger one is needed or requested.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// Part size used for streams of unknown length unless told otherwise (a 156 GiB ceiling).
pub const DEFAULT_STREAM_PART_SIZE: u64 = 16 * MIB;

/// Limits of the destination store. `Default` is AWS S3's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLimits {
    /// Smallest non-last part.
    pub min_part_size: u64,
    /// Largest part.
    pub max_part_size: u64,
    /// Most parts in one upload.
    pub max_parts: u32,
}

impl Default for PartLimits {
    fn default() -> Self {
        Self {
            min_part_size: MIN_PART_SIZE,
            max_part_size: MAX_PART_SIZE,
            max_parts: MAX_PARTS,
        }
    }
}

/// A fixed part size plus, when known, the total length.
///
/// # Examples
///
/// ```
/// use s3_stream::plan::{PartPlan, PartLimits, MIB};
/// // 100 GiB with the default 8 MiB request: 8 MiB would need 12,800 parts, so 11 MiB is used.
/// let p = PartPlan::new(Some(100 * 1024 * MIB), Some(8 * MIB), PartLimits::default()).unwrap();
/// assert_eq!(p.part_size(), 11 * MIB);
/// assert!(p.part_count().unwrap() <= 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    part_size: u64,
    total: Option<u64>,
    limits: PartLimits,
}

fn round_up_mib(n: u64) -> u64 {
    n.div_ceil(MIB) * MIB
}

impl PartPlan {
    /// Plans parts for `total` bytes (or an unknown length). `requested` is the caller's part size;
    /// for a known length it is raised (to whole MiB) when needed to stay within `max_parts`.
    ///
    /// # Errors
    ///
    /// [`Error::Plan`] when the length cannot fit in `max_parts` parts of `max_part_size`, or the
    /// requested size is outside the limits.
    pub fn new(total: Option<u64>, requested: Option<u64>, limits: PartLimits) -> Result<Self> {
        let err = |reason: String| Error::Plan { reason };
        if limits.max_parts == 0 || limits.min_part_size == 0 {
            return Err(err("part limits must be positive".into()));
        }
        if let Some(r) = requested {
            if r < limits.min_part_size {
                return Err(err(format!(
                    "part size {r} is below the store's minimum of {}",
                    limits.min_part_size
                )));
            }
            if r > limits.max_part_size {
                return Err(err(format!(
                    "part size {r} is above the store's maximum of {}",
                    limits.max_part_size
                )));
            }
        }
        let base = requested.unwrap_or(match total {
            Some(_) => DEFAULT_PART_SIZE.max(limits.min_part_size),
            None => DEFAULT_STREAM_PART_SIZE.max(limits.min_part_size),
        });
        let part_size = match total {
            Some(t) => {
                let needed = t.div_ceil(u64::from(limits.max_parts));
                if needed <= base {
                    base
                } else {
                    round_up_mib(needed).max(limits.min_part_size)
                }
            }
            None => base,
        };
        if part_size > limits.max_part_size {
            return Err(err(format!(
                "{} bytes need parts of {part_size} bytes, above the store's maximum of {}",
                total.unwrap_or(0),
                limits.max_part_size
            )));
        }
        Ok(Self {
            part_size,
            total,
            limits,
        })
    }

    /// The size of every part but the last.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// Total length, when known.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The largest stream this plan can carry (`part_size × max_parts`).
    pub fn capacity(&self) -> u64 {
        self.part_size * u64::from(self.limits.max_parts)
    }

    /// Number of parts for a known length (a 0-byte object has one empty part).
    pub fn part_count(&self) -> Option<u32> {
        self.total.map(|t| t.div_ceil(self.part_size).max(1) as u32)
    }

    /// Byte range of part `number` (1-based) for a known length, or of a full part otherwise.
    pub fn part_range(&self, number: u32) -> Range<u64> {
        let start = u64::from(number.saturating_sub(1)) * self.part_size;
        let end = start + self.part_size;
        match self.total {
            Some(t) => start.min(t)..end.min(t),
            None => start..end,
        }
    }

    /// Checks that part `number` may be uploaded: for a stream of unknown length this is where the
    /// 10,001st part is refused, before any byte of it is sent.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyParts`] past `max_parts`.
    pub fn check_part_number(&self, number: u32) -> Result<()> {
        if number == 0 || number > self.limits.max_parts {
            return Err(Error::TooManyParts {
                part_size: self.part_size,
                max_parts: self.limits.max_parts,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_known_length_uses_default() {
        let p = PartPlan::new(Some(20 * MIB), None, PartLimits::default()).unwrap();
        assert_eq!(p.part_size(), 8 * MIB);
        assert_eq!(p.part_count(), Some(3));
        assert_eq!(p.part_range(3), 16 * MIB..20 * MIB);
    }

    #[test]
    fn huge_length_raises_part_size() {
        let t = 5 * 1024 * 1024 * MIB; // 5 TiB
        let p = PartPlan::new(Some(t), None, PartLimits::default()).unwrap();
        assert_eq!(p.part_size(), 525 * MIB);
        assert!(p.part_count().unwrap() <= MAX_PARTS);
    }

    #[test]
    fn too_big_is_an_error() {
        let t = 49 * 1024 * 1024 * MIB;
        assert!(matches!(
            PartPlan::new(Some(t), None, PartLimits::default()),
            Err(Error::Plan { .. })
        ));
        assert!(PartPlan::new(None, Some(MIB), PartLimits::default()).is_err());
    }

    #[test]
    fn unknown_length_refuses_part_10001() {
        let p = PartPlan::new(None, None, PartLimits::default()).unwrap();
        assert_eq!(p.part_size(), DEFAULT_STREAM_PART_SIZE);
        assert!(p.check_part_number(10_000).is_ok());
        let e = p.check_part_number(10_001).unwrap_err();
        assert!(e.to_string().contains("10000"), "{e}");
    }

    #[test]
    fn empty_object_has_one_part() {
        let p = PartPlan::new(Some(0), None, PartLimits::default()).unwrap();
        assert_eq!(p.part_count(), Some(1));
        assert_eq!(p.part_range(1), 0..0);
    }

    proptest! {
        #[test]
        fn plan_invariants(total in 0u64..60_000_000_000_000, req_mib in proptest::option::of(5u64..600)) {
            let limits = PartLimits::default();
            if let Ok(p) = PartPlan::new(Some(total), req_mib.map(|m| m * MIB), limits) {
                let n = p.part_count().unwrap();
                prop_assert!((1..=MAX_PARTS).contains(&n));
                prop_assert!(p.part_size() >= MIN_PART_SIZE);
                prop_assert!(p.part_size() <= MAX_PART_SIZE);
                prop_assert_eq!(p.part_size() % MIB, 0);
                let mut sum = 0;
                for i in 1..=n {
                    let r = p.part_range(i);
                    prop_assert_eq!(r.start, sum);
                    if i < n { prop_assert_eq!(r.end - r.start, p.part_size()); }
                    sum = r.end;
                }
                prop_assert_eq!(sum, total);
            } else {
                prop_assert!(total > MAX_PART_SIZE * u64::from(MAX_PARTS));
            }
        }
    }
}
