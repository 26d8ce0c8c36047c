//! Resuming an upload across runs: the small record of an upload in progress (a text file,
//! written atomically, one per source and destination), and what an object's ACL grants say
//! about a canned ACL (the documents themselves are read in `xml`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::xml::Grant;

const MAGIC: &str = "ovakit-upload 1";

/// What identifies an upload in progress: the copy it belongs to and the upload id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResumeRecord {
    /// The source's name (a file's absolute path, a URL without its query).
    pub source: String,
    /// `s3://bucket/key`.
    pub destination: String,
    /// The source's length, when known.
    pub size: Option<u64>,
    /// Part size of the upload.
    pub part_size: u64,
    /// The source version: an HTTP source's strong ETag or Last-Modified, a file's
    /// modification time.
    pub validator: Option<String>,
    /// The multipart upload id.
    pub upload_id: String,
}

impl ResumeRecord {
    /// The text form: a magic line, then `name value` lines.
    pub fn to_text(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        format!(
            "{MAGIC}\nsource {}\ndestination {}\nsize {}\npart_size {}\nvalidator {}\nupload_id {}\n",
            one_line(&self.source),
            one_line(&self.destination),
            self.size
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            self.part_size,
            one_line(&opt(&self.validator)),
            one_line(&self.upload_id),
        )
    }

    /// Whether this recorded upload may be continued by a copy described by `current` (its
    /// upload id and part size not yet known) asking for `part_size`: same source name, version
    /// and length, same destination, and the recorded part size unless another one is asked for.
    pub fn continues(&self, current: &ResumeRecord, part_size: Option<u64>) -> bool {
        self.source == current.source
            && self.destination == current.destination
            && self.size == current.size
            && self.validator == current.validator
            && part_size.is_none_or(|p| p == self.part_size)
    }

    /// Parses [`ResumeRecord::to_text`]; `None` for anything else (a record from another version,
    /// a damaged file: the copy then starts over).
    pub fn from_text(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut r = ResumeRecord::default();
        for line in lines {
            let (k, v) = line.split_once(' ')?;
            let opt = |v: &str| (v != "-").then(|| v.to_owned());
            match k {
                "source" => r.source = v.to_owned(),
                "destination" => r.destination = v.to_owned(),
                "size" => r.size = opt(v).map(|s| s.parse()).transpose().ok()?,
                "part_size" => r.part_size = v.parse().ok()?,
                "validator" => r.validator = opt(v),
                "upload_id" => r.upload_id = v.to_owned(),
                _ => {}
            }
        }
        (!r.upload_id.is_empty() && r.part_size > 0).then_some(r)
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Where the record of copying `source` to `s3://bucket/key` lives:
/// `$XDG_STATE_HOME/ovakit/uploads/<digest>` (or `~/.local/state/ovakit/uploads/<digest>`),
/// the digest being a SHA-256 of source and destination. `None` when neither variable is set.
///
/// ```
/// let a = s3_stream::resume_path("/data/disk.ova", "b", "k");
/// let b = s3_stream::resume_path("/data/disk.ova", "b", "other");
/// assert_ne!(a, b);
/// ```
pub fn resume_path(source: &str, bucket: &str, key: &str) -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(format!("s3://{bucket}/{key}").as_bytes());
    let name = hex::encode(&h.finalize()[..16]);
    Some(state.join("ovakit").join("uploads").join(name))
}

/// Writes `rec` to `path` atomically (a temporary file in the same folder, then a rename).
///
/// # Errors
///
/// [`Error::Io`] naming the file.
pub(crate) fn write(path: &Path, rec: &ResumeRecord) -> Result<()> {
    let io = |e| Error::Io {
        path: path.to_owned(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(rec.to_text().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Reads the record at `path`; `None` when there is none or it cannot be understood.
pub(crate) fn read(path: &Path) -> Option<ResumeRecord> {
    ResumeRecord::from_text(&std::fs::read_to_string(path).ok()?)
}

/// Removes the record (the upload completed or was aborted).
pub(crate) fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the upload record");
    }
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTH_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Whether `grants` show the canned ACL `acl` in effect, as far as grants can show it: the group
/// grants of `public-read`, `public-read-write` and `authenticated-read`, and no group grant for
/// `private`. `None` for a canned ACL whose grants name accounts this client cannot know.
pub(crate) fn acl_in_effect(acl: &str, grants: &[Grant]) -> Option<bool> {
    let has = |uri: &str, perm: &str| {
        grants
            .iter()
            .any(|g| g.grantee == uri && g.permission == perm)
    };
    let group = |uri: &str| grants.iter().any(|g| g.grantee == uri);
    match acl {
        "private" => Some(!group(ALL_USERS) && !group(AUTH_USERS)),
        "public-read" => Some(has(ALL_USERS, "READ")),
        "public-read-write" => Some(has(ALL_USERS, "READ") && has(ALL_USERS, "WRITE")),
        "authenticated-read" => Some(has(AUTH_USERS, "READ")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let r = ResumeRecord {
            source: "/data/disk.ova".into(),
            destination: "s3://b/k with space".into(),
            size: Some(42),
            part_size: 8 << 20,
            validator: Some("\"abc\"".into()),
            upload_id: "u-1".into(),
        };
        assert_eq!(ResumeRecord::from_text(&r.to_text()), Some(r.clone()));
        let none = ResumeRecord {
            size: None,
            validator: None,
            ..r.clone()
        };
        assert_eq!(ResumeRecord::from_text(&none.to_text()), Some(none));
        assert_eq!(ResumeRecord::from_text("something else\n"), None);
        assert_eq!(
            ResumeRecord::from_text(&r.to_text().replace("part_size 8388608", "part_size x")),
            None
        );
    }

    #[test]
    fn only_the_same_source_version_and_destination_continue() {
        let rec = ResumeRecord {
            source: "/d/disk.ova".into(),
            destination: "s3://b/k".into(),
            size: Some(10),
            part_size: 5,
            validator: Some("mtime 1.0 len 10".into()),
            upload_id: "u".into(),
        };
        let now = ResumeRecord {
            part_size: 0,
            upload_id: String::new(),
            ..rec.clone()
        };
        assert!(rec.continues(&now, None));
        assert!(rec.continues(&now, Some(5)));
        assert!(!rec.continues(&now, Some(6)), "another part size");
        let changed = ResumeRecord {
            validator: Some("mtime 2.0 len 10".into()),
            ..now.clone()
        };
        assert!(!rec.continues(&changed, None), "the source changed");
        let longer = ResumeRecord {
            size: Some(11),
            ..now.clone()
        };
        assert!(!rec.continues(&longer, None));
        let elsewhere = ResumeRecord {
            destination: "s3://b/other".into(),
            ..now
        };
        assert!(!rec.continues(&elsewhere, None));
    }

    #[test]
    fn write_is_atomic_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/rec");
        let r = ResumeRecord {
            upload_id: "x".into(),
            part_size: 1,
            ..Default::default()
        };
        write(&path, &r).unwrap();
        assert_eq!(read(&path), Some(r));
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        remove(&path);
        assert_eq!(read(&path), None);
    }

    #[test]
    fn acl_grants_decide_canned_acls() {
        let body = br#"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
<Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
</AccessControlList></AccessControlPolicy>"#;
        let crate::xml::Outcome::Ok(g) = crate::xml::parse_acl(body).unwrap() else {
            panic!()
        };
        assert_eq!(g.len(), 2);
        assert_eq!(acl_in_effect("public-read", &g), Some(true));
        assert_eq!(acl_in_effect("private", &g), Some(false));
        assert_eq!(acl_in_effect("public-read-write", &g), Some(false));
        assert_eq!(acl_in_effect("bucket-owner-read", &g), None);
        let owner_only = &g[..1];
        assert_eq!(acl_in_effect("private", owner_only), Some(true));
        assert_eq!(acl_in_effect("public-read", owner_only), Some(false));
    }
}
