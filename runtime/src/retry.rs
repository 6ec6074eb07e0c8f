//! The one retry policy of the host: which connector calls are repeated, and how long to wait
//! between attempts (exponential back-off with full jitter, bounded by an attempt budget and a
//! time budget). The typed [`crate::client::Client`] applies it to every call that is safe to
//! repeat; waits ([`crate::orchestrate::wait::poll_until`]) go on polling past it until their
//! own deadline.
//!
//! Transient: the cloud was unavailable (503, other 5xx), the transport failed (reset, closed,
//! timeout), the reply was unreadable (a truncated body), or the call hit its wall-clock limit.
//! Never retried: unauthorized, forbidden, not-found, conflict, invalid, quota-exceeded,
//! unsupported, and sandbox failures (trap, CPU, memory).

use crate::error::{CallError, ErrorKind};
use rand::Rng;
use std::time::Duration;

/// How a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads: repeated on any transient error.
    Read,
    /// Deletes: repeated, and "not found" on a repeat means the earlier attempt did it.
    Delete,
    /// Power actions: repeated; a refusal on a repeat is checked against the VM's state by the
    /// caller (the earlier attempt may have been carried out).
    Action,
    /// Creates and other calls whose repeat could do the work twice: never repeated here.
    Never,
}

/// Back-off between attempts and the budgets of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The cap of the first delay; each attempt doubles it, up to `max_delay`.
    pub base: Duration,
    pub max_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// No new attempt starts later than this after the first one.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_attempts: 8,
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (after `attempt` failures): full jitter, i.e. a
    /// uniform draw from zero to the capped exponential, so many clients retrying at once
    /// spread out instead of hitting the cloud together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Errors worth another attempt: the cloud or the network hiccuped.
///
/// A call that ran into the sandbox's wall-clock limit is not among them: it already used all
/// its time, so repeating it at once could take that long again, and again. A wait polls it
/// again at its next interval ([`worth_polling_again`]).
pub fn is_transient(e: &CallError) -> bool {
    match e {
        CallError::Cloud(c) => matches!(
            c.kind,
            ErrorKind::Unavailable | ErrorKind::Transport | ErrorKind::Protocol
        ),
        // The host was full: the call never started, so it is always safe to repeat.
        CallError::Busy { .. } => true,
        _ => false,
    }
}

/// Errors after which a wait simply looks again at its next interval, and after which a
/// create's outcome is unknown.
pub fn worth_polling_again(e: &CallError) -> bool {
    is_transient(e) || matches!(e, CallError::Timeout { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_below_a_doubling_cap() {
        let p = RetryPolicy::default();
        for attempt in 0..12 {
            let cap = (p.base * 2u32.pow(attempt)).min(p.max_delay);
            for _ in 0..50 {
                assert!(p.delay(attempt) <= cap);
            }
        }
        // Full jitter: not always the cap.
        let draws: std::collections::BTreeSet<_> = (0..50).map(|_| p.delay(6)).collect();
        assert!(draws.len() > 10, "{draws:?}");
    }

    #[test]
    fn only_transient_errors_are_repeated() {
        use crate::error::CloudError;
        let cloud = |kind| {
            CallError::Cloud(CloudError {
                kind,
                message: String::new(),
                retry_after: None,
            })
        };
        for kind in [
            ErrorKind::Unavailable,
            ErrorKind::Transport,
            ErrorKind::Protocol,
        ] {
            assert!(is_transient(&cloud(kind)), "{kind:?}");
        }
        for kind in [
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::QuotaExceeded,
            ErrorKind::Invalid,
            ErrorKind::Unsupported,
        ] {
            assert!(!is_transient(&cloud(kind)), "{kind:?}");
        }
    }
}
