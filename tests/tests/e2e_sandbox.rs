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
    h.sim.faults().set(okeanos_sim::FaultConfig {
        per_endpoint: [(
            "GET /compute/v2.0/flavors".to_string(),
            okeanos_sim::FaultRule {
                latency_ms: 5_000,
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    });
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
