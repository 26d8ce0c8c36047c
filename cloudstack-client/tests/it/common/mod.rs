//! Helpers shared by the integration tests.

pub use test_support::http::serve_bytes;
pub use test_support::package::small_ova as make_ova;
pub use test_support::tools::python_with;
