//! The moto S3 server the test script starts (`scripts/test.sh` runs `moto_server` on a free
//! loopback port and exports `OVAKIT_MOTO_ENDPOINT`), and names that no earlier run against the
//! same long-lived server used.

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming moto's endpoint (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "OVAKIT_MOTO_ENDPOINT";

/// moto's endpoint from [`ENDPOINT_VAR`]; `None` (the caller skips, with a message on stderr)
/// when it is unset or empty.
///
/// # Panics
///
/// Under CI ([`crate::ci`]) when the variable is unset: there moto must run.
pub fn endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.is_empty() => Some(e),
        _ if crate::ci() => panic!("{ENDPOINT_VAR} is not set under CI"),
        _ => {
            eprintln!("skipped: {ENDPOINT_VAR} is not set (scripts/test.sh starts moto)");
            None
        }
    }
}

/// `prefix-<pid>-<microseconds>-<n>`: a bucket or key name no other test of this process, and
/// no earlier run against the same server, uses (lowercase when `prefix` is, as bucket names
/// must be).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
            % 1_000_000_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_names_differ_and_fit_a_bucket_name() {
        let (a, b) = (super::unique("ovakit-test"), super::unique("ovakit-test"));
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert!(n.starts_with("ovakit-test-"), "{n}");
            // S3 bucket names: 3 to 63 characters of lowercase letters, digits and hyphens
            assert!(n.len() <= 63, "{n}");
            assert!(
                n.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
                "{n}"
            );
        }
    }
}
