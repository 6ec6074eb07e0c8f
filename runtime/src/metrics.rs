//! Prometheus metrics of connector calls: calls, errors by kind, latency and the part of it
//! spent waiting for the cloud, calls in flight, swaps and traps. Shared by every connector of
//! a [`crate::engine::Runtime`].

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub connector: String,
    pub op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub connector: String,
    pub op: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectorLabels {
    pub connector: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub calls: Family<CallLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub latency: Family<CallLabels, Histogram>,
    /// The part of `latency` spent waiting for the cloud's answers.
    pub cloud_wait: Family<CallLabels, Histogram>,
    pub in_flight: Family<ConnectorLabels, Gauge>,
    pub traps: Family<ConnectorLabels, Counter>,
    pub swaps: Family<ConnectorLabels, Counter>,
    pub swaps_rejected: Family<ConnectorLabels, Counter>,
    pub retries: Family<CallLabels, Counter>,
    /// Calls holding an instance now (all connectors).
    pub running: Gauge,
    /// Calls waiting for an instance now (all connectors).
    pub queued: Gauge,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("connector");
        let calls = Family::<CallLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency = Family::<CallLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let cloud_wait = Family::<CallLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let in_flight = Family::<ConnectorLabels, Gauge>::default();
        let traps = Family::<ConnectorLabels, Counter>::default();
        let swaps = Family::<ConnectorLabels, Counter>::default();
        let swaps_rejected = Family::<ConnectorLabels, Counter>::default();
        let retries = Family::<CallLabels, Counter>::default();
        registry.register(
            "call_retries",
            "Connector calls repeated after a transient error",
            retries.clone(),
        );
        registry.register("calls", "Calls into connectors", calls.clone());
        let running = Gauge::default();
        let queued = Gauge::default();
        registry.register(
            "calls_running",
            "Connector calls holding an instance now, waits on the cloud included",
            running.clone(),
        );
        registry.register(
            "calls_queued",
            "Connector calls waiting for a free instance (bounded by [engine] max_queued)",
            queued.clone(),
        );
        registry.register(
            "call_errors",
            "Failed connector calls by error kind",
            errors.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Connector call latency",
            latency.clone(),
        );
        registry.register(
            "call_cloud_wait_seconds",
            "Time a connector call waited for the cloud: from sending each request to its answer's head. The rest of the call's duration is the sandbox's and the connector's own",
            cloud_wait.clone(),
        );
        registry.register(
            "calls_in_flight",
            "Connector calls running now",
            in_flight.clone(),
        );
        registry.register(
            "traps",
            "Calls stopped by the sandbox (trap, panic, CPU, memory, timeout)",
            traps.clone(),
        );
        registry.register(
            "swaps",
            "Published connector versions (swaps and rollbacks)",
            swaps.clone(),
        );
        registry.register(
            "swaps_rejected",
            "Component swaps rejected by validation",
            swaps_rejected.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            calls,
            errors,
            latency,
            cloud_wait,
            in_flight,
            traps,
            swaps,
            swaps_rejected,
            retries,
            running,
            queued,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock();
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String");
        out
    }
}
