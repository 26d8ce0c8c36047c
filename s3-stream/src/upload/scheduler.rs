//! What to send next, decided without IO: the part numbering of a source (known length or a
//! stream), and which parts of a resumed upload the store already holds correctly. Pure.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::ledger::unquote_etag;
use crate::plan::PartPlan;

use crate::xml::StoredPart;

/// Parts of a resumed upload that may be kept: those whose size is the plan's for their number
/// and whose ETag is a plain MD5 (so the bytes read now can be compared with it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reusable {
    parts: BTreeMap<u32, ([u8; 16], u64, String)>,
}

impl Reusable {
    /// Keeps the listed parts that can be checked against the source under `plan`.
    pub(crate) fn from_listing(plan: &PartPlan, listed: &[StoredPart]) -> Self {
        let mut parts = BTreeMap::new();
        for p in listed {
            let Some(count) = plan.part_count() else {
                continue;
            };
            if p.number == 0 || p.number > count {
                continue;
            }
            let want = plan.part_range(p.number);
            let mut md5 = [0u8; 16];
            let e = unquote_etag(&p.etag);
            if p.size == want.end - want.start
                && e.len() == 32
                && hex::decode_to_slice(e, &mut md5).is_ok()
            {
                parts.insert(p.number, (md5, p.size, p.etag.clone()));
            }
        }
        Self { parts }
    }

    /// Parts that may be kept.
    pub(crate) fn len(&self) -> usize {
        self.parts.len()
    }

    /// The stored MD5 of part `n`, when it may be kept.
    pub(crate) fn candidate(&self, n: u32) -> Option<&[u8; 16]> {
        self.parts.get(&n).map(|(m, _, _)| m)
    }

    /// The stored ETag to complete with, when the part read now (`size` bytes, MD5 `md5`) is the
    /// one the store holds; `None` means "upload it".
    pub(crate) fn verdict(&self, n: u32, size: u64, md5: Option<[u8; 16]>) -> Option<String> {
        let (m, s, etag) = self.parts.get(&n)?;
        (Some(*m) == md5 && *s == size).then(|| etag.clone())
    }
}

/// The next step of a producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Read part `number`: exactly `range` for a known length, up to `range.end - range.start`
    /// bytes of a stream.
    Read { number: u32, range: Range<u64> },
    /// Every part was handed over.
    Done,
}

/// Hands out part numbers and ranges, and checks what the producer read against the plan.
#[derive(Debug, Clone)]
pub(crate) struct Scheduler {
    plan: PartPlan,
    handed: u32,
    read: u64,
    ended: bool,
}

impl Scheduler {
    /// A scheduler for `plan`.
    pub(crate) fn new(plan: PartPlan) -> Self {
        Self {
            plan,
            handed: 0,
            read: 0,
            ended: false,
        }
    }

    /// What to read next.
    pub(crate) fn next(&self) -> Next {
        if self.ended || self.plan.part_count().is_some_and(|c| self.handed >= c) {
            return Next::Done;
        }
        let number = self.handed + 1;
        Next::Read {
            number,
            range: self.plan.part_range(number),
        }
    }

    /// Records that part `number` was read with `len` bytes. For a stream, a short part is the
    /// last one; an empty read ends the stream without a part (returns `false`: do not send it).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when a known-length source gave fewer bytes than its part needs;
    /// [`Error::TooManyParts`] past the part limit.
    pub(crate) fn read(&mut self, number: u32, len: u64, name: &str) -> Result<bool> {
        let range = self.plan.part_range(number);
        let want = range.end - range.start;
        if let Some(t) = self.plan.total()
            && len < want
        {
            return Err(Error::Truncated {
                what: name.to_owned(),
                expected: t,
                received: self.read + len,
            });
        }
        if len == 0 && self.plan.total().is_none() {
            self.ended = true;
            return Ok(false);
        }
        self.plan.check_part_number(number)?;
        self.handed = number;
        self.read += len;
        if self.plan.total().is_none() && len < self.plan.part_size() {
            self.ended = true;
        }
        Ok(true)
    }

    /// Parts handed over.
    pub(crate) fn parts(&self) -> u32 {
        self.handed
    }

    /// Bytes handed over.
    pub(crate) fn bytes(&self) -> u64 {
        self.read
    }

    /// Checks the total at the end against a known length.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] when fewer bytes than announced were read.
    pub(crate) fn check_end(&self, name: &str) -> Result<()> {
        match self.plan.total() {
            Some(t) if self.read != t => Err(Error::Truncated {
                what: name.to_owned(),
                expected: t,
                received: self.read,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{MIB, PartLimits};
    use proptest::prelude::*;

    fn plan(total: Option<u64>, part: u64) -> PartPlan {
        PartPlan::new(total, Some(part), PartLimits::default()).unwrap()
    }

    #[test]
    fn known_length_hands_out_every_range_once() {
        let p = plan(Some(12 * MIB + 3), 5 * MIB);
        let mut s = Scheduler::new(p);
        let mut got = Vec::new();
        while let Next::Read { number, range } = s.next() {
            got.push(range.clone());
            assert!(s.read(number, range.end - range.start, "src").unwrap());
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].end, 12 * MIB + 3);
        s.check_end("src").unwrap();
    }

    #[test]
    fn a_short_part_of_a_known_length_is_truncation() {
        let mut s = Scheduler::new(plan(Some(12 * MIB), 5 * MIB));
        assert!(matches!(
            s.read(1, 100, "src"),
            Err(Error::Truncated { received: 100, .. })
        ));
    }

    #[test]
    fn a_stream_ends_at_a_short_or_empty_part() {
        let mut s = Scheduler::new(plan(None, 5 * MIB));
        assert!(s.read(1, 5 * MIB, "s").unwrap());
        assert!(s.read(2, 7, "s").unwrap());
        assert_eq!(s.next(), Next::Done);
        let mut s = Scheduler::new(plan(None, 5 * MIB));
        assert!(s.read(1, 5 * MIB, "s").unwrap());
        assert!(!s.read(2, 0, "s").unwrap());
        assert_eq!(s.next(), Next::Done);
        assert_eq!((s.parts(), s.bytes()), (1, 5 * MIB));
    }

    #[test]
    fn reusable_keeps_only_checkable_parts_of_the_plan() {
        let p = plan(Some(12 * MIB), 5 * MIB);
        let md5 = "0123456789abcdef0123456789abcdef";
        let listed = vec![
            StoredPart {
                number: 1,
                size: 5 * MIB,
                etag: format!("\"{md5}\""),
            },
            StoredPart {
                number: 2,
                size: 4 * MIB,
                etag: format!("\"{md5}\""),
            },
            StoredPart {
                number: 3,
                size: 2 * MIB,
                etag: "\"not-an-md5\"".into(),
            },
            StoredPart {
                number: 4,
                size: 5 * MIB,
                etag: format!("\"{md5}\""),
            },
        ];
        let r = Reusable::from_listing(&p, &listed);
        assert_eq!(r.len(), 1);
        let mut m = [0u8; 16];
        hex::decode_to_slice(md5, &mut m).unwrap();
        assert_eq!(r.candidate(1), Some(&m));
        assert_eq!(r.verdict(1, 5 * MIB, Some(m)), Some(format!("\"{md5}\"")));
        assert_eq!(r.verdict(1, 5 * MIB, Some([0; 16])), None);
        assert_eq!(r.verdict(1, 5 * MIB, None), None);
        assert_eq!(r.verdict(2, 4 * MIB, Some(m)), None);
    }

    proptest! {
        #[test]
        fn ranges_cover_the_source_exactly(total in 0u64..200 * MIB, part in 5u64..9) {
            let p = plan(Some(total), part * MIB);
            let mut s = Scheduler::new(p);
            let mut end = 0;
            while let Next::Read { number, range } = s.next() {
                prop_assert_eq!(range.start, end);
                end = range.end;
                prop_assert!(s.read(number, range.end - range.start, "src").unwrap());
            }
            prop_assert_eq!(end, total);
            prop_assert_eq!(s.bytes(), total);
            s.check_end("src").unwrap();
        }
    }
}
