//! Helpers shared by the `pipeline` integration tests.

use std::process::Command;

/// The `pipeline` binary built for these tests.
const BIN: &str = env!("CARGO_BIN_EXE_pipeline");

/// The binary, with the environment variables it reads removed so that a developer's own
/// credentials cannot override the test's configuration.
pub(crate) fn pipeline_cmd() -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "CLOUDSTACK_ENDPOINT",
        "CLOUDSTACK_KEY",
        "CLOUDSTACK_SECRET",
        "PIPELINE_CONFIG",
        "PIPELINE_NAME",
        "PIPELINE_STATE_FILE",
        "PIPELINE_BUCKET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
