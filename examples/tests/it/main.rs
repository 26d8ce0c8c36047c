//! The integration tests of the `examples` binaries, in one test binary (`cargo test -p examples
//! --test it`; one module per area, e.g. `--test it pipeline_run::`): the
//! `cloudstack` CLI against the simulator, `ova --large-files chunk`, `ova disk`/`ova convert`, `ova` stopped
//! by Ctrl-C, `ova` refusing hardware a VirtualSystemType cannot carry (`--force`),
//! `pipeline` (`demo`, `run --config`, a transfer resumed after a broken export, and HTTPS
//! endpoints), `s3copy` against s3s-fs and moto (also resumed across runs from an HTTP source), and
//! the progress display of all four (nothing on a pipe, bars on a terminal).

mod common;

mod cloudstack_cli;
mod ova_cancel;
mod ova_disk;
mod ova_hardware;
mod ova_large_files;
mod pipeline_cancel;
mod pipeline_demo;
mod pipeline_run;
mod pipeline_run_resume;
mod pipeline_tls;
mod progress_output;
mod s3copy_cli;
mod s3copy_resume;
mod s3copy_resume_http;
