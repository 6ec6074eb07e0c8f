//! Seeded fault injection: 503s, latency, dropped connections, replies lost after the
//! request took effect, and malformed bodies — globally or per endpoint.
//!
//! Dropping a connection needs the cooperation of the accept loop: it puts a
//! [`ConnKill`] into every request's extensions, and closing the socket is done by the
//! loop when the handler fires it. Without one (in-process `oneshot` tests) those two
//! kinds degrade to a 503.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{FaultConfig, FaultRule};
use crate::error::ApiError;
use crate::routes::{AppState, normalize};

/// Closes the current connection without a response when fired.
#[derive(Clone, Debug, Default)]
pub struct ConnKill(pub Arc<tokio::sync::Notify>);

impl ConnKill {
    /// Asks the accept loop to drop the connection.
    pub fn fire(&self) {
        self.0.notify_one();
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Nothing.
    None,
    /// 503 serviceUnavailable, state untouched.
    Unavailable,
    /// Connection closed, state untouched.
    Drop,
    /// Request handled, then the connection closed before the reply.
    LostReply,
    /// Reply with a truncated body.
    Malformed,
}

/// Holds the fault configuration and the seeded generator.
#[derive(Debug)]
pub struct FaultInjector {
    config: Mutex<FaultConfig>,
    rng: Mutex<StdRng>,
    injected: std::sync::atomic::AtomicU64,
}

impl FaultInjector {
    /// An injector with `config`, drawing from a generator seeded with `seed`.
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        FaultInjector {
            config: Mutex::new(config),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            injected: Default::default(),
        }
    }

    /// Replaces the configuration (the generator keeps its sequence).
    pub fn set(&self, config: FaultConfig) {
        if let Ok(mut c) = self.config.lock() {
            *c = config;
        }
    }

    /// Re-seeds the generator.
    pub fn reseed(&self, seed: u64) {
        if let Ok(mut r) = self.rng.lock() {
            *r = StdRng::seed_from_u64(seed);
        }
    }

    /// The current configuration.
    pub fn get(&self) -> FaultConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn rule_for(config: &FaultConfig, key: &str) -> FaultRule {
        config
            .per_endpoint
            .iter()
            .filter(|(k, _)| key.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| config.global.clone())
    }

    /// Decides the fate of one request.
    pub fn decide(&self, key: &str) -> (Duration, FaultKind) {
        let rule = match self.config.lock() {
            Ok(c) => Self::rule_for(&c, key),
            Err(_) => return (Duration::ZERO, FaultKind::None),
        };
        if rule.is_noop() {
            return (Duration::ZERO, FaultKind::None);
        }
        let Ok(mut rng) = self.rng.lock() else {
            return (Duration::ZERO, FaultKind::None);
        };
        let jitter = if rule.jitter_ms > 0 {
            rng.random_range(0..=rule.jitter_ms)
        } else {
            0
        };
        let delay = Duration::from_millis(rule.latency_ms + jitter);
        let roll: f64 = rng.random();
        let mut acc = 0.0;
        let mut kind = FaultKind::None;
        for (p, k) in [
            (rule.error_rate, FaultKind::Unavailable),
            (rule.drop_rate, FaultKind::Drop),
            (rule.lost_reply_rate, FaultKind::LostReply),
            (rule.malformed_rate, FaultKind::Malformed),
        ] {
            acc += p.max(0.0);
            if roll < acc {
                kind = k;
                break;
            }
        }
        if kind != FaultKind::None {
            self.injected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        (delay, kind)
    }
}

fn unavailable() -> Response {
    ApiError::ServiceUnavailable("Service Unavailable (injected fault)".into()).into_response()
}

/// Middleware applying the injector to Synnefo routes (never to `/_sim`).
pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = normalize(req.method().as_str(), req.uri().path());
    let (delay, kind) = state.faults.decide(&key);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    match kind {
        FaultKind::None => next.run(req).await,
        FaultKind::Unavailable => unavailable(),
        FaultKind::Drop => match kill {
            Some(k) => {
                k.fire();
                std::future::pending().await
            }
            None => unavailable(),
        },
        FaultKind::LostReply => {
            let resp = next.run(req).await;
            drop(resp);
            match kill {
                Some(k) => {
                    k.fire();
                    std::future::pending().await
                }
                None => unavailable(),
            }
        }
        FaultKind::Malformed => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let cut = if bytes.len() > 1 {
                bytes.slice(..bytes.len() / 2)
            } else {
                axum::body::Bytes::from_static(b"{\"")
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json; charset=UTF-8"),
            );
            Response::from_parts(parts, Body::from(cut))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let cfg = FaultConfig {
            global: FaultRule {
                error_rate: 0.5,
                ..Default::default()
            },
            ..Default::default()
        };
        let a = FaultInjector::new(cfg.clone(), 7);
        let b = FaultInjector::new(cfg, 7);
        let da: Vec<_> = (0..50).map(|_| a.decide("GET /x").1).collect();
        let db: Vec<_> = (0..50).map(|_| b.decide("GET /x").1).collect();
        assert_eq!(da, db);
        assert!(da.contains(&FaultKind::Unavailable) && da.contains(&FaultKind::None));
    }

    #[test]
    fn per_endpoint_rule_overrides_global() {
        let mut cfg = FaultConfig::default();
        cfg.per_endpoint.insert(
            "POST /compute/v2.0/servers".into(),
            FaultRule {
                error_rate: 1.0,
                ..Default::default()
            },
        );
        let f = FaultInjector::new(cfg, 1);
        assert_eq!(
            f.decide("POST /compute/v2.0/servers").1,
            FaultKind::Unavailable
        );
        assert_eq!(f.decide("GET /compute/v2.0/servers").1, FaultKind::None);
    }
}
