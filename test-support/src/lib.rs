//! What the workspace's test trees share, written once: a test asks for a server, a port, a
//! certificate or test data, and gets the same thing in every crate.
//!
//! - [`tls`]: self-signed certificates made by rcgen (a plain end-entity one and the `CA:TRUE`
//!   kind `openssl req -x509` makes), and a TLS front for a plain TCP server.
//! - [`http`]: hyper servers on a loopback port (plain or HTTPS) for a request handler, and a
//!   thread-per-connection server for tests that write raw HTTP answers.
//! - [`proxy`]: a TCP proxy that damages one byte on the way.
//! - `s3s` (feature `s3s`): s3s-fs served in-process.
//! - [`moto`]: the moto server `scripts/test.sh` starts, and names no earlier run used.
//! - [`ports`]: free loopback ports and waiting for a server to listen.
//! - [`data`]: deterministic, incompressible test bytes.
//! - [`package`]: a small OVA written as plain USTAR, independently of `ova-core`.
//! - [`tools`] and [`openssl`]: external tools as judges (skipped without them, required under
//!   CI), and certificates made by the `openssl` command line.
//!
//! The crate is not published and depends on no crate of the workspace, so that each library
//! crate can take it as a dev-dependency while the library crates never depend on each other.
//! Every helper panics on a setup failure: it runs inside a test, where a panic is the report.

pub mod data;
pub mod http;
pub mod moto;
pub mod openssl;
pub mod package;
pub mod ports;
pub mod proxy;
#[cfg(feature = "s3s")]
pub mod s3s;
pub mod tls;
pub mod tools;

/// Whether the tests run under CI (`CI` is set): there a missing server or tool fails a test
/// instead of skipping it.
pub fn ci() -> bool {
    std::env::var_os("CI").is_some()
}
