//! Retry policy (sans-IO): which commands may be retried, which answers are transient, backoff.
//!
//! Only read-only commands (`list*`, `query*`, `get*`) are retried, on transport errors, HTTP 429
//! (waiting what "retry after N ms" asks for) and 5xx other than CloudStack's 531–537 business
//! errors. Commands that change state are never retried blindly: a lost answer to
//! `deployVirtualMachine` may still have deployed a VM.
//!
//! [`ReadRetry`] is the decision as a sans-IO state machine: the shell sends, and after each
//! failure asks [`ReadRetry::after_error`] whether to sleep and send again.

use std::time::{Duration, Instant};

use crate::Error;

/// How many times and how patiently to retry read-only calls.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt (default 3; 0 disables retries).
    pub max_retries: u32,
    /// Delay schedule.
    pub backoff: BackoffConfig,
    /// No retry starts after this much time since the first attempt (default 60 s).
    pub retry_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: BackoffConfig::default(),
            retry_timeout: Duration::from_secs(60),
        }
    }
}

/// Exponential backoff with full jitter between `init` and the growing bound.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// First delay (default 200 ms).
    pub init: Duration,
    /// Cap (default 10 s).
    pub max: Duration,
    /// Growth factor (default 2).
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            init: Duration::from_millis(200),
            max: Duration::from_secs(10),
            base: 2.0,
        }
    }
}

/// A deterministic xorshift generator for jitter (injectable seed, no global state).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A generator seeded from the clock.
    pub fn from_time() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Self::new(t ^ 0xA076_1D64_78BD_642F)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Backoff state: each [`Backoff::next_delay`] returns the next delay.
#[derive(Debug, Clone)]
pub struct Backoff {
    cfg: BackoffConfig,
    bound: f64,
    rng: Rng,
}

impl Backoff {
    /// A fresh schedule.
    pub fn new(cfg: &BackoffConfig, rng: Rng) -> Self {
        Self {
            bound: cfg.init.as_secs_f64(),
            cfg: cfg.clone(),
            rng,
        }
    }

    /// The next delay: uniform in `[init, bound]`, with `bound` growing by `base` up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let init = self.cfg.init.as_secs_f64();
        let d = init + (self.bound - init).max(0.0) * self.rng.next_f64();
        self.bound = (self.bound * self.cfg.base).min(self.cfg.max.as_secs_f64());
        Duration::from_secs_f64(d.min(self.cfg.max.as_secs_f64()))
    }
}

/// The retry decisions for one call.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use cloudstack_client::retry::{ReadRetry, RetryConfig, Rng};
/// use cloudstack_client::Error;
/// let t0 = Instant::now();
/// let mut r = ReadRetry::new("listZones", &RetryConfig::default(), Rng::new(1), t0);
/// let busy = Error::Throttled { command: "listZones".into(), retry_after: Some(Duration::from_secs(2)), errortext: "retry after 2 s".into() };
/// assert!(r.after_error(&busy, t0).unwrap() >= Duration::from_secs(2));
/// let mut w = ReadRetry::new("deployVirtualMachine", &RetryConfig::default(), Rng::new(1), t0);
/// assert_eq!(w.after_error(&busy, t0), None); // never blindly retried
/// ```
#[derive(Debug, Clone)]
pub struct ReadRetry {
    read_only: bool,
    max_retries: u32,
    retry_timeout: Duration,
    start: Instant,
    attempt: u32,
    backoff: Backoff,
}

impl ReadRetry {
    /// The decisions for one call of `command`, first sent at `now`.
    pub fn new(command: &str, cfg: &RetryConfig, rng: Rng, now: Instant) -> Self {
        Self {
            read_only: is_read_only(command),
            max_retries: cfg.max_retries,
            retry_timeout: cfg.retry_timeout,
            start: now,
            attempt: 0,
            backoff: Backoff::new(&cfg.backoff, rng),
        }
    }

    /// After the call failed with `error` at `now`: `Some(wait)` to sleep and send again, `None`
    /// to give up and return the error. A wait the server asked for (429 "retry after N ms") is
    /// honoured when longer than the backoff.
    pub fn after_error(&mut self, error: &Error, now: Instant) -> Option<Duration> {
        if !(self.read_only
            && error.is_retryable()
            && self.attempt < self.max_retries
            && now.saturating_duration_since(self.start) < self.retry_timeout)
        {
            return None;
        }
        self.attempt += 1;
        let mut wait = self.backoff.next_delay();
        if let Error::Throttled {
            retry_after: Some(r),
            ..
        } = error
        {
            wait = wait.max(*r);
        }
        Some(wait)
    }

    /// Retries decided so far.
    pub fn retries(&self) -> u32 {
        self.attempt
    }
}

/// `true` for commands that only read: `list*`, `query*`, `get*` (any case).
///
/// # Examples
/// ```
/// use cloudstack_client::retry::is_read_only;
/// assert!(is_read_only("listTemplates") && is_read_only("queryAsyncJobResult"));
/// assert!(!is_read_only("deployVirtualMachine"));
/// ```
pub fn is_read_only(command: &str) -> bool {
    let c = command.to_ascii_lowercase();
    c.starts_with("list") || c.starts_with("query") || c.starts_with("get")
}

/// `true` for HTTP statuses worth retrying: 429 and 5xx except CloudStack's 531–537 (account,
/// limit, capacity, resource and network-rule errors, which a retry does not fix).
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && !(531..=537).contains(&status))
}

/// Parses the wait from CloudStack's throttling text: "… please retry after 218 ms." or
/// "… retry after `[218]` ms".
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use cloudstack_client::retry::parse_retry_after;
/// let t = "The given user has reached his/her account api limit, please retry after 218 ms.";
/// assert_eq!(parse_retry_after(t), Some(Duration::from_millis(218)));
/// ```
pub fn parse_retry_after(text: &str) -> Option<Duration> {
    let lower = text.to_ascii_lowercase();
    let i = lower.find("retry after")?;
    let rest = lower[i + "retry after".len()..]
        .trim_start()
        .trim_start_matches('[');
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let ms: u64 = n.parse().ok()?;
    let after = rest[n.len()..]
        .trim_start()
        .trim_start_matches(']')
        .trim_start();
    if after.starts_with("ms") || after.starts_with("millis") {
        Some(Duration::from_millis(ms))
    } else if after.starts_with('s') {
        Some(Duration::from_secs(ms))
    } else {
        Some(Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_commands() {
        for c in [
            "listZones",
            "LISTAPIS",
            "queryAsyncJobResult",
            "getVMPassword",
        ] {
            assert!(is_read_only(c), "{c}");
        }
        for c in [
            "registerTemplate",
            "deleteTemplate",
            "extractTemplate",
            "stopVirtualMachine",
            "login",
        ] {
            assert!(!is_read_only(c), "{c}");
        }
    }

    #[test]
    fn statuses() {
        assert!(
            is_retryable_status(429)
                && is_retryable_status(500)
                && is_retryable_status(503)
                && is_retryable_status(530)
        );
        assert!(
            !is_retryable_status(431)
                && !is_retryable_status(533)
                && !is_retryable_status(401)
                && !is_retryable_status(200)
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after("please retry after [1500] ms"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Retry after 2 s"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("retry after 7"),
            Some(Duration::from_millis(7))
        );
        assert_eq!(parse_retry_after("retry later"), None);
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn read_retry_decisions() {
        let t0 = Instant::now();
        let cfg = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        let transient = Error::Api {
            command: "listZones".into(),
            http_status: 503,
            errorcode: 503,
            cserrorcode: None,
            errortext: "unavailable".into(),
        };
        let business = Error::Api {
            command: "listZones".into(),
            http_status: 431,
            errorcode: 431,
            cserrorcode: None,
            errortext: "bad parameter".into(),
        };
        let mut r = ReadRetry::new("listZones", &cfg, Rng::new(3), t0);
        assert!(r.after_error(&transient, t0).is_some());
        assert!(r.after_error(&transient, t0).is_some());
        assert_eq!(r.after_error(&transient, t0), None, "max_retries reached");
        assert_eq!(r.retries(), 2);
        let mut r = ReadRetry::new("listZones", &cfg, Rng::new(3), t0);
        assert_eq!(r.after_error(&business, t0), None);
        assert_eq!(
            r.after_error(&transient, t0 + Duration::from_secs(10)),
            None,
            "retry_timeout passed"
        );
        let throttled = Error::Throttled {
            command: "queryAsyncJobResult".into(),
            retry_after: Some(Duration::from_secs(30)),
            errortext: String::new(),
        };
        let mut r = ReadRetry::new("queryAsyncJobResult", &cfg, Rng::new(3), t0);
        assert_eq!(r.after_error(&throttled, t0), Some(Duration::from_secs(30)));
        let mut r = ReadRetry::new("registerTemplate", &cfg, Rng::new(3), t0);
        assert_eq!(
            r.after_error(&transient, t0),
            None,
            "writes are not retried"
        );
    }

    #[test]
    fn backoff_grows_within_bounds() {
        let cfg = BackoffConfig {
            init: Duration::from_millis(100),
            max: Duration::from_secs(1),
            base: 2.0,
        };
        let mut b = Backoff::new(&cfg, Rng::new(7));
        let mut bound = 0.1f64;
        for _ in 0..20 {
            let d = b.next_delay().as_secs_f64();
            assert!(d >= 0.1 - 1e-9 && d <= bound + 1e-9, "{d} > {bound}");
            bound = (bound * 2.0).min(1.0);
        }
        let mut r = Rng::new(0);
        for _ in 0..1000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
