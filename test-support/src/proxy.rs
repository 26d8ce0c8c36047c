//! A TCP proxy on loopback that damages one byte on the way to the server: what a part looks
//! like to a store after corruption in transit that TCP's own checksum missed.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A running [`flipping_proxy`].
#[derive(Debug)]
pub struct FlippingProxy {
    /// Where clients connect instead of the server.
    pub addr: SocketAddr,
    /// Whether the byte was flipped (it is, once in all, when a connection sends that far).
    pub flipped: Arc<AtomicBool>,
}

/// Forwards every connection on `127.0.0.1:0` to `upstream`, both ways, from threads of its
/// own, and flips the lowest bit of the byte at offset `flip_at` of the first client connection
/// that sends that many bytes (once in all; later connections pass unchanged). The proxy lives
/// as long as the test process.
pub fn flipping_proxy(upstream: SocketAddr, flip_at: u64) -> FlippingProxy {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let flipped = Arc::new(AtomicBool::new(false));
    let f = flipped.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let (Ok(client), Ok(server)) = (client, TcpStream::connect(upstream)) else {
                continue;
            };
            let f = f.clone();
            let (Ok(mut cr), Ok(mut sw)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut offset = 0u64;
                while let Ok(n) = cr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let end = offset + n as u64;
                    if (offset..end).contains(&flip_at)
                        && f.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    {
                        buf[(flip_at - offset) as usize] ^= 0x01;
                    }
                    offset = end;
                    if sw.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = sw.shutdown(Shutdown::Write);
            });
            let (mut sr, mut cw) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut sr, &mut cw);
                let _ = cw.shutdown(Shutdown::Write);
            });
        }
    });
    FlippingProxy { addr, flipped }
}

/// The socket address of a loopback endpoint URL (`http://127.0.0.1:PORT`, `http://localhost:PORT/`),
/// `localhost` taken as `127.0.0.1` (where the test servers listen).
///
/// # Panics
///
/// When `endpoint` is not `http://HOST:PORT` with an IP address or `localhost`.
pub fn loopback_addr(endpoint: &str) -> SocketAddr {
    let hostport = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let hostport = hostport.replace("localhost", "127.0.0.1");
    hostport
        .parse()
        .unwrap_or_else(|e| panic!("{endpoint}: not http://IP:PORT ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that echoes everything it receives until the client stops sending.
    fn echo() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let _ = std::io::copy(&mut r, &mut s);
                });
            }
        });
        addr
    }

    fn round_trip(proxy: SocketAddr, sent: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(proxy).unwrap();
        s.write_all(sent).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        back
    }

    #[test]
    fn endpoints_name_loopback_addresses() {
        let want: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(loopback_addr("http://127.0.0.1:9000"), want);
        assert_eq!(loopback_addr("http://localhost:9000/"), want);
    }

    #[test]
    fn one_byte_is_flipped_once_in_all() {
        let p = flipping_proxy(echo(), 100);
        // a connection that stops short of the offset passes unchanged
        let short = vec![7u8; 50];
        assert_eq!(round_trip(p.addr, &short), short);
        assert!(!p.flipped.load(Ordering::SeqCst));
        // the first that reaches it gets exactly that bit flipped
        let sent = crate::data::xorshift64(200_000, 1);
        let back = round_trip(p.addr, &sent);
        assert!(p.flipped.load(Ordering::SeqCst));
        let diff: Vec<usize> = (0..sent.len()).filter(|&i| sent[i] != back[i]).collect();
        assert_eq!(diff, [100]);
        assert_eq!(back[100], sent[100] ^ 0x01);
        // and later ones pass unchanged
        assert_eq!(round_trip(p.addr, &sent), sent);
    }
}
