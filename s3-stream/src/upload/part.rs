//! A part's body (bytes in hand, or a range of a file read on a blocking thread) and its digests.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::checksum::PartCheck;
use crate::client::Req;
use crate::error::{Error, Result};

pub(crate) struct PartDigests {
    pub(crate) md5: Option<[u8; 16]>,
    pub(crate) crc32c: u32,
    pub(crate) sha256: Option<String>,
}

impl PartDigests {
    /// The integrity headers of a part (or single PUT) body: the signed payload's SHA-256 when
    /// it was taken, and what the part check asks for.
    pub(crate) fn check_headers(&self, mut r: Req, check: &PartCheck) -> Req {
        r.sha256 = self.sha256.clone();
        for (k, v) in check.headers(self.md5.as_ref(), self.crc32c) {
            r = r.header(k, v);
        }
        r
    }
}

pub(crate) fn digest_part(b: &[u8], md5: bool, sha256: bool) -> PartDigests {
    PartDigests {
        md5: md5.then(|| Md5::digest(b).into()),
        // CRC-32/ISCSI is CRC32C; crc-fast runs ~2.6x the crc32c crate's speed on this hardware.
        crc32c: crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b) as u32,
        sha256: sha256.then(|| hex::encode(Sha256::digest(b))),
    }
}

pub(crate) enum PartData {
    Ready(Bytes),
    File {
        file: Arc<std::fs::File>,
        path: std::path::PathBuf,
        offset: u64,
        len: usize,
    },
}

/// Reads `len` bytes at `offset` of `file` into `buf`, a pooled part buffer resized to `len`
/// bytes: only growth is zeroed, old contents are overwritten (so no page is faulted in and
/// zeroed again for every part).
pub(crate) fn read_part(
    file: &std::fs::File,
    path: &std::path::Path,
    offset: u64,
    len: usize,
    mut buf: BytesMut,
) -> Result<Bytes> {
    use std::os::unix::fs::FileExt;
    buf.resize(len, 0);
    let mut done = 0;
    while done < len {
        let n = file
            .read_at(&mut buf[done..], offset + done as u64)
            .map_err(|e| Error::Io {
                path: path.to_owned(),
                source: e,
            })?;
        if n == 0 {
            return Err(Error::Truncated {
                what: path.display().to_string(),
                expected: offset + len as u64,
                received: offset + done as u64,
            });
        }
        done += n;
    }
    Ok(buf.freeze())
}
