//! The integration tests of `s3-stream`, in one test binary (`cargo test -p s3-stream --test it`;
//! one module per area, e.g. `--test it faults::`): the conformance suite
//! against s3s-fs and moto (`OVAKIT_MOTO_ENDPOINT`), fault injection, HTTPS sources, and the
//! published SigV4/SigV2 signing vectors (with botocore).

#[allow(dead_code, unreachable_pub, clippy::type_complexity)]
mod common;

mod conformance;
mod faults;
mod tls;
mod vectors;
