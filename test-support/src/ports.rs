//! Free loopback ports, for servers that take a port number instead of binding port 0
//! themselves (`openssl s_server`, `moto_server`), and waiting for such a server to listen.

use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago (bound to `127.0.0.1:0`, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until a connection to `127.0.0.1:port` succeeds, trying every 25 ms; whether it did
/// before `timeout`.
pub fn wait_listening(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound_and_is_then_seen_listening() {
        let port = free_port();
        assert_ne!(port, 0);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(wait_listening(port, Duration::from_secs(5)));
        drop(listener);
        // nothing listens on a port just released
        assert!(!wait_listening(port, Duration::from_millis(60)));
    }
}
