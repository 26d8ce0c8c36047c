//! `pipeline step transfer` from an export URL whose connection breaks at 40 %: the step continues
//! the download with `Range` guarded by `If-Range` (s3-stream's HTTP source, as `s3copy`), the
//! manifest is verified in flight across the break, and the object is the export's bytes; an
//! export that changed in between is refused and leaves nothing behind.

use std::io::Write;
use std::net::Shutdown;
use std::sync::{Arc, Mutex};

use crate::pipeline_run::{Servers, incomplete_uploads};

/// One request the export server saw: its `Range` and `If-Range` headers.
type Asked = (Option<String>, Option<String>);

/// Serves `ova` with an ETag; the first response stops after `break_at` bytes and the
/// connection is closed. With `changes`, every later request sees another version (new ETag,
/// one byte changed). Returns the URL and the requests seen.
fn serve_breaking_export(
    ova: Vec<u8>,
    break_at: usize,
    changes: bool,
) -> (String, Arc<Mutex<Vec<Asked>>>) {
    let seen: Arc<Mutex<Vec<Asked>>> = Arc::default();
    let log = seen.clone();
    let ova = Arc::new(ova);
    let addr = test_support::http::serve_raw(move |head, mut sock| {
        let (range, if_range) = (head.header("range"), head.header("if-range"));
        let n = {
            let mut l = log.lock().unwrap();
            l.push((range.clone(), if_range.clone()));
            l.len()
        };
        let (body, etag) = if changes && n > 1 {
            let mut v = ova.to_vec();
            let last = v.len() - 1;
            v[last] ^= 1;
            (v, "\"export-v2\"")
        } else {
            (ova.to_vec(), "\"export-v1\"")
        };
        let start = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok())
            .filter(|_| if_range.as_deref().is_none_or(|v| v == etag));
        let len = body.len();
        let (status, from) = match start {
            Some(a) if a < len => (
                format!(
                    "206 Partial Content\r\nContent-Range: bytes {a}-{}/{len}",
                    len - 1
                ),
                a,
            ),
            _ => ("200 OK".to_owned(), 0),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
            len - from
        );
        if sock.write_all(resp.as_bytes()).is_err() {
            return;
        }
        let end = if n == 1 { break_at } else { len };
        let _ = sock.write_all(&body[from..end]);
        let _ = sock.flush();
        let _ = sock.shutdown(Shutdown::Both);
    });
    (format!("http://{addr}/export/disk.ova?token=secret"), seen)
}

#[test]
fn transfer_continues_a_broken_export_and_verifies_it_across_the_break() {
    let s = Servers::start(40);
    let (code, report, stderr) = s.pipeline(&["run", "--to", "prepare"]);
    assert_eq!(code, 0, "{stderr}");
    let ova_path = report["outputs"]["prepare"]["output"]["ova"]
        .as_str()
        .unwrap()
        .to_owned();
    let ova = std::fs::read(&ova_path).unwrap();
    let break_at = ova.len() * 4 / 10;
    let bucket_dir = s.s3_root().join("ovakit-demo");

    let (url, seen) = serve_breaking_export(ova.clone(), break_at, false);
    let (code, report, stderr) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--transfer-key",
        "exports/resumed.ova",
    ]);
    assert_eq!(code, 0, "{stderr}\n{report}");
    assert!(
        std::fs::read(bucket_dir.join("exports/resumed.ova")).unwrap() == ova,
        "the object is the export's bytes"
    );
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0], (None, None));
    assert_eq!(
        asked[1],
        (
            Some(format!("bytes={break_at}-")),
            Some("\"export-v1\"".to_owned())
        ),
        "the download continued where it broke, guarded by the first response's ETag"
    );
    let checks = report["checks"].as_array().unwrap();
    let detail = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name:?} in {checks:?}"))
            .clone()
    };
    let verified = detail("export verified in flight");
    assert_eq!(verified["passed"], true, "{verified}");
    assert!(
        verified["detail"]
            .as_str()
            .unwrap()
            .contains("entries verified in flight"),
        "the manifest was checked across the break: {verified}"
    );
    assert_eq!(detail("export download resumed")["passed"], true);
    assert_eq!(
        report["outputs"]["transfer"]["output"]["size"].as_u64(),
        Some(ova.len() as u64)
    );
    assert_eq!(
        incomplete_uploads(&s.s3_root()),
        Vec::<std::path::PathBuf>::new()
    );

    // The export changed while the connection was down: the resumed range would mix two
    // versions, so the step fails and stores nothing.
    let (url, _seen) = serve_breaking_export(ova.clone(), break_at, true);
    let (code, report, stderr) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--transfer-key",
        "exports/changed.ova",
    ]);
    assert_ne!(code, 0, "{stderr}");
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("changed"), "{error}");
    assert!(
        !error.contains("token=secret"),
        "the URL's query stays out: {error}"
    );
    assert!(!bucket_dir.join("exports/changed.ova").exists());
    assert_eq!(
        incomplete_uploads(&s.s3_root()),
        Vec::<std::path::PathBuf>::new()
    );
}
