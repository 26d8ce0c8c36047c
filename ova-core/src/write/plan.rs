//! Planning what a new archive holds: the files, their sources, chunking, and which entries of
//! a source archive are left out.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::archive::{EntryInfo, EntryKind};
use crate::error::{Error, Result};
use crate::tar::{self, EntryType};

/// One file to put in a new archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedFile {
    /// Name in the archive.
    pub name: String,
    /// Where its bytes come from.
    pub source: FileSource,
    /// Size in bytes.
    pub size: u64,
    /// When set, the file is written as chunks of this many bytes named `name.000000000`,
    /// `name.000000001`, ... (OVF chunking; the descriptor must carry `ovf:chunkSize`).
    pub chunk_size: Option<u64>,
}

/// OVF chunking of large files on repack and pack: a file referenced by the descriptor whose
/// size is at least `threshold` is split into `chunk_size` pieces named `href.000000000`, ...,
/// its `File` element gets `ovf:chunkSize`, and the manifest lists every chunk (as DSP0243
/// and ovftool do). Without chunking, such files get a GNU base-256 size field instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunking {
    /// Bytes per chunk (1 byte to 8 GiB - 1).
    pub chunk_size: u64,
    /// Files of at least this many bytes are chunked (default 8 GiB, the ustar limit + 1).
    pub threshold: u64,
}

impl Chunking {
    /// The default chunk size: 4 GiB.
    pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 30;

    /// Chunks of `chunk_size` bytes for files of 8 GiB or more.
    pub fn new(chunk_size: u64) -> Self {
        Chunking {
            chunk_size,
            threshold: tar::USTAR_MAX_SIZE + 1,
        }
    }

    /// Chunk files of at least `threshold` bytes instead.
    #[must_use]
    pub fn with_threshold(mut self, threshold: u64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Whether a file of `size` bytes is chunked.
    pub fn applies(&self, size: u64) -> bool {
        size >= self.threshold
    }
}

impl Default for Chunking {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CHUNK_SIZE)
    }
}

/// The archive names a planned file becomes.
pub(super) fn entry_names(f: &PlannedFile) -> Vec<String> {
    match f.chunk_size {
        Some(cs) if cs > 0 => {
            let n = f.size.div_ceil(cs).max(1);
            (0..n).map(|k| format!("{}.{k:09}", f.name)).collect()
        }
        _ => vec![f.name.clone()],
    }
}

/// Where a planned file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// A range of the source archive.
    Archive {
        /// Data offset.
        offset: u64,
    },
    /// A file on disk.
    Path(PathBuf),
    /// Ranges of the source archive read as one file (the chunks of a chunked file, joined),
    /// gzip-decompressed when `gunzip` is set.
    ArchiveParts {
        /// `(data offset, length)` of each piece, in order.
        parts: Vec<(u64, u64)>,
        /// Decompress the joined bytes (`ovf:compression="gzip"`).
        gunzip: bool,
    },
}

/// Entries left out of a repack, with the reason.
pub type Dropped = Vec<(String, String)>;

/// Strip a leading `./` (GNU tar `-C dir .` style) from an entry name.
pub fn normalize_name(name: &str) -> &str {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    n
}

/// Plan the files of a repack: `order` (the descriptor's References hrefs, chunk names expanded
/// by the caller) first, then any other regular entries in archive order; the descriptor,
/// manifests, certificates, directories, links, devices and AppleDouble files are dropped (and
/// listed in the returned drop list).
///
/// # Errors
///
/// [`Error::MissingEntry`] when a name in `order` is not in the archive.
pub fn plan_repack(entries: &[EntryInfo], order: &[String]) -> Result<(Vec<PlannedFile>, Dropped)> {
    let mut planned = Vec::new();
    let mut used = HashSet::new();
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| normalize_name(&e.name) == name && e.entry_type == EntryType::Regular)
    };
    for name in order {
        if !used.insert(name.clone()) {
            continue;
        }
        let e = find(name).ok_or_else(|| Error::MissingEntry {
            entry: name.clone(),
        })?;
        planned.push(PlannedFile {
            name: name.clone(),
            source: FileSource::Archive {
                offset: e.data_offset,
            },
            size: e.size,
            chunk_size: None,
        });
    }
    let mut dropped = Vec::new();
    let mut first_descriptor = true;
    for e in entries {
        let name = normalize_name(&e.name).to_owned();
        let reason = if e.entry_type != EntryType::Regular {
            Some("not a regular file")
        } else if e.kind == EntryKind::Descriptor && first_descriptor {
            first_descriptor = false;
            None
        } else if e.kind == EntryKind::Manifest {
            Some("manifest is regenerated or omitted")
        } else if e.kind == EntryKind::Certificate {
            Some("signature no longer matches the rewritten package")
        } else if e
            .problems
            .contains(&crate::archive::EntryProblem::AppleDouble)
        {
            Some("macOS AppleDouble file")
        } else if used.contains(&name) {
            None
        } else if e.kind == EntryKind::Descriptor {
            Some("second descriptor")
        } else if tar::check_name(&name).is_err() {
            Some("name cannot be stored safely in strict ustar")
        } else {
            used.insert(name.clone());
            planned.push(PlannedFile {
                name: name.clone(),
                source: FileSource::Archive {
                    offset: e.data_offset,
                },
                size: e.size,
                chunk_size: None,
            });
            None
        };
        if let Some(r) = reason {
            dropped.push((e.name.clone(), r.to_owned()));
        }
    }
    Ok((planned, dropped))
}

/// Check that an entry name is safe to create under a directory and return the relative path.
///
/// # Errors
///
/// [`Error::UnsafeEntry`] for absolute names, `..` components, empty names and names that are
/// not valid UTF-8 path components.
pub fn safe_relative_path(name: &str) -> Result<PathBuf> {
    let unsafe_entry = |reason: &str| Error::UnsafeEntry {
        entry: name.to_owned(),
        reason: reason.to_owned(),
    };
    let n = normalize_name(name);
    if n.is_empty() || n.contains('\0') || n.contains('\\') {
        return Err(unsafe_entry("empty name, NUL or backslash"));
    }
    let p = Path::new(n);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry("'..' component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry("absolute path"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_entry("empty name"));
    }
    Ok(out)
}

/// Extract every regular entry of `archive` into `dir` (created if missing).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative_path("./a.ovf").unwrap(),
            PathBuf::from("a.ovf")
        );
        assert_eq!(safe_relative_path("d/a").unwrap(), PathBuf::from("d/a"));
        for bad in ["/etc/x", "../x", "a/../../x", "", "./", "a\\b"] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?}");
        }
    }
}
