//! The resumable state file: which steps completed and what they produced.
//!
//! The data model is plain serde; [`load`] and [`save`] are the only IO. A save writes a temp file
//! beside the target and renames it over, so a crash never leaves a half-written state file.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::hypervisor::ImageFormat;
use crate::plan::Step;

/// Version of the state file layout; bumped on incompatible changes.
pub(crate) const STATE_VERSION: u32 = 1;

/// Everything the pipeline remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Layout version ([`STATE_VERSION`]).
    pub(crate) version: u32,
    /// Output of `prepare`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prepare: Option<Done<PrepareOut>>,
    /// Output of `publish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) publish: Option<Done<PublishOut>>,
    /// Output of `register`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) register: Option<Done<RegisterOut>>,
    /// Output of `deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deploy: Option<Done<DeployOut>>,
    /// Output of `export`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) export: Option<Done<ExportOut>>,
    /// Output of `transfer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) transfer: Option<Done<TransferOut>>,
    /// Output of `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verify: Option<Done<VerifyOut>>,
}

/// A completed step: when, how long, and its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Done<T> {
    /// Completion time, seconds since the Unix epoch.
    pub(crate) completed_at: u64,
    /// Wall time of the step in seconds.
    pub(crate) seconds: f64,
    /// Fingerprint of the configuration the step ran with (see `plan::Fingerprints`).
    #[serde(default)]
    pub(crate) fingerprint: String,
    /// What the step produced.
    pub(crate) output: T,
}

/// `prepare`: the file ready to publish.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrepareOut {
    /// Path of the prepared file: an OVA, or a QCOW2 or VHD image (the key keeps its first
    /// name, so state files and reports of earlier versions read the same).
    pub(crate) ova: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// SHA-256 of the whole file, lowercase hex.
    pub(crate) sha256: String,
    /// What the file is (`ova` in state files written before other formats existed).
    #[serde(default)]
    pub(crate) format: ImageFormat,
    /// QCOW2 and VHD: the virtual disk size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) virtual_size: Option<u64>,
    /// QCOW2 and VHD: SHA-256 of the disk's raw content, read back through the image reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) raw_sha256: Option<String>,
}

/// `publish`: the uploaded object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PublishOut {
    /// Bucket name.
    pub(crate) bucket: String,
    /// Object key.
    pub(crate) key: String,
    /// URL CloudStack downloads the template from.
    pub(crate) url: String,
    /// Object size in bytes.
    pub(crate) size: u64,
    /// ETag reported by the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    /// Canned ACL applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acl: Option<String>,
}

/// `register`: the CloudStack template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RegisterOut {
    /// Template id.
    pub(crate) template_id: String,
    /// Template name.
    pub(crate) template_name: String,
    /// Zone id the template was registered in.
    pub(crate) zone_id: String,
}

/// `deploy`: the virtual machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeployOut {
    /// VM id.
    pub(crate) vm_id: String,
    /// VM name.
    pub(crate) vm_name: String,
    /// First NIC's IP address, when the cloud reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<String>,
}

/// `export`: the template's download URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExportOut {
    /// Decoded HTTP(S) URL of the exported template.
    pub(crate) url: String,
    /// The template's format as CloudStack lists it (what the export holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<ImageFormat>,
}

/// `transfer`: the export copied into object storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TransferOut {
    /// Bucket name.
    pub(crate) bucket: String,
    /// Object key.
    pub(crate) key: String,
    /// Bytes copied.
    pub(crate) size: u64,
    /// SHA-256 of the bytes copied, lowercase hex.
    pub(crate) sha256: String,
    /// Number of manifest entries whose digest matched on the fly (0 for a QCOW2 or VHD).
    pub(crate) verified_entries: usize,
    /// What the export is (`ova` in state files written before other formats existed).
    #[serde(default)]
    pub(crate) format: ImageFormat,
    /// QCOW2 and VHD: the virtual size the image's header gave, checked in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) virtual_size: Option<u64>,
}

/// `verify`: the final checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VerifyOut {
    /// Every check, passed or not.
    pub(crate) checks: Vec<Check>,
}

/// One named check and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Check {
    /// What was checked.
    pub(crate) name: String,
    /// Whether it held.
    pub(crate) passed: bool,
    /// Details (values compared).
    pub(crate) detail: String,
}

impl State {
    /// A new, empty state.
    pub(crate) fn new() -> Self {
        Self {
            version: STATE_VERSION,
            ..Self::default()
        }
    }

    /// Whether `step` has a recorded output.
    pub(crate) fn is_done(&self, step: Step) -> bool {
        match step {
            Step::Prepare => self.prepare.is_some(),
            Step::Publish => self.publish.is_some(),
            Step::Register => self.register.is_some(),
            Step::Deploy => self.deploy.is_some(),
            Step::Export => self.export.is_some(),
            Step::Transfer => self.transfer.is_some(),
            Step::Verify => self.verify.is_some(),
        }
    }

    /// Forget the output of `step`.
    pub(crate) fn clear(&mut self, step: Step) {
        match step {
            Step::Prepare => self.prepare = None,
            Step::Publish => self.publish = None,
            Step::Register => self.register = None,
            Step::Deploy => self.deploy = None,
            Step::Export => self.export = None,
            Step::Transfer => self.transfer = None,
            Step::Verify => self.verify = None,
        }
    }

    /// The configuration fingerprint recorded with `step`, if it is done and has one.
    pub(crate) fn fingerprint(&self, step: Step) -> Option<&str> {
        let fp = match step {
            Step::Prepare => self.prepare.as_ref().map(|d| &d.fingerprint),
            Step::Publish => self.publish.as_ref().map(|d| &d.fingerprint),
            Step::Register => self.register.as_ref().map(|d| &d.fingerprint),
            Step::Deploy => self.deploy.as_ref().map(|d| &d.fingerprint),
            Step::Export => self.export.as_ref().map(|d| &d.fingerprint),
            Step::Transfer => self.transfer.as_ref().map(|d| &d.fingerprint),
            Step::Verify => self.verify.as_ref().map(|d| &d.fingerprint),
        }?;
        (!fp.is_empty()).then_some(fp.as_str())
    }

    /// Set the fingerprint of a completed step (no effect when it is not done).
    #[cfg(test)]
    pub(crate) fn set_fingerprint(&mut self, step: Step, fp: String) {
        let slot = match step {
            Step::Prepare => self.prepare.as_mut().map(|d| &mut d.fingerprint),
            Step::Publish => self.publish.as_mut().map(|d| &mut d.fingerprint),
            Step::Register => self.register.as_mut().map(|d| &mut d.fingerprint),
            Step::Deploy => self.deploy.as_mut().map(|d| &mut d.fingerprint),
            Step::Export => self.export.as_mut().map(|d| &mut d.fingerprint),
            Step::Transfer => self.transfer.as_mut().map(|d| &mut d.fingerprint),
            Step::Verify => self.verify.as_mut().map(|d| &mut d.fingerprint),
        };
        if let Some(slot) = slot {
            *slot = fp;
        }
    }

    /// Seconds the recorded step took, if it is done.
    pub(crate) fn seconds(&self, step: Step) -> Option<f64> {
        match step {
            Step::Prepare => self.prepare.as_ref().map(|d| d.seconds),
            Step::Publish => self.publish.as_ref().map(|d| d.seconds),
            Step::Register => self.register.as_ref().map(|d| d.seconds),
            Step::Deploy => self.deploy.as_ref().map(|d| d.seconds),
            Step::Export => self.export.as_ref().map(|d| d.seconds),
            Step::Transfer => self.transfer.as_ref().map(|d| d.seconds),
            Step::Verify => self.verify.as_ref().map(|d| d.seconds),
        }
    }
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StateError {
    /// Reading or writing failed.
    #[error("cannot {action} state file {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The state file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a state file this version understands.
    #[error("state file {path} is not valid pipeline state (remove it or pass --restart)")]
    Parse {
        /// The state file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Written by an incompatible version.
    #[error(
        "state file {path} has layout version {found}, this tool writes {STATE_VERSION} (pass --restart)"
    )]
    Version {
        /// The state file.
        path: String,
        /// The version found.
        found: u32,
    },
}

/// Parse a state file's bytes.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    let state: State = serde_json::from_slice(bytes).map_err(|source| StateError::Parse {
        path: path.display().to_string(),
        source,
    })?;
    if state.version != STATE_VERSION {
        return Err(StateError::Version {
            path: path.display().to_string(),
            found: state.version,
        });
    }
    Ok(state)
}

/// Load the state at `path`; a missing file is an empty state.
pub(crate) fn load(path: &Path) -> Result<State, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => parse(path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::new()),
        Err(source) => Err(StateError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Write the state atomically: a temp file beside `path`, fsync, then rename.
pub(crate) fn save(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        action: "write",
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pipeline-state")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    let mut bytes = serde_json::to_vec_pretty(state).expect("state serializes");
    bytes.push(b'\n');
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done<T>(output: T) -> Option<Done<T>> {
        Some(Done {
            completed_at: 1_700_000_000,
            seconds: 1.5,
            fingerprint: String::new(),
            output,
        })
    }

    #[test]
    fn round_trips_through_json_and_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut state = State::new();
        state.prepare = done(PrepareOut {
            ova: "a.qcow2".into(),
            size: 10,
            sha256: "ab".into(),
            format: ImageFormat::Qcow2,
            virtual_size: Some(1 << 20),
            raw_sha256: Some("cd".into()),
        });
        state.deploy = done(DeployOut {
            vm_id: "v".into(),
            vm_name: "n".into(),
            ip: None,
        });
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), state);
        // No temp file is left beside the target.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_state_file_from_before_other_formats_reads_as_ova() {
        let old = br#"{"version": 1, "prepare": {"completed_at": 1, "seconds": 1.0,
            "output": {"ova": "a.ova", "size": 3, "sha256": "ab"}}}"#;
        let st = parse(Path::new("s.json"), old).unwrap();
        let p = st.prepare.unwrap().output;
        assert_eq!((p.format, p.virtual_size), (ImageFormat::Ova, None));
    }

    #[test]
    fn missing_file_is_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("nope.json")).unwrap(), State::new());
    }

    #[test]
    fn garbage_and_wrong_version_are_typed_errors() {
        let p = Path::new("s.json");
        assert!(matches!(
            parse(p, b"not json"),
            Err(StateError::Parse { .. })
        ));
        assert!(matches!(
            parse(p, br#"{"version": 99}"#),
            Err(StateError::Version { found: 99, .. })
        ));
    }

    #[test]
    fn clear_and_is_done_cover_every_step() {
        let mut state = State::new();
        state.prepare = done(PrepareOut::default());
        state.publish = done(PublishOut {
            bucket: "b".into(),
            key: "k".into(),
            url: "u".into(),
            size: 0,
            etag: None,
            acl: None,
        });
        state.register = done(RegisterOut {
            template_id: "t".into(),
            template_name: "n".into(),
            zone_id: "z".into(),
        });
        state.deploy = done(DeployOut {
            vm_id: "v".into(),
            vm_name: "n".into(),
            ip: None,
        });
        state.export = done(ExportOut {
            url: "u".into(),
            format: None,
        });
        state.transfer = done(TransferOut::default());
        state.verify = done(VerifyOut { checks: vec![] });
        for step in Step::ALL {
            assert!(state.is_done(step));
            assert_eq!(state.seconds(step), Some(1.5));
            assert_eq!(state.fingerprint(step), None);
            state.set_fingerprint(step, "fp".into());
            assert_eq!(state.fingerprint(step), Some("fp"));
            state.clear(step);
            assert!(!state.is_done(step));
            assert_eq!(state.seconds(step), None);
        }
        assert_eq!(state, State::new());
    }
}
