//! `s3copy URL s3://… --resume` after `kill -9`, for an HTTP source (moto, which lists part
//! ETags): the second run reads the source once, with `Range: bytes=0-` guarded by `If-Range` of
//! the version the first run recorded; a source that changed in between, or that sent no
//! validator, starts over and yields the new bytes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use s3_stream::{Client, Credentials};

const MIB: usize = 1 << 20;
const PART: usize = 5 * MIB;
const LEN: usize = 6 * PART;

/// What the source serves now.
#[derive(Clone)]
struct Version {
    content: Arc<Vec<u8>>,
    /// `None`: no ETag and no Last-Modified at all.
    etag: Option<&'static str>,
    /// Stop sending after this many bytes of a body (and hold the connection open).
    stall_at: Option<usize>,
}

/// One request as the source saw it: its `Range` and `If-Range` headers and the status sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    range: Option<String>,
    if_range: Option<String>,
    status: u16,
}

/// An HTTP source that honours `Range: bytes=N-` and `If-Range` (against its ETag) and counts
/// the body bytes it sends.
struct VersionedSource {
    url: String,
    version: Arc<Mutex<Version>>,
    sent: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn serve_versions(first: Version) -> VersionedSource {
    let version = Arc::new(Mutex::new(first));
    let sent = Arc::new(AtomicU64::new(0));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (v, s, log) = (version.clone(), sent.clone(), seen.clone());
    let addr = test_support::http::serve_raw(move |head, mut sock| {
        let now = v.lock().unwrap().clone();
        let range = head.header("range");
        let if_range = head.header("if-range");
        let start = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        let if_range_ok = match (&if_range, now.etag) {
            (None, _) => true,
            (Some(asked), Some(e)) => asked == e,
            (Some(_), None) => false,
        };
        let len = now.content.len();
        let mut resp = String::new();
        let from = match start {
            Some(a) if if_range_ok && a < len => {
                resp.push_str(&format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {a}-{}/{len}\r\nContent-Length: {}\r\n",
                    len - 1,
                    len - a
                ));
                a
            }
            _ => {
                resp.push_str(&format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n"));
                0
            }
        };
        if let Some(e) = now.etag {
            resp.push_str(&format!(
                "ETag: {e}\r\nLast-Modified: Wed, 01 Jan 2020 00:00:00 GMT\r\n"
            ));
        }
        resp.push_str("Connection: close\r\n\r\n");
        log.lock().unwrap().push(Seen {
            range,
            if_range,
            status: if resp.starts_with("HTTP/1.1 206") {
                206
            } else {
                200
            },
        });
        if sock.write_all(resp.as_bytes()).is_err() {
            return;
        }
        let end = now.stall_at.map_or(len, |k| k.clamp(from, len));
        for chunk in now.content[from..end].chunks(256 << 10) {
            if sock.write_all(chunk).is_err() {
                return;
            }
            s.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        if now.stall_at.is_some() {
            // hold the connection open, sending nothing, until the client goes away
            std::thread::sleep(Duration::from_secs(300));
        }
    });
    VersionedSource {
        url: format!("http://{addr}/disk.raw"),
        version,
        sent,
        seen,
    }
}

/// Distinct bytes (so each part has its own MD5), different for each `seed`.
fn content(seed: u8) -> Arc<Vec<u8>> {
    let mut v = vec![0u8; LEN];
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(seed);
    for b in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    Arc::new(v)
}

fn s3copy(home: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3copy"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["--endpoint", endpoint]);
    cmd
}

/// What happens to the source between the killed run and the resumed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Between {
    Unchanged,
    Changed,
    NoValidator,
}

/// Runs `s3copy URL s3://bucket/key --resume --json` until the store holds three parts (the
/// source stalls after three and a half), kills it with SIGKILL, applies `between` to the
/// source, runs the same command again and returns its JSON, the source, and the bytes and
/// requests the source served to the second run.
fn killed_then_resumed(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    endpoint: &str,
    bucket: &str,
    between: Between,
) -> (serde_json::Value, VersionedSource, u64, Vec<Seen>) {
    let etag = match between {
        Between::NoValidator => None,
        _ => Some("\"v1\""),
    };
    let src = serve_versions(Version {
        content: content(1),
        etag,
        stall_at: Some(3 * PART + PART / 2),
    });
    let home = tempfile::tempdir().unwrap();
    let key = "disk.raw";
    let dest = format!("s3://{bucket}/{key}");
    let args = [
        src.url.as_str(),
        dest.as_str(),
        "--part-size",
        "5M",
        "--concurrency",
        "2",
        "--resume",
        "--json",
    ];
    let mut child = s3copy(home.path(), endpoint)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = home.path().join("state/ovakit/uploads");
    let started = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "s3copy ended before it was killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the upload made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
        let Some(Ok(rec)) = std::fs::read_dir(&state)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| std::fs::read_to_string(e.unwrap().path()))
        else {
            continue;
        };
        let Some(id) = rec.lines().find_map(|l| l.strip_prefix("upload_id ")) else {
            continue;
        };
        let stored = rt
            .block_on(client.list_parts(bucket, key, id))
            .map(|p| p.len())
            .unwrap_or(0);
        if stored >= 3 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: the upload and its record stay behind
    child.wait().unwrap();
    {
        let mut v = src.version.lock().unwrap();
        v.stall_at = None;
        if between == Between::Changed {
            v.content = content(2);
            v.etag = Some("\"v2\"");
        }
    }
    let before = src.sent.load(Ordering::SeqCst);
    let asked = src.seen.lock().unwrap().len();
    let out = s3copy(home.path(), endpoint)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = src.sent.load(Ordering::SeqCst) - before;
    let seen = src.seen.lock().unwrap()[asked..].to_vec();
    let stored = rt.block_on(client.get_object(bucket, key)).unwrap();
    assert!(
        stored[..] == src.version.lock().unwrap().content[..],
        "the object is the source's current bytes ({between:?})"
    );
    assert!(
        std::fs::read_dir(&state).unwrap().next().is_none(),
        "the record is removed"
    );
    let left = rt
        .block_on(client.list_multipart_uploads(bucket, None))
        .unwrap();
    assert!(left.is_empty(), "an upload was left: {left:?}");
    (j, src, sent, seen)
}

#[test]
fn http_source_resumes_across_runs_by_if_range_and_starts_over_when_changed() {
    let Some(endpoint) = test_support::moto::endpoint() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::builder()
        .with_endpoint(&endpoint)
        .with_region("us-east-1")
        .with_credentials(Credentials::new("testing", "testing"))
        .build()
        .unwrap();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let parts = (LEN / PART) as u64;

    // unchanged: one request, Range from 0 under If-Range of the recorded ETag, answered 206;
    // the source is read once (not from byte 0 twice) and only the missing parts are sent
    let bucket = format!("resume-http-same-{stamp}");
    rt.block_on(client.create_bucket(&bucket)).unwrap();
    let (j, _src, sent, seen) =
        killed_then_resumed(&rt, &client, &endpoint, &bucket, Between::Unchanged);
    assert_eq!(
        seen,
        [Seen {
            range: Some("bytes=0-".into()),
            if_range: Some("\"v1\"".into()),
            status: 206,
        }],
        "{j}"
    );
    assert_eq!(sent, LEN as u64, "the resumed run read the source once");
    let reused = j["parts_reused"].as_u64().unwrap();
    assert!(reused >= 3, "{j}");
    assert_eq!(reused + j["parts_uploaded"].as_u64().unwrap(), parts, "{j}");
    assert!(j["resume_refused"].is_null(), "{j}");

    // changed: If-Range does not match, the server sends the new version whole; the old
    // upload is aborted and every part is sent from the new bytes
    let bucket = format!("resume-http-changed-{stamp}");
    rt.block_on(client.create_bucket(&bucket)).unwrap();
    let (j, _src, sent, seen) =
        killed_then_resumed(&rt, &client, &endpoint, &bucket, Between::Changed);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].status, 200);
    assert_eq!(seen[0].if_range.as_deref(), Some("\"v1\""));
    assert_eq!(sent, LEN as u64);
    assert_eq!(
        (j["parts_reused"].as_u64(), j["parts_uploaded"].as_u64()),
        (Some(0), Some(parts)),
        "{j}"
    );
    let why = j["resume_refused"].as_str().unwrap();
    assert!(why.contains("changed") && why.contains("\"v2\""), "{why}");

    // no validator in the first run: nothing to ask If-Range with, so no resume
    let bucket = format!("resume-http-unversioned-{stamp}");
    rt.block_on(client.create_bucket(&bucket)).unwrap();
    let (j, _src, _sent, seen) =
        killed_then_resumed(&rt, &client, &endpoint, &bucket, Between::NoValidator);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].if_range.as_deref(), seen[0].status), (None, 200));
    assert_eq!(
        (j["parts_reused"].as_u64(), j["parts_uploaded"].as_u64()),
        (Some(0), Some(parts)),
        "{j}"
    );
    let why = j["resume_refused"].as_str().unwrap();
    assert!(why.contains("no ETag or Last-Modified"), "{why}");
}
