//! Request counters, keyed by normalized endpoint (`"GET /compute/v2.0/servers/{id}"`).
//! A leaf module: the HTTP layers count with it and fault rules are keyed like it.
//! Listings that carried `changes-since` are also counted apart, with their 304s, so that
//! a test can tell how a client polls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Request counters (total and per normalized endpoint).
#[derive(Debug, Default)]
pub struct Metrics {
    total: AtomicU64,
    per_key: Mutex<BTreeMap<String, u64>>,
    changes_since: Mutex<BTreeMap<String, ChangesSince>>,
}

/// The requests of one endpoint that carried `changes-since`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ChangesSince {
    /// Requests that carried `changes-since`.
    pub requests: u64,
    /// Answered 304: nothing had changed.
    pub not_modified: u64,
}

impl Metrics {
    /// Total requests served.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Per `"METHOD /normalized/path"`.
    pub fn per_key(&self) -> BTreeMap<String, u64> {
        self.per_key.lock().clone()
    }

    /// Counts one request of `key` (see [`normalize`]).
    pub fn record(&self, key: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut m = self.per_key.lock();
        match m.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                m.insert(key.to_string(), 1);
            }
        }
    }

    /// Counts one answer of `key` to a request that carried `changes-since`.
    pub fn record_changes_since(&self, key: &str, not_modified: bool) {
        let mut m = self.changes_since.lock();
        let count = match m.get_mut(key) {
            Some(c) => c,
            None => m.entry(key.to_string()).or_default(),
        };
        count.requests += 1;
        count.not_modified += u64::from(not_modified);
    }

    /// Per `"METHOD /normalized/path"`, the requests that carried `changes-since`.
    pub fn changes_since(&self) -> BTreeMap<String, ChangesSince> {
        self.changes_since.lock().clone()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.per_key.lock().clear();
        self.changes_since.lock().clear();
    }
}

/// `"METHOD /path"` with numeric and uuid segments replaced by `{id}`.
pub fn normalize(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 8);
    out.push_str(method);
    out.push(' ');
    let trimmed = path.trim_end_matches('/');
    for seg in trimmed.split('/').skip(1) {
        out.push('/');
        let is_id = (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
            || (seg.len() == 36 && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        if is_id {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    if trimmed.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_ids() {
        assert_eq!(
            normalize("GET", "/compute/v2.0/servers/100001/action"),
            "GET /compute/v2.0/servers/{id}/action"
        );
        assert_eq!(
            normalize(
                "GET",
                "/image/v1.0/images/fe31fced-a3cf-49c6-b43b-f58f5235ba45"
            ),
            "GET /image/v1.0/images/{id}"
        );
        assert_eq!(
            normalize("GET", "/image/v1.0/images/"),
            "GET /image/v1.0/images/"
        );
        assert_eq!(normalize("GET", "/"), "GET /");
    }

    #[test]
    fn listings_with_changes_since_are_counted_with_their_304s() {
        let m = Metrics::default();
        let key = "GET /compute/v2.0/servers/detail";
        m.record_changes_since(key, false);
        m.record_changes_since(key, true);
        m.record_changes_since(key, true);
        let want = ChangesSince {
            requests: 3,
            not_modified: 2,
        };
        assert_eq!(m.changes_since()[key], want);
        m.reset();
        assert!(m.changes_since().is_empty());
    }
}
