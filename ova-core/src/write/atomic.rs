//! [`AtomicFile`]: outputs are written beside their target and renamed over it when complete.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written beside its final path; [`commit`](Self::commit) syncs and renames it.
/// Dropped without committing, the temporary file is removed.
///
/// The result gets the permissions a plainly created file would get (`0666` less the umask on
/// Unix), or, when it replaces a file, that file's permissions.
#[derive(Debug)]
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Create a temporary file in the target's directory.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory is not writable.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let prefix = format!(".{base}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        let replaced = std::fs::metadata(&target).ok().filter(|m| m.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Created with 0666: the kernel applies the umask, as for any new file (tempfile's
            // own default, 0600, would make every output private).
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(&dir).map_err(io(&dir))?;
        if let Some(m) = replaced {
            // Replacing a file keeps its permissions exactly (umask not applied).
            temp.as_file()
                .set_permissions(m.permissions())
                .map_err(io(&target))?;
        }
        Ok(Self { temp, target })
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flush to disk and rename over the target.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when syncing or renaming fails.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.temp.as_file().sync_all().map_err(|source| Error::Io {
            path: target.clone(),
            source,
        })?;
        self.temp.persist(&target).map_err(|e| Error::Io {
            path: target.clone(),
            source: e.error,
        })?;
        if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
