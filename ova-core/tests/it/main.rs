//! The integration tests of `ova-core`, in one test binary (`cargo test -p ova-core --test it`;
//! one module per area, e.g. `--test it hostile_archives::`): archive write ↔
//! read, short reads and hostile archives, tar interop (Python `tarfile`, GNU tar), manifests, the
//! OVF corpus and descriptor edits, repack/pack/extract and chunking, `build`, signing (with
//! `openssl` interop), stream-optimized VMDKs (with `qemu-img` interop and validation), and
//! stopping long operations from their progress callback.

#[allow(dead_code, unreachable_pub)]
mod archive_support;

mod archive_roundtrip;
mod archive_shortread;
mod build_interop;
mod cancel;
mod chunked_gzip;
mod chunking;
mod disk_interop;
mod disk_roundtrip;
mod fuzz_regressions;
mod hostile_archives;
mod interop_tar;
mod manifest_roundtrip;
mod not_an_ova;
mod ovf_corpus;
mod ovf_edit;
mod realworld;
mod repack_roundtrip;
mod sign_interop;
mod sign_package;
mod validate_vmdk;
mod verdict_classes;
mod vmdk_interop;
mod vmdk_roundtrip;
