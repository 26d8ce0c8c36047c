//! The integration tests of `s3-stream`, in one test binary (`cargo test -p s3-stream --test it`;
//! one module per area, e.g. `--test it faults::`): the conformance suite
//! against s3s-fs and moto (`OVAKIT_MOTO_ENDPOINT`) and the other servers of the matrix
//! (`common::matrix_servers`), fault injection, a byte flipped on the way to each server, HTTPS
//! sources, recorded responses of other S3 implementations, and the
//! published SigV4/SigV2 signing vectors (with botocore).

#[allow(dead_code, unreachable_pub, clippy::type_complexity)]
mod common;

mod conformance;
mod corpus;
mod faults;
mod flip;
mod tls;
mod vectors;
