//! The files a descriptor references, as the archive stores them (one entry, or the chunks of
//! an OVF-chunked file, possibly gzip-compressed), and readers over their stored bytes and
//! their content.

use crate::archive::{ArchiveIndex, EntryInfo};
use crate::content::{Compression, ContentReader, StoredReader};
use crate::error::{Error, Result};
use crate::ovf::Descriptor;
use crate::tar::EntryType;
use crate::write;

use super::Ova;

/// Expand References into archive names: a chunked file becomes its chunk entries present in
/// the archive (`href.000000000`, ...), in chunk order.
pub fn reference_names(descriptor: &Descriptor, index: &ArchiveIndex) -> Vec<String> {
    let mut out = Vec::new();
    for r in descriptor.references() {
        out.extend(
            stored_entries(index, &r.href, r.chunk_size.is_some())
                .into_iter()
                .map(|e| write::normalize_name(&e.name).to_owned()),
        );
        let href = write::normalize_name(&r.href);
        if !out
            .iter()
            .any(|n| n == href || chunk_of(n).is_some_and(|(b, _)| b == href))
        {
            // Absent: planning reports it as missing.
            out.push(href.to_owned());
        }
    }
    out
}

/// `("disk.vmdk", 1)` for the chunk name `disk.vmdk.000000001` (a dot and exactly 9 digits).
pub fn chunk_of(name: &str) -> Option<(&str, u64)> {
    let (base, suffix) = name.rsplit_once('.')?;
    (!base.is_empty() && suffix.len() == 9 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (base, suffix.parse().unwrap_or(0)))
}

/// The regular entries holding the file `href`: the entry of that name, or (when there is
/// none and `chunked` is set) its chunk entries in chunk order.
pub(super) fn stored_entries<'a>(
    index: &'a ArchiveIndex,
    href: &str,
    chunked: bool,
) -> Vec<&'a EntryInfo> {
    let href = write::normalize_name(href);
    let regular = |e: &&EntryInfo| e.entry_type == EntryType::Regular;
    if let Some(e) = index
        .entries
        .iter()
        .filter(regular)
        .find(|e| write::normalize_name(&e.name) == href)
    {
        return vec![e];
    }
    if !chunked {
        return Vec::new();
    }
    let mut chunks: Vec<(u64, &EntryInfo)> = index
        .entries
        .iter()
        .filter(regular)
        .filter_map(|e| {
            let (base, k) = chunk_of(write::normalize_name(&e.name))?;
            (base == href).then_some((k, e))
        })
        .collect();
    chunks.sort_by_key(|(k, _)| *k);
    chunks.dedup_by_key(|(k, _)| *k);
    chunks.into_iter().map(|(_, e)| e).collect()
}

/// A file the descriptor references, as the archive stores it: one entry, or the chunks of an
/// OVF-chunked file, possibly gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredFile {
    /// `ovf:href`, without a leading `./`.
    pub href: String,
    /// The entries holding it, in order (one, or its chunks; none when it is absent).
    pub entries: Vec<EntryInfo>,
    /// `ovf:compression`.
    pub compression: Compression,
    /// `ovf:chunkSize`, when declared.
    pub chunk_size: Option<u64>,
    /// `ovf:size`, when declared.
    pub declared_size: Option<u64>,
}

impl StoredFile {
    /// Bytes stored (the chunks together; compressed bytes for a compressed file).
    pub fn stored_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Whether it is stored as chunks (`href.000000000`, ...).
    pub fn is_chunked(&self) -> bool {
        self.entries
            .first()
            .is_some_and(|e| write::normalize_name(&e.name) != self.href)
    }
}

impl Ova {
    /// The files the descriptor references, in References order, with the entries that store
    /// them (a chunked file's chunks in order) and their compression.
    ///
    /// # Errors
    ///
    /// As [`descriptor`](Self::descriptor).
    pub fn stored_files(&self) -> Result<Vec<StoredFile>> {
        let descriptor = self.descriptor()?;
        Ok(Self::stored_files_of(&descriptor, self.index()))
    }

    pub(super) fn stored_files_of(
        descriptor: &Descriptor,
        index: &ArchiveIndex,
    ) -> Vec<StoredFile> {
        descriptor
            .references()
            .iter()
            .map(|r| StoredFile {
                href: write::normalize_name(&r.href).to_owned(),
                entries: stored_entries(index, &r.href, r.chunk_size.is_some())
                    .into_iter()
                    .cloned()
                    .collect(),
                compression: Compression::from_attribute(r.compression.as_deref()),
                chunk_size: r.chunk_size,
                declared_size: r.size,
            })
            .collect()
    }

    /// The stored bytes of `file`, its chunks joined (compressed bytes stay compressed).
    pub fn open_stored(&self, file: &StoredFile) -> StoredReader<'_> {
        let len = self.index().len;
        let parts = file
            .entries
            .iter()
            .map(|e| (e.data_offset, e.size.min(len.saturating_sub(e.data_offset))))
            .collect();
        StoredReader::new(self.archive.file(), parts)
    }

    /// The content of `file` as one file: its chunks joined, gzip decompressed. The reader is
    /// seekable (see [`crate::content`] for what seeking in a gzip stream costs).
    ///
    /// ```no_run
    /// # fn main() -> ova_core::Result<()> {
    /// use std::io::Read;
    /// let ova = ova_core::package::Ova::open("appliance.ova")?;
    /// for file in ova.stored_files()? {
    ///     let mut head = [0u8; 4];
    ///     ova.open_content(&file)?.read_exact(&mut head).ok();
    ///     println!("{}: {:?}", file.href, head);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedCompression`] for an `ovf:compression` other than gzip or identity.
    pub fn open_content(&self, file: &StoredFile) -> Result<ContentReader<'_>> {
        ContentReader::new(self.open_stored(file), &file.compression).map_err(|method| {
            Error::UnsupportedCompression {
                entry: file.href.clone(),
                method,
            }
        })
    }
}
