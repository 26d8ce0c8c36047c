//! Pagination (sans-IO): which page to ask for next, and when to stop.
//!
//! Pages start at 1; `pagesize` is at most 500 (the server's `default.page.size`). The walk stops at
//! an empty page (`{}`), once `count` items were seen, or — when the server sends no `count` — at a
//! short page.

use serde_json::Value;

use crate::response::list_page;
use crate::{Error, Params, Result};

/// Largest page size servers accept by default.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The pagination state for one `list*` command.
///
/// # Examples
/// ```
/// use cloudstack_client::{paginate::Pager, Params};
/// use serde_json::json;
/// let mut pager = Pager::new("listZones", Params::new(), 2).unwrap();
/// let p1 = pager.next_request().unwrap();
/// assert_eq!((p1.get("page"), p1.get("pagesize")), (Some("1"), Some("2")));
/// assert_eq!(pager.feed(&json!({"count": 3, "zone": [1, 2]})).len(), 2);
/// assert_eq!(pager.next_request().unwrap().get("page"), Some("2"));
/// assert_eq!(pager.feed(&json!({"count": 3, "zone": [3]})).len(), 1);
/// assert!(pager.next_request().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Pager {
    base: Params,
    page: u32,
    page_size: u32,
    seen: u64,
    done: bool,
}

impl Pager {
    /// A pager for `command` with `params`; a `pagesize` in `params` is used (capped at 500) unless
    /// `page_size` is given explicitly (non-zero).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when `params` already has `page` or an invalid `pagesize`.
    pub fn new(command: &str, mut params: Params, page_size: u32) -> Result<Self> {
        if params.get("page").is_some() {
            return Err(Error::InvalidRequest {
                command: command.into(),
                reason: "list_all sets \"page\" itself".into(),
            });
        }
        let from_params = match params.remove("pagesize") {
            Some(s) => Some(s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::InvalidRequest {
                    command: command.into(),
                    reason: format!("invalid pagesize {s:?}"),
                }
            })?),
            None => None,
        };
        let size = if page_size > 0 {
            page_size
        } else {
            from_params.unwrap_or(MAX_PAGE_SIZE)
        };
        Ok(Self {
            base: params,
            page: 1,
            page_size: size.min(MAX_PAGE_SIZE),
            seen: 0,
            done: false,
        })
    }

    /// The parameters of the next page, or `None` when the walk is over.
    pub fn next_request(&self) -> Option<Params> {
        if self.done {
            return None;
        }
        Some(
            self.base
                .clone()
                .set("page", self.page)
                .set("pagesize", self.page_size),
        )
    }

    /// Feeds the unwrapped answer for the page last requested; returns its items.
    pub fn feed(&mut self, answer: &Value) -> Vec<Value> {
        let page = list_page(answer);
        let n = page.items.len() as u64;
        self.seen += n;
        self.page += 1;
        self.done = n == 0
            || match page.count {
                Some(c) => self.seen >= c,
                None => n < u64::from(self.page_size),
            };
        page.items
    }

    /// Items seen so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stops_on_empty_page() {
        let mut p = Pager::new("x", Params::new(), 0).unwrap();
        assert_eq!(p.next_request().unwrap().get("pagesize"), Some("500"));
        assert!(p.feed(&json!({})).is_empty());
        assert!(p.next_request().is_none());
    }

    #[test]
    fn no_count_short_page() {
        let mut p = Pager::new("x", Params::new().set("pagesize", "2"), 0).unwrap();
        p.feed(&json!({"a": [1, 2]}));
        assert!(p.next_request().is_some());
        p.feed(&json!({"a": [3]}));
        assert!(p.next_request().is_none());
        assert_eq!(p.seen(), 3);
    }

    #[test]
    fn caps_and_rejects() {
        let p = Pager::new("x", Params::new().set("pagesize", "9000"), 0).unwrap();
        assert_eq!(p.next_request().unwrap().get("pagesize"), Some("500"));
        assert!(Pager::new("x", Params::new().set("page", "1"), 0).is_err());
        assert!(Pager::new("x", Params::new().set("pagesize", "-1"), 0).is_err());
        let p = Pager::new("x", Params::new().set("keyword", "k"), 10).unwrap();
        assert_eq!(p.next_request().unwrap().get("keyword"), Some("k"));
    }

    #[test]
    fn count_exact_multiple() {
        let mut p = Pager::new("x", Params::new(), 2).unwrap();
        p.feed(&json!({"count": 4, "a": [1, 2]}));
        p.feed(&json!({"count": 4, "a": [3, 4]}));
        assert!(p.next_request().is_none());
    }
}
