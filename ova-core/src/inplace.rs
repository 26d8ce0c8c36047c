//! In-place descriptor edits: rewrite only the descriptor's header and blocks and the manifest's
//! descriptor digest, leaving the disks untouched.
//!
//! The planning part ([`plan`]) is pure: given the entry table, the old manifest and the new
//! descriptor bytes it returns the exact byte ranges to overwrite, or says why the edit does not
//! fit. [`apply`] performs the writes crash-consciously:
//!
//! 1. the original bytes of every range about to change are written to a journal file beside the
//!    archive (`.<name>.ovakit-journal`), with a SHA-256 trailer, and synced (file and directory);
//! 2. the new bytes are written with positioned writes and the archive is synced;
//! 3. the journal is removed and the directory synced.
//!
//! A crash before step 2 leaves the archive untouched (a journal whose trailer does not verify is
//! simply discarded); a crash during step 2 leaves a complete journal, and the next
//! [`recover`] (run automatically before every in-place edit) writes the original bytes back.
//! The result is always either the old package or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::archive::{ArchiveIndex, EntryInfo, EntryKind};
use crate::error::{Error, Result};
use crate::manifest::{self, Algorithm};
use crate::tar::{self, BLOCK};

const JOURNAL_MAGIC: &[u8] = b"OVAKIT-INPLACE-JOURNAL-1\n";

/// One positioned write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Absolute offset in the archive.
    pub offset: u64,
    /// New bytes.
    pub bytes: Vec<u8>,
}

/// The writes an in-place edit needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// Positioned writes, in order.
    pub patches: Vec<Patch>,
    /// The descriptor's size after the edit.
    pub descriptor_size: u64,
    /// Manifest lines updated (`(line number, algorithm)`).
    pub manifest_lines: Vec<(usize, Algorithm)>,
    /// Bytes of XML whitespace appended to the descriptor to keep its size.
    pub padding: u64,
}

/// The pure part: compute the writes that replace the descriptor with `new_descriptor`.
///
/// `manifest` is the current manifest entry and its bytes, if the package has one.
///
/// # Errors
///
/// [`Error::InPlaceImpossible`] when the package has no descriptor, the descriptor is not the
/// first plain ustar/GNU entry, the new descriptor needs more blocks than the entry occupies, or
/// the package is signed (a certificate is present). [`Error::Manifest`] when the manifest's
/// descriptor line cannot be located for rewriting.
pub fn plan(
    index: &ArchiveIndex,
    header_block: &[u8; BLOCK],
    manifest: Option<(&EntryInfo, &[u8])>,
    new_descriptor: &[u8],
) -> Result<Plan> {
    let impossible = |reason: String| Error::InPlaceImpossible { reason };
    let d = index
        .descriptor()
        .ok_or_else(|| impossible("the package has no descriptor".into()))?;
    if !d.extensions.is_empty() {
        return Err(impossible(
            "the descriptor is preceded by extension headers; repack to fix the layout".into(),
        ));
    }
    if index.certificate().is_some() {
        return Err(impossible(
            "the package is signed and an edit invalidates the signature; repack drops the certificate"
                .into(),
        ));
    }
    let capacity = tar::padded(d.size);
    let new_len = new_descriptor.len() as u64;
    if new_len > capacity {
        return Err(impossible(format!(
            "the edited descriptor is {new_len} bytes but its entry holds only {capacity}"
        )));
    }
    let mut data = new_descriptor.to_vec();
    let mut padding = 0;
    if new_len < d.size {
        // Pad with XML whitespace after the root element (allowed by the XML grammar's Misc).
        padding = d.size - new_len;
        data.extend(std::iter::repeat_n(b' ', padding as usize - 1));
        data.push(b'\n');
    }
    let descriptor_size = data.len() as u64;
    // Zero the rest of the last block so no stale bytes remain.
    data.resize(capacity as usize, 0);
    let mut patches = Vec::new();
    if descriptor_size != d.size {
        let mut header = *header_block;
        tar::rewrite_size(&mut header, descriptor_size).map_err(|source| Error::Encode {
            entry: d.name.clone(),
            source,
        })?;
        patches.push(Patch {
            offset: d.own_header_offset,
            bytes: header.to_vec(),
        });
    }
    patches.push(Patch {
        offset: d.data_offset,
        bytes: data.clone(),
    });
    let final_descriptor = &data[..descriptor_size as usize];

    let mut manifest_lines = Vec::new();
    if let Some((mf, text)) = manifest {
        let parsed = manifest::parse(text);
        let mut line_starts = vec![0usize];
        for (i, &b) in text.iter().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        for line in parsed.lines.iter().filter(|l| l.name == d.name) {
            let start = line_starts[line.line - 1];
            let end = text[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |p| start + p);
            let raw = &text[start..end];
            let eq = raw
                .iter()
                .rposition(|&b| b == b'=')
                .ok_or_else(|| Error::Manifest {
                    entry: mf.name.clone(),
                    reason: format!("line {} has no '='", line.line),
                })?;
            let hex_len = 2 * line.algorithm.digest_len();
            let digest_start = raw[eq + 1..]
                .iter()
                .position(|b| b.is_ascii_hexdigit())
                .map(|p| eq + 1 + p)
                .filter(|&p| p + hex_len <= raw.len())
                .ok_or_else(|| Error::Manifest {
                    entry: mf.name.clone(),
                    reason: format!("cannot locate the digest on line {}", line.line),
                })?;
            let digest = hex::encode(line.algorithm.digest(final_descriptor));
            patches.push(Patch {
                offset: mf.data_offset + (start + digest_start) as u64,
                bytes: digest.into_bytes(),
            });
            manifest_lines.push((line.line, line.algorithm));
        }
    }
    Ok(Plan {
        patches,
        descriptor_size,
        manifest_lines,
        padding,
    })
}

/// Path of the journal for an archive.
pub fn journal_path(archive: &Path) -> PathBuf {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    archive.with_file_name(format!(".{name}.ovakit-journal"))
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

fn encode_journal(originals: &[Patch]) -> Vec<u8> {
    let mut j = JOURNAL_MAGIC.to_vec();
    j.extend((originals.len() as u64).to_le_bytes());
    for p in originals {
        j.extend(p.offset.to_le_bytes());
        j.extend((p.bytes.len() as u64).to_le_bytes());
        j.extend(&p.bytes);
    }
    let sum = Algorithm::Sha256.digest(&j);
    j.extend(sum);
    j
}

fn decode_journal(j: &[u8]) -> Option<Vec<Patch>> {
    let body = j.get(..j.len().checked_sub(32)?)?;
    if Algorithm::Sha256.digest(body) != j[body.len()..] {
        return None;
    }
    let mut rest = body.strip_prefix(JOURNAL_MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = rest.split_at_checked(n)?;
        rest = b;
        Some(a)
    };
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let mut out = Vec::new();
    for _ in 0..count {
        let offset = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let len = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let bytes = take(usize::try_from(len).ok()?)?.to_vec();
        out.push(Patch { offset, bytes });
    }
    Some(out)
}

/// Undo an interrupted in-place edit of `archive`, if its journal is present.
/// Returns whether anything was restored.
///
/// # Errors
///
/// [`Error::Io`] when the journal or the archive cannot be read or written.
pub fn recover(archive: &Path) -> Result<bool> {
    let jp = journal_path(archive);
    let j = match fs::read(&jp) {
        Ok(j) => j,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(Error::Io { path: jp, source }),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let restored = match decode_journal(&j) {
        // An incomplete journal means the archive was never touched.
        None => false,
        Some(originals) => {
            let f = OpenOptions::new()
                .write(true)
                .open(archive)
                .map_err(io(archive))?;
            for p in &originals {
                f.write_all_at(&p.bytes, p.offset).map_err(io(archive))?;
            }
            f.sync_all().map_err(io(archive))?;
            true
        }
    };
    fs::remove_file(&jp).map_err(io(&jp))?;
    sync_dir(&jp);
    Ok(restored)
}

/// Apply a [`Plan`] to the archive at `path`, journaled as described in the module docs.
///
/// # Errors
///
/// [`Error::Io`] on any file system error (the journal then allows [`recover`] to undo a partial
/// write).
pub fn apply(path: &Path, plan: &Plan) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let mut originals = Vec::new();
    for p in &plan.patches {
        let mut old = vec![0u8; p.bytes.len()];
        f.read_exact_at(&mut old, p.offset).map_err(io(path))?;
        originals.push(Patch {
            offset: p.offset,
            bytes: old,
        });
    }
    let jp = journal_path(path);
    {
        let mut j = File::create(&jp).map_err(io(&jp))?;
        j.write_all(&encode_journal(&originals))
            .and_then(|()| j.sync_data())
            .map_err(io(&jp))?;
    }
    sync_dir(&jp);
    for p in &plan.patches {
        f.write_all_at(&p.bytes, p.offset).map_err(io(path))?;
    }
    f.sync_data().map_err(io(path))?;
    fs::remove_file(&jp).map_err(io(&jp))?;
    sync_dir(&jp);
    Ok(())
}

/// Whether an entry is the package's manifest (used by callers gathering the manifest bytes).
pub fn is_manifest(e: &EntryInfo) -> bool {
    e.kind == EntryKind::Manifest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_roundtrip_and_corruption() {
        let p = vec![
            Patch {
                offset: 5,
                bytes: b"abc".to_vec(),
            },
            Patch {
                offset: 1 << 33,
                bytes: vec![],
            },
        ];
        let j = encode_journal(&p);
        assert_eq!(decode_journal(&j), Some(p));
        for cut in [0, 10, j.len() - 1] {
            assert_eq!(decode_journal(&j[..cut]), None);
        }
        let mut bad = j.clone();
        bad[30] ^= 1;
        assert_eq!(decode_journal(&bad), None);
    }
}
