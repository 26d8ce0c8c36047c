//! Shared helpers for the benchmarks (input generators).

/// The workspace README's Rust examples, compiled by `cargo test --doc` here: this crate is the
/// one that depends on all three libraries.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
