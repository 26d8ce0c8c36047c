//! Which per-part check a body carries, and whether the store's answer proves it arrived intact.
//!
//! A check only counts when something compares it with the bytes the store received. Stores
//! differ: AWS and ministack verify `x-amz-checksum-crc32c` and `Content-MD5` and echo the CRC32C
//! they computed in the UploadPart response; moto verifies neither (nor `x-amz-content-sha256`)
//! but returns the MD5 of what it stored as the part's ETag. So under
//! [`PartChecksum::Auto`] every body carries its CRC32C (computed anyway for the whole-stream
//! check, so free), and until the store has echoed a CRC32C, its MD5 too (`Content-MD5`, and
//! the returned ETag is compared with it). Once a store has echoed a CRC32C it is known to
//! compute it, and later parts skip the MD5. A CRC32C echoed that differs from ours, or an ETag
//! that is a plain MD5 and differs from ours, is a body damaged on the way.
//!
//! CPU cost of each path, per byte (`cargo bench -p benches --bench s3 -- hash_8mib_part`, one
//! run on the 2-core test machine while it was shared, load average 13; medians): CRC32C with
//! crc-fast 9.9 GiB/s, MD5 179 MiB/s (55 times the CPU of CRC32C), SHA-256 409 MiB/s (on the idle
//! machine MD5 ran at about 680 MB/s and SHA-256 at about 1.4 GB/s). So the cheap path (a store
//! that echoes CRC32C) costs next to nothing beyond the MD5 of the first few parts; a store that
//! echoes nothing costs one MD5 pass (about 1.5 CPU-seconds per GiB idle); the signed payload's
//! SHA-256 (plain HTTP with SigV4, decided by the signing configuration, not here) is one more
//! pass (about 0.7 CPU-seconds per GiB idle).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::md5_base64;
use crate::error::{Error, Result};
use crate::ledger::{crc32c_base64, unquote_etag};
use crate::options::PartChecksum;

/// The check of one copy: the mode asked for and what the store has shown so far.
#[derive(Debug)]
pub(crate) struct PartCheck {
    mode: PartChecksum,
    /// The store has echoed a CRC32C: it computes it from what it received.
    store_echoes_crc32c: AtomicBool,
}

/// What a response says about a body that was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'a> {
    /// `x-amz-checksum-crc32c` of the response.
    pub(crate) crc32c: Option<&'a str>,
    /// `ETag` of the response.
    pub(crate) etag: Option<&'a str>,
}

impl PartCheck {
    /// The check for a copy made with `mode` ([`PartChecksum::Auto`] is decided part by part).
    pub(crate) fn new(mode: PartChecksum) -> Self {
        Self {
            mode,
            store_echoes_crc32c: AtomicBool::new(false),
        }
    }

    fn echoes(&self) -> bool {
        self.store_echoes_crc32c.load(Ordering::Relaxed)
    }

    /// Whether the store has shown that it verifies the CRC32C sent with each part (it echoed
    /// one): from then on every body is checked end to end without a signed payload.
    pub(crate) fn crc32c_verified(&self) -> bool {
        matches!(self.mode, PartChecksum::Crc32c | PartChecksum::Auto) && self.echoes()
    }

    /// Whether the next body's MD5 is to be taken.
    pub(crate) fn wants_md5(&self) -> bool {
        match self.mode {
            PartChecksum::ContentMd5 => true,
            PartChecksum::Auto => !self.echoes(),
            PartChecksum::Crc32c | PartChecksum::None => false,
        }
    }

    /// The integrity headers of a body with these digests.
    pub(crate) fn headers(
        &self,
        md5: Option<&[u8; 16]>,
        crc32c: u32,
    ) -> Vec<(&'static str, String)> {
        let mut h = Vec::with_capacity(2);
        if matches!(self.mode, PartChecksum::ContentMd5 | PartChecksum::Auto)
            && let Some(m) = md5
        {
            h.push(("content-md5", md5_base64(m)));
        }
        if matches!(self.mode, PartChecksum::Crc32c | PartChecksum::Auto) {
            h.push(("x-amz-checksum-crc32c", crc32c_base64(crc32c)));
        }
        h
    }

    /// The `x-amz-checksum-algorithm` of CreateMultipartUpload (AWS refuses part checksums an
    /// upload was not created for).
    pub(crate) fn create_algorithm(mode: PartChecksum) -> Option<&'static str> {
        matches!(mode, PartChecksum::Crc32c | PartChecksum::Auto).then_some("CRC32C")
    }

    /// The check that was in force, for reports and for the CompleteMultipartUpload body (which
    /// lists each part's CRC32C when it is `Crc32c`): [`PartChecksum::Auto`] becomes `Crc32c` on
    /// a store that echoed CRC32C (it keeps them), else `ContentMd5`.
    pub(crate) fn used(&self) -> PartChecksum {
        match self.mode {
            PartChecksum::Auto if self.echoes() => PartChecksum::Crc32c,
            PartChecksum::Auto => PartChecksum::ContentMd5,
            other => other,
        }
    }

    /// Judges the store's answer to a body with these digests, and learns from it whether the
    /// store computes CRC32C.
    ///
    /// # Errors
    ///
    /// [`Error::Integrity`] naming `what` when the echoed CRC32C or a plain-MD5 ETag differs
    /// from ours (with `verify_etag` for the ETag).
    pub(crate) fn judge(
        &self,
        what: &str,
        md5: Option<&[u8; 16]>,
        crc32c: u32,
        answer: Answer<'_>,
        verify_etag: bool,
    ) -> Result<()> {
        judge(what, self.mode, md5, crc32c, answer, verify_etag)?;
        let sent_crc = matches!(self.mode, PartChecksum::Crc32c | PartChecksum::Auto);
        if sent_crc && answer.crc32c.is_some() {
            self.store_echoes_crc32c.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The pure rule of [`PartCheck::judge`].
fn judge(
    what: &str,
    mode: PartChecksum,
    md5: Option<&[u8; 16]>,
    crc32c: u32,
    answer: Answer<'_>,
    verify_etag: bool,
) -> Result<()> {
    let sent_crc = matches!(mode, PartChecksum::Crc32c | PartChecksum::Auto);
    if sent_crc && let Some(echo) = answer.crc32c {
        let ours = crc32c_base64(crc32c);
        if echo.trim() != ours {
            return Err(Error::Integrity {
                what: format!("{what} crc32c (the store computed another checksum)"),
                expected: ours,
                actual: echo.trim().to_owned(),
            });
        }
    }
    if let (Some(m), Some(etag), true) = (md5, answer.etag, verify_etag) {
        let e = unquote_etag(etag);
        let ours = hex::encode(m);
        if e.len() == 32
            && e.bytes().all(|b| b.is_ascii_hexdigit())
            && !e.eq_ignore_ascii_case(&ours)
        {
            return Err(Error::Integrity {
                what: format!("{what} etag"),
                expected: ours,
                actual: etag.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest as _, Md5};

    fn digests(b: &[u8]) -> ([u8; 16], u32) {
        (Md5::digest(b).into(), crc32c::crc32c(b))
    }

    #[test]
    fn auto_takes_md5_until_the_store_echoes_crc32c() {
        let c = PartCheck::new(PartChecksum::Auto);
        let (m, crc) = digests(b"part one");
        assert!(c.wants_md5());
        let h = c.headers(Some(&m), crc);
        assert_eq!(h.len(), 2);
        assert_eq!(c.used(), PartChecksum::ContentMd5);
        // moto: no echo, the ETag is the MD5 of what it stored
        let etag = format!("\"{}\"", hex::encode(m));
        let quiet = Answer {
            crc32c: None,
            etag: Some(&etag),
        };
        c.judge("part 1", Some(&m), crc, quiet, true).unwrap();
        assert!(c.wants_md5());
        // ministack / AWS: the CRC32C it computed comes back
        let echo = crc32c_base64(crc);
        let answer = Answer {
            crc32c: Some(&echo),
            etag: Some("\"opaque\""),
        };
        c.judge("part 1", Some(&m), crc, answer, true).unwrap();
        assert!(!c.wants_md5());
        assert_eq!(c.used(), PartChecksum::Crc32c);
        assert_eq!(c.headers(None, crc), vec![("x-amz-checksum-crc32c", echo)]);
    }

    #[test]
    fn a_damaged_body_is_caught_by_either_answer() {
        let (m, crc) = digests(b"what was sent");
        let (m2, crc2) = digests(b"what was stored");
        let etag = format!("\"{}\"", hex::encode(m2));
        let echo = crc32c_base64(crc2);
        for mode in [PartChecksum::Auto, PartChecksum::ContentMd5] {
            let e = judge(
                "part 2",
                mode,
                Some(&m),
                crc,
                Answer {
                    crc32c: None,
                    etag: Some(&etag),
                },
                true,
            )
            .unwrap_err();
            assert!(e.to_string().contains("part 2 etag"), "{e}");
        }
        for mode in [PartChecksum::Auto, PartChecksum::Crc32c] {
            let e = judge(
                "part 2",
                mode,
                None,
                crc,
                Answer {
                    crc32c: Some(&echo),
                    etag: None,
                },
                true,
            )
            .unwrap_err();
            assert!(e.to_string().contains("crc32c"), "{e}");
        }
        // an ETag that is not a plain MD5 (another scheme, a multipart ETag) proves nothing
        for other in [
            "\"abc-2\"",
            "\"0123456789abcdef0123456789abcdeg\"",
            "\"r2-opaque\"",
        ] {
            let a = Answer {
                crc32c: None,
                etag: Some(other),
            };
            judge("p", PartChecksum::Auto, Some(&m), crc, a, true).unwrap();
        }
        // and with ETag checks off, only the CRC32C echo counts
        let a = Answer {
            crc32c: None,
            etag: Some(&etag),
        };
        judge("p", PartChecksum::Auto, Some(&m), crc, a, false).unwrap();
        // a CRC32C echoed although none was sent is not ours to compare
        let a = Answer {
            crc32c: Some(&echo),
            etag: None,
        };
        judge("p", PartChecksum::None, None, crc, a, true).unwrap();
    }

    #[test]
    fn explicit_modes_are_kept() {
        for (mode, md5, crc, alg) in [
            (PartChecksum::ContentMd5, true, false, None),
            (PartChecksum::Crc32c, false, true, Some("CRC32C")),
            (PartChecksum::None, false, false, None),
            (PartChecksum::Auto, true, true, Some("CRC32C")),
        ] {
            let c = PartCheck::new(mode);
            assert_eq!(c.wants_md5(), md5, "{mode}");
            let h = c.headers(Some(&[0; 16]), 0);
            assert_eq!(h.iter().any(|(k, _)| *k == "content-md5"), md5, "{mode}");
            assert_eq!(
                h.iter().any(|(k, _)| *k == "x-amz-checksum-crc32c"),
                crc,
                "{mode}"
            );
            assert_eq!(PartCheck::create_algorithm(mode), alg, "{mode}");
        }
    }
}
