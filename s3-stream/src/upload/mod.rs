//! The upload engine: one multipart upload session that every source feeds.
//!
//! - [`scheduler`]: pure: which part to read next, what a resumed upload may keep;
//! - [`session`]: the IO shell: create (or continue), parts with a bound on the bytes in
//!   flight, complete, abort on failure, cancellation and drop;
//! - [`writer`]: bytes written by the caller into an object ([`ObjectWriter`]);
//! - [`resume`]: the record of an upload in progress, and what ACL grants say of a canned ACL
//!   (the ListParts and GetObjectAcl documents are read in `xml`);
//! - [`part`], [`hasher`], [`calls`]: a part's body and digests, the whole-stream digests, the
//!   requests the session makes besides UploadPart.
//!
//! Nothing here imports the copy front ends (`copy.rs`, `server_copy.rs`); they import this.

mod calls;
pub(crate) mod hasher;
pub(crate) mod part;
pub(crate) mod resume;
pub(crate) mod scheduler;
pub(crate) mod session;
pub(crate) mod writer;

pub use crate::xml::StoredPart;
pub use resume::{ResumeRecord, resume_path};
pub use writer::ObjectWriter;
