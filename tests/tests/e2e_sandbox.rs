//! The sandbox: a denied host, a deadline and a misbehaving guest are errors for that call,
//! and the host keeps serving.

use connector_runtime::error::{CallError, ErrorKind};
use connector_runtime::policy::EgressPolicy;
use e2e_tests::Harness;
use std::time::Duration;

#[tokio::test]
async fn a_host_that_is_not_allowed_is_denied_and_the_error_says_how_to_allow_it() {
    let h = Harness::new().await;
    let fenced = h.client_with(|s| s.egress = EgressPolicy::default());
    let e = fenced.list_flavors().await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Transport), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("allowed_hosts"), "{msg}");
    assert_eq!(
        msg.matches("allowed_hosts").count(),
        1,
        "advice once: {msg}"
    );
    assert!(
        msg.contains(&h.sim.addr().port().to_string()),
        "names the destination: {msg}"
    );
    assert_eq!(h.sim.request_count(), 0, "nothing reached the cloud");
    // The host (and other connectors) keep working.
    h.client.list_flavors().await.unwrap();
}

#[tokio::test]
async fn a_call_past_its_wall_clock_deadline_is_a_timeout_and_the_host_keeps_serving() {
    let h = Harness::new().await;
    h.sim.faults().set(okeanos_sim::FaultConfig::only(
        "GET /compute/v2.0/flavors",
        okeanos_sim::FaultRule::latency(5_000),
    ));
    let impatient = h.client_with(|s| s.limits.wall_time = Duration::from_millis(500));
    let started = std::time::Instant::now();
    let e = impatient.list_flavors().await.unwrap_err();
    assert!(matches!(e, CallError::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the deadline fired before the 5 s reply"
    );
    impatient.list_images().await.expect("the next call works");
}

/// `/metrics` splits a call's time: how long it waited for the cloud, and so how much of it
/// is the sandbox's and the connector's own.
#[tokio::test]
async fn metrics_tell_how_long_a_call_waited_for_the_cloud() {
    let h = Harness::new().await;
    h.client.list_flavors().await.unwrap(); // authenticates; the catalog is cached from now on
    h.sim.faults().set(okeanos_sim::FaultConfig::only(
        "GET /compute/v2.0/flavors",
        okeanos_sim::FaultRule::latency(400),
    ));
    h.client.list_flavors().await.unwrap();
    h.client.info().await.unwrap();

    let text = h.client.connector().metrics().render();
    let sample = |name: &str, op: &str| -> f64 {
        let series = format!("connector_{name}{{connector=\"okeanos\",op=\"{op}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    let waited = sample("call_cloud_wait_seconds_sum", "list_flavors");
    let took = sample("call_duration_seconds_sum", "list_flavors");
    assert_eq!(sample("call_cloud_wait_seconds_count", "list_flavors"), 2.0);
    assert!(
        waited >= 0.4,
        "the 400 ms answer was waited for: {waited} s"
    );
    assert!(
        waited < took,
        "waiting is part of the calls: {waited} s of {took} s"
    );
    // `info` touches no network.
    assert_eq!(sample("call_cloud_wait_seconds_count", "info"), 1.0);
    assert_eq!(sample("call_cloud_wait_seconds_sum", "info"), 0.0);
}
