//! The integration tests of `cloudstack-client`, in one test binary (`cargo test -p
//! cloudstack-client --all-features --test it`; one module per area, e.g.
//! `--test it simulator::`): the client against the in-process simulator (operator flow, jobs,
//! errors, retries, pagination), TLS verification, and interop with the Python `cs` package and
//! Apache Libcloud. Every suite needs the `simulator` feature.

#[allow(dead_code, unreachable_pub)]
mod common;

mod config_cs;

#[cfg(feature = "simulator")]
mod cancel;

#[cfg(feature = "simulator")]
mod python_interop;
#[cfg(feature = "simulator")]
mod real_clients;
#[cfg(feature = "simulator")]
mod sim_strict;
#[cfg(feature = "simulator")]
mod simulator;
#[cfg(feature = "simulator")]
mod tls;
