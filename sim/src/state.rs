//! [`AppState`]: what every HTTP handler shares — the backend, the counters, the fault
//! injector, the public base URL and the cache of serialized server lists.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, header};
use parking_lot::Mutex;

use crate::backend::Backend;
use crate::faults::FaultInjector;
use crate::metrics::Metrics;

/// Serialized `servers/detail` bodies by (user uuid, base URL), with the state generation
/// they were made from.
pub(crate) type DetailCache = HashMap<(String, String), (u64, axum::body::Bytes)>;

/// Shared state of the HTTP layer.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Resources and rules.
    pub backend: Backend,
    /// Request counters.
    pub metrics: Arc<Metrics>,
    /// Fault injection.
    pub faults: Arc<FaultInjector>,
    /// Public base URL (set once the listener is bound); when unset, derived from `Host`.
    pub base_url: Arc<OnceLock<String>>,
    /// Serialized `servers/detail` per (user, base URL), valid for one state generation.
    pub(crate) detail_cache: Arc<Mutex<DetailCache>>,
}

impl AppState {
    /// State around a backend, no faults, base URL from the `Host` header.
    pub fn new(backend: Backend, faults: FaultInjector) -> Self {
        AppState {
            backend,
            metrics: Arc::new(Metrics::default()),
            faults: Arc::new(faults),
            base_url: Arc::new(OnceLock::new()),
            detail_cache: Arc::default(),
        }
    }

    /// The base URL as clients should see it.
    pub fn base_url_for(&self, headers: &HeaderMap) -> String {
        if let Some(u) = self.base_url.get() {
            return u.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}
