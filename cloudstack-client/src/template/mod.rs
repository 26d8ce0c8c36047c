//! Templates: the typed `registerTemplate` request of the 4.20-era API, and waiting until a
//! registered template is ready, as a sans-IO state machine like [`crate::job::JobPoll`].
//!
//! `registerTemplate` answers before the secondary-storage VM has downloaded anything. The
//! template's `status` then moves, per zone (one `listTemplates` row per zone), through the texts
//! CloudStack's `TemplateJoinDaoImpl.getTemplateStatus` writes:
//!
//! | status text | meaning |
//! |---|---|
//! | `Processing` (or a template state such as `Active`, `NotUploaded`, `UploadInProgress`) | queued |
//! | `N% Downloaded` | downloading |
//! | `Installing Template` | downloaded, being installed (download at 100 %) |
//! | `Download Complete` / `Successfully Installed` | done; `isready` follows |
//! | `Bypassed Secondary Storage` | direct download (KVM): nothing is copied |
//! | `Download success, starting install`, `Install completed successfully at …` | the storage VM's progress notes |
//! | the download error text | failed, e.g. `Failed post download script: checksum "{SHA-256}…" didn't match the given value, "{SHA-256}…"`, `checksum algorithm not recognised: …`, `Unable to install due to invalid file format`, `UploadError`, `UploadAbandoned` |
//!
//! [`TemplateWait`] polls `listTemplates templatefilter=self id=…` until every requested zone has a
//! row with `isready=true`, fails with
//! [`Error::TemplateDownloadFailed`](crate::Error::TemplateDownloadFailed) (the server's text) as
//! soon as a requested zone's status reports a failure, and gives up with
//! [`Error::TemplateNotReady`](crate::Error::TemplateNotReady) at the deadline. A status text it
//! does not know counts as "still working" (it is shown in the progress and in the timeout
//! error), so a new server wording never ends a wait early.

mod register;
mod status;
mod wait;

pub use register::{ARCHITECTURES, RegisterTemplate};
pub use status::{DownloadStatus, download_status};
pub use wait::{TemplateProgress, TemplateStep, TemplateWait, ZoneStatus};

/// The zones a template is registered in, or waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Zones {
    /// Every zone (`zoneids=-1` when registering; when waiting, every zone the template is listed
    /// in).
    All,
    /// These zone ids.
    These(Vec<String>),
}

impl Zones {
    /// One zone.
    pub fn one(id: impl Into<String>) -> Self {
        Zones::These(vec![id.into()])
    }

    pub(crate) fn wants(&self, zone: Option<&str>) -> bool {
        match (self, zone) {
            (Zones::All, _) | (_, None) => true,
            (Zones::These(z), Some(id)) => z.iter().any(|w| w == id),
        }
    }
}
