//! Seeded fault injection: 503s, latency, dropped connections, replies lost after the
//! request took effect, and malformed bodies — globally or per endpoint.
//!
//! This module decides; the middleware that applies the decision is
//! `routes::layers::inject_faults`. Dropping a connection needs the cooperation of the
//! accept loop: it puts a [`ConnKill`] into every request's extensions, and closing the
//! socket is done by the loop when the middleware fires it. Without one (in-process
//! `oneshot` tests) those two kinds degrade to a 503.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{FaultConfig, FaultRule};

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
        *self.config.lock() = config;
    }

    /// Re-seeds the generator.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock() = StdRng::seed_from_u64(seed);
    }

    /// The current configuration.
    pub fn get(&self) -> FaultConfig {
        self.config.lock().clone()
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
        let rule = Self::rule_for(&self.config.lock(), key);
        if rule.is_noop() {
            return (Duration::ZERO, FaultKind::None);
        }
        let mut rng = self.rng.lock();
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

impl FaultInjector {
    /// The `Retry-After` of the 503s injected into requests with this key (0: none).
    pub fn retry_after_s(&self, key: &str) -> u64 {
        Self::rule_for(&self.config.lock(), key).retry_after_s
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
