//! `s3copy` at size: the memory bound for every source (peak RSS of the child, VmHWM from
//! /proc, on 2 GiB), and resuming an upload after `kill -9` (moto, which lists part ETags).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use s3_stream::{Client, Credentials};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The binary with no `AWS_*` variable of the developer's, `HOME` and the state folder in `home`.
fn s3copy(home: &Path, endpoint: &str, key: &str, secret: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3copy"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(["--endpoint", endpoint]);
    cmd
}

/// An S3 endpoint that answers the multipart protocol and counts the body bytes it receives,
/// keeping none of them (what a memory test needs: the store must not be the bottleneck).
struct Sink {
    endpoint: String,
    received: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

fn sink() -> Sink {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let sizes: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let counter = received.clone();
    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let (counter, sizes) = (counter.clone(), sizes.clone());
        async move { Ok::<_, Infallible>(sink_answer(req, &counter, &sizes).await) }
    });
    let addr = rt.block_on(test_support::http::serve_service(None, svc));
    Sink {
        endpoint: format!("http://{addr}"),
        received,
        _rt: rt,
    }
}

async fn sink_answer(
    req: Request<hyper::body::Incoming>,
    counter: &AtomicU64,
    sizes: &Mutex<HashMap<String, u64>>,
) -> Response<Full<Bytes>> {
    let q = req.uri().query().unwrap_or("").to_owned();
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let xml = |s: String| Response::new(Full::new(Bytes::from(s)));
    match method.as_str() {
        "POST" if q.contains("uploads") => xml(
            "<InitiateMultipartUploadResult><UploadId>sink</UploadId></InitiateMultipartUploadResult>"
                .into(),
        ),
        "PUT" => {
            let mut body = req.into_body();
            let mut n = 0u64;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { break };
                if let Some(d) = frame.data_ref() {
                    n += d.len() as u64;
                }
            }
            counter.fetch_add(n, Ordering::SeqCst);
            *sizes.lock().unwrap().entry(path).or_default() += n;
            Response::builder()
                .header("etag", "\"part\"")
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        "POST" => xml(
            "<CompleteMultipartUploadResult><ETag>\"sink\"</ETag></CompleteMultipartUploadResult>"
                .into(),
        ),
        "HEAD" => {
            let size = sizes.lock().unwrap().get(&path).copied().unwrap_or(0);
            Response::builder()
                .header("content-length", size)
                .header("etag", "\"sink\"")
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        _ => Response::builder()
            .status(204)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    }
}

/// Waits for `child`, sampling its peak resident set (VmHWM) until it exits; returns the
/// largest value seen, in bytes, and the exit status.
fn peak_rss(mut child: Child) -> (u64, std::process::ExitStatus) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if let Some(st) = child.try_wait().unwrap() {
            return (peak, st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Serves `len` zero bytes at any path (Content-Length set), one thread per connection.
fn serve_zeros(len: u64) -> String {
    let addr = test_support::http::serve_raw(move |_, mut sock| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nETag: \"zeros\"\r\nConnection: close\r\n\r\n"
        );
        if sock.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![0u8; MIB as usize];
        let mut left = len;
        while left > 0 {
            let n = left.min(MIB);
            if sock.write_all(&chunk[..n as usize]).is_err() {
                return;
            }
            left -= n;
        }
    });
    format!("http://{addr}/disk.raw")
}

/// The bound the README documents: `(concurrency + 1) × part size + 64 MiB`.
const BOUND: u64 = (4 + 1) * 16 * MIB + 64 * MIB;

fn copy_args(src: &str, dest: &str) -> Vec<String> {
    [
        src,
        dest,
        "--part-size",
        "16M",
        "--concurrency",
        "4",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn memory_is_bounded_for_a_file_stdin_and_http_of_2_gib() {
    let s = sink();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("disk.raw");
    std::fs::File::create(&file)
        .unwrap()
        .set_len(2 * GIB)
        .unwrap();
    let url = serve_zeros(2 * GIB);
    let cases: [(&str, &str); 3] = [
        ("file", file.to_str().unwrap()),
        ("stdin", "-"),
        ("http", &url),
    ];
    for (what, src) in cases {
        let before = s.received.load(Ordering::SeqCst);
        let mut cmd = s3copy(home.path(), &s.endpoint, "k", "s");
        cmd.args(copy_args(src, &format!("s3://bucket/{what}.raw")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if what == "stdin" {
            cmd.args(["--expected-size", &(2 * GIB).to_string()])
                .stdin(Stdio::piped());
        } else {
            cmd.stdin(Stdio::null());
        }
        let mut child = cmd.spawn().unwrap();
        let writer = child.stdin.take().map(|mut stdin| {
            std::thread::spawn(move || {
                let zeros = vec![0u8; MIB as usize];
                for _ in 0..2 * 1024 {
                    if stdin.write_all(&zeros).is_err() {
                        return;
                    }
                }
            })
        });
        let mut stderr = child.stderr.take().unwrap();
        let (peak, status) = peak_rss(child);
        if let Some(w) = writer {
            w.join().unwrap();
        }
        let mut err = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        assert!(status.success(), "{what}: {status}: {err}");
        assert_eq!(
            s.received.load(Ordering::SeqCst) - before,
            2 * GIB,
            "{what}"
        );
        eprintln!(
            "{what}: peak RSS {} MiB (bound {} MiB)",
            peak / MIB,
            BOUND / MIB
        );
        assert!(
            peak <= BOUND,
            "{what}: peak RSS {} MiB above the bound of {} MiB",
            peak / MIB,
            BOUND / MIB
        );
    }
}

// ---------------------------------------------------------------------------------------------
// kill -9, then --resume

/// A 2 GiB file whose 1 MiB blocks all differ (so every part has its own MD5).
fn generated_file(path: &Path, len: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; MIB as usize];
    for i in 0..len / MIB {
        block[..8].copy_from_slice(&i.to_le_bytes());
        block[MIB as usize - 8..].copy_from_slice(&(!i).to_le_bytes());
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

/// The md5-of-md5s ETag of `path` cut into `part` byte parts.
fn multipart_etag(path: &Path, part: u64) -> String {
    use md5::Digest as _;
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; part as usize];
    let (mut md5s, mut n) = (Vec::new(), 0);
    loop {
        let mut got = 0;
        while got < buf.len() {
            match f.read(&mut buf[got..]).unwrap() {
                0 => break,
                k => got += k,
            }
        }
        if got == 0 {
            break;
        }
        md5s.extend_from_slice(&md5::Md5::digest(&buf[..got]));
        n += 1;
    }
    format!("{}-{n}", hex::encode(md5::Md5::digest(&md5s)))
}

#[test]
fn kill_9_then_resume_sends_less_than_half_again_on_moto() {
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
    let bucket = format!(
        "resume-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    rt.block_on(client.create_bucket(&bucket)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("disk.img");
    generated_file(&file, 2 * GIB);
    let dest = format!("s3://{bucket}/disk.img");
    let args = copy_args(file.to_str().unwrap(), &dest);

    // a --resume with nothing to resume is an ordinary copy (here: the first run)
    let mut child = s3copy(home.path(), &endpoint, "testing", "testing")
        .args(&args)
        .arg("--resume")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = home.path().join("state/ovakit/uploads");
    let total_parts = (2 * GIB / (16 * MIB)) as usize;
    let started = Instant::now();
    let upload_id = loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "s3copy ended before it was killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(600),
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
            .block_on(client.list_parts(&bucket, "disk.img", id))
            .map(|p| p.len())
            .unwrap_or(0);
        if stored > total_parts * 6 / 10 {
            break id.to_owned();
        }
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        rt.block_on(client.head_object(&bucket, "disk.img"))
            .is_err(),
        "no object before the resume"
    );

    let out = s3copy(home.path(), &endpoint, "testing", "testing")
        .args(&args)
        .arg("--resume")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["upload_id"].as_str(), Some(upload_id.as_str()), "{j}");
    let (reused, uploaded) = (
        j["parts_reused"].as_u64().unwrap(),
        j["parts_uploaded"].as_u64().unwrap(),
    );
    assert_eq!(reused + uploaded, total_parts as u64, "{j}");
    assert!(
        uploaded * 16 * MIB < GIB,
        "{uploaded} parts of 16 MiB sent again: not less than half of 2 GiB"
    );
    let head = rt
        .block_on(client.head_object(&bucket, "disk.img"))
        .unwrap();
    assert_eq!(head.size, 2 * GIB);
    assert_eq!(
        head.etag.unwrap().trim_matches('"'),
        multipart_etag(&file, 16 * MIB),
        "the object is the file's bytes"
    );
    assert!(
        std::fs::read_dir(&state).unwrap().next().is_none(),
        "the record is removed"
    );
    let left = rt
        .block_on(client.list_multipart_uploads(&bucket, None))
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn resume_without_a_record_is_an_ordinary_copy() {
    let s = sink();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("f.bin");
    generated_file(&file, 20 * MIB);
    let args = [
        file.to_str().unwrap(),
        "s3://b/f.bin",
        "--part-size",
        "5M",
        "--resume",
        "--json",
    ];
    let out = s3copy(home.path(), &s.endpoint, "k", "s")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (j["parts_reused"].as_u64(), j["parts_uploaded"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(s.received.load(Ordering::SeqCst), 20 * MIB);
    let state = home.path().join("state/ovakit/uploads");
    assert!(
        std::fs::read_dir(&state).unwrap().next().is_none(),
        "no record after success"
    );
}
