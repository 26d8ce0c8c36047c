//! External tools the tests run as independent judges (`openssl`, `qemu-img`, Python): whether
//! one is there (a test without it skips with a message, and fails under CI), and running one
//! with its error output in the failure.

use std::path::Path;
use std::process::{Command, Output};

/// The Python interpreter for interop checks: `OVAKIT_PYTHON` (the test virtualenv's, with
/// `cs`, libcloud and botocore), else `python3` from `PATH`.
pub fn python() -> String {
    std::env::var("OVAKIT_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// [`python()`] when it can import every one of `modules`; `None` (the caller skips, with a
/// message on stderr) when it cannot.
///
/// # Panics
///
/// Under CI ([`crate::ci`]) when a module cannot be imported.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let py = python();
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new(&py)
        .args(["-c", &probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    let msg = format!(
        "{py} cannot import {modules:?} (set OVAKIT_PYTHON to the virtualenv of \
         scripts/requirements-test.txt)"
    );
    assert!(!crate::ci(), "{msg}");
    eprintln!("skipping: {msg}");
    None
}

/// Whether `program probe_arg` (e.g. `openssl version`) runs and exits 0. When it does not, a
/// message on stderr says the caller skips.
///
/// # Panics
///
/// Under CI ([`crate::ci`]) when the program is missing: there every tool must be installed.
pub fn require(program: &str, probe_arg: &str) -> bool {
    let ok = Command::new(program)
        .arg(probe_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!crate::ci(), "{program} is required when CI is set");
        eprintln!("skipped: {program} is not installed");
    }
    ok
}

/// Runs `cmd` and returns its standard output (lossily decoded).
///
/// # Panics
///
/// When the command cannot be started or exits with an error (the message has the command and
/// its output).
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/test.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd` with `input` written to its standard input and returns its standard output
/// (lossily decoded).
///
/// # Panics
///
/// As [`run`].
pub fn run_stdin(cmd: &mut Command, input: &[u8]) -> String {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/test.sh installs it)"));
    let mut stdin = child.stdin.take().unwrap();
    // from a thread: a large input must not wait for the child to drain its output
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    written.unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `program args` in `dir` and returns its output.
///
/// # Panics
///
/// When the program cannot be started or exits with an error (the message has its stderr).
pub fn run_in(dir: &Path, program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test.sh installs it)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_not_there_and_a_present_one_runs() {
        if crate::ci() {
            return; // `require` panics for a missing program under CI, by design
        }
        assert!(!require("ovakit-no-such-program", "--version"));
        assert_eq!(python_with(&["ovakit_no_such_module"]), None);
        let dir = tempfile::tempdir().unwrap();
        let out = run_in(dir.path(), "sh", &["-c", "pwd"]);
        let pwd = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            Path::new(pwd.trim()).canonicalize().unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[test]
    fn run_returns_the_standard_output() {
        assert_eq!(
            run(Command::new("sh").args(["-c", "echo out; echo err >&2"])),
            "out\n"
        );
    }

    #[test]
    fn run_stdin_feeds_the_input() {
        let input = vec![b'x'; 1 << 20];
        let out = run_stdin(Command::new("sh").args(["-c", "wc -c"]), &input);
        assert_eq!(out.trim(), "1048576");
    }

    #[test]
    #[should_panic(expected = "failed: half\nexit 4")]
    fn run_panics_with_the_output_of_a_failure() {
        run(Command::new("sh").args(["-c", "echo half; echo 'exit 4' >&2; exit 4"]));
    }

    #[test]
    #[should_panic(expected = "exit 3")]
    fn a_failing_program_panics_with_its_error_output() {
        run_in(Path::new("."), "sh", &["-c", "echo 'exit 3' >&2; exit 3"]);
    }
}
