//! Request counters, keyed by normalized endpoint (`"GET /compute/v2.0/servers/{id}"`).
//! A leaf module: the HTTP layers count with it and fault rules are keyed like it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Request counters (total and per normalized endpoint).
#[derive(Debug, Default)]
pub struct Metrics {
    total: AtomicU64,
    per_key: Mutex<BTreeMap<String, u64>>,
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

    /// Forgets every count.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.per_key.lock().clear();
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
}
