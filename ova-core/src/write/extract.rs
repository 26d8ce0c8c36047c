//! Extracting an archive into a directory, refusing what is unsafe.

use std::fs;
use std::path::{Path, PathBuf};

use crate::archive::{EntryInfo, IndexedArchive};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::tar::EntryType;

use super::atomic::AtomicFile;
use super::copy::copy_hashed;
use super::plan::safe_relative_path;
use super::stream::StreamingFile;

///
/// Refuses the whole archive, before writing anything, when any entry is a link, a device, has an
/// absolute name or a `..` component, is duplicated, or is truncated. Directory entries are
/// skipped. Each file is written to a temporary name and renamed; parent directories are created
/// inside `dir` only, and an existing symbolic link on the way is refused.
///
/// `progress` gets the bytes of each entry written (see [`crate::Progress`]).
///
/// # What stays behind after an error
///
/// Entries are extracted one after the other, each committed (renamed into place) when it is
/// complete. When the extraction stops half-way (an I/O error, or [`Error::Cancelled`]), the
/// entry being written is removed (its temporary file), and a file of that name that existed
/// before is left as it was. The entries already extracted before it stay (each is complete
/// and replaced any file of its name), as do `dir` and the directories created for them.
///
/// # Errors
///
/// [`Error::UnsafeEntry`] as above, [`Error::Io`] for file system errors,
/// [`Error::Cancelled`] when `progress` stops the extraction.
pub fn extract(
    archive: &IndexedArchive,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<Vec<PathBuf>> {
    extract_entries(archive, dir, &|_| true, progress)
}

/// [`extract`] limited to the entries `wanted` accepts (the safety checks still cover every
/// entry).
///
/// # Errors
///
/// As [`extract`].
pub fn extract_entries(
    archive: &IndexedArchive,
    dir: &Path,
    wanted: &dyn Fn(&EntryInfo) -> bool,
    progress: Progress<'_>,
) -> Result<Vec<PathBuf>> {
    use crate::archive::EntryProblem as P;
    let entries = &archive.index().entries;
    let mut plan = Vec::new();
    for e in entries {
        if e.entry_type == EntryType::Directory {
            continue;
        }
        for p in &e.problems {
            let reason = match p {
                P::Link { target } => Some(format!("link to {target:?}")),
                P::Special => Some("device or fifo".into()),
                P::UnknownType { flag } => Some(format!("unknown entry type {:?}", *flag as char)),
                P::Duplicate => Some("duplicate name".into()),
                P::SizePastEnd { available } => Some(format!(
                    "truncated ({available} of {} bytes present)",
                    e.size
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(Error::UnsafeEntry {
                    entry: e.name.clone(),
                    reason,
                });
            }
        }
        let rel = safe_relative_path(&e.name)?;
        if wanted(e) {
            plan.push((e, rel));
        }
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut written = Vec::new();
    for (e, rel) in plan {
        let target = dir.join(&rel);
        make_parents(dir, &rel, &e.name)?;
        let mut out = AtomicFile::create(&target)?;
        let mut src = archive.open_entry(e)?;
        let mut file = StreamingFile::new(out.file(), e.size);
        let copy = copy_hashed(&mut src, &mut file, &[], progress).map_err(io_err(&target))?;
        let (n, _) = crate::progress::finished(copy)?;
        if n != e.size {
            return Err(Error::Truncated {
                entry: e.name.clone(),
                offset: e.data_offset + n,
            });
        }
        drop(file);
        out.commit()?;
        written.push(target);
    }
    Ok(written)
}

/// Create the parents of `rel` inside `dir` one component at a time, refusing symbolic links
/// and non-directories on the way.
pub(crate) fn make_parents(dir: &Path, rel: &Path, entry: &str) -> Result<()> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    // Create parents one component at a time, refusing symlinks.
    let mut cur = dir.to_path_buf();
    if let Some(parent) = rel.parent() {
        for c in parent.components() {
            cur.push(c);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::UnsafeEntry {
                        entry: entry.to_owned(),
                        reason: format!("{} is a symbolic link", cur.display()),
                    });
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::UnsafeEntry {
                        entry: entry.to_owned(),
                        reason: format!("{} is not a directory", cur.display()),
                    });
                }
                Err(_) => fs::create_dir(&cur).map_err(io_err(&cur))?,
            }
        }
    }
    Ok(())
}
