//! Helpers shared by the integration tests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// One ustar header block for a regular file.
fn tar_header(name: &str, size: usize) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A small but valid OVA: a ustar archive with `vm.ovf` first, then a fake disk.
pub fn make_ova() -> Vec<u8> {
    let ovf = br#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="disk1.vmdk" ovf:id="file1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"/></References><VirtualSystem ovf:id="vm" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><Info>test vm</Info></VirtualSystem></Envelope>
"#;
    let disk: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut out = Vec::new();
    for (name, data) in [("vm.ovf", &ovf[..]), ("disk1.vmdk", &disk[..])] {
        out.extend_from_slice(&tar_header(name, data.len()));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Serves `body` to every GET on a loopback port (HTTP/1.1, `Connection: close`) from a thread;
/// returns the base URL. The thread ends with the test process.
pub fn serve_bytes(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            });
        }
    });
    format!("http://{addr}")
}

/// The Python interpreter with `modules` importable, or `None` (skip) — panics under `CI`.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let py = std::env::var("OVAKIT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = format!("import {}", modules.join(", "));
    let ok = std::process::Command::new(&py)
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(py);
    }
    let msg = format!(
        "{py} cannot import {modules:?} (set OVAKIT_PYTHON to a venv with cs and apache-libcloud)"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("skipping: {msg}");
    None
}
