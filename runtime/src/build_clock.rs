//! How long the cloud takes to build a VM, as far as this process knows: polls of a build are
//! timed on it ([`crate::orchestrate::wait::Poll::expecting`]).

use std::time::Duration;

/// What this process has learned of how long the cloud takes to build a VM: an exponentially
/// weighted mean of observed builds, seeded by configuration (or by the simulator's own
/// build time). Kept per connector by the [`crate::engine::Runtime`], shared by every run.
#[derive(Debug, Default)]
pub struct BuildClock {
    mean_ms: parking_lot::Mutex<Option<f64>>,
}

impl BuildClock {
    pub fn new(seed: Option<Duration>) -> Self {
        BuildClock {
            mean_ms: parking_lot::Mutex::new(seed.map(|d| d.as_secs_f64() * 1e3)),
        }
    }

    /// Takes `typical` as the build time until builds are seen (configuration, or a
    /// simulator's own build time); a clock that has seen builds keeps what it learned.
    pub fn seed(&self, typical: Duration) {
        self.mean_ms
            .lock()
            .get_or_insert(typical.as_secs_f64() * 1e3);
    }

    /// The typical build time so far, if any build was seen or configured.
    pub fn expected(&self) -> Option<Duration> {
        self.mean_ms
            .lock()
            .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1e3))
    }

    /// One VM took `took` from its create to running.
    pub fn observe(&self, took: Duration) {
        let ms = took.as_secs_f64() * 1e3;
        let mut mean = self.mean_ms.lock();
        *mean = Some(match *mean {
            None => ms,
            Some(m) => 0.7 * m + 0.3 * ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_clock_learns_from_what_it_sees() {
        let clock = BuildClock::new(None);
        assert_eq!(clock.expected(), None);
        clock.observe(Duration::from_secs(10));
        assert_eq!(clock.expected(), Some(Duration::from_secs(10)));
        for _ in 0..20 {
            clock.observe(Duration::from_secs(4));
        }
        let e = clock.expected().unwrap();
        assert!(
            e > Duration::from_millis(3990) && e < Duration::from_millis(4100),
            "{e:?}"
        );
    }
}
