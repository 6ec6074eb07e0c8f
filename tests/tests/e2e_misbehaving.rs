//! Components that misbehave — loop forever, allocate without bound, call a forbidden host,
//! panic, return garbage — each get a clear error, while the host keeps serving others.

use connector_runtime::client::Client;
use connector_runtime::engine::ConnectorSpec;
use connector_runtime::error::CallError;
use connector_runtime::policy::{EgressPolicy, Limits};
use e2e_tests::{Harness, MISBEHAVING_COMPONENT};
use std::collections::BTreeMap;
use std::time::Duration;

fn misbehaving(h: &Harness, mode: &str) -> Client {
    let spec = ConnectorSpec {
        name: format!("misbehaving-{mode}"),
        config: BTreeMap::from([
            ("mode".to_string(), mode.to_string()),
            ("token".to_string(), "secret-token-1234".to_string()),
        ]),
        secret_keys: vec!["token".into()],
        egress: EgressPolicy::default(),
        tls: Default::default(),
        limits: Limits {
            memory_bytes: 32 << 20,
            cpu_time: Duration::from_millis(500),
            wall_time: Duration::from_secs(8),
        },
    };
    Client::new(h.runtime.load(MISBEHAVING_COMPONENT, spec).expect("loads"))
}

/// Every call runs in an instance no call ran in before, those the connector made ahead of
/// time (its ready stock) included: a static of the guest never counts past 1.
#[tokio::test]
async fn every_call_gets_an_instance_no_call_ran_in() {
    let h = Harness::new().await;
    let client = misbehaving(&h, "count");
    let connector = client.connector();
    for round in 0..6 {
        let e = client.list_flavors().await.unwrap_err();
        assert!(
            e.to_string().contains("call 1 of this instance"),
            "round {round}: {e}"
        );
        // Give the background refill time, so that later rounds take ready instances.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while connector.ready_instances() < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(connector.ready_instances(), 2, "the stock is refilled");
    }
}

/// The okeanos connector on the same runtime still answers.
async fn host_still_serves(h: &Harness) {
    let flavors = h
        .client
        .list_flavors()
        .await
        .expect("the host keeps serving");
    assert!(!flavors.is_empty());
}

#[tokio::test]
async fn an_endless_loop_hits_the_cpu_budget() {
    let h = Harness::new().await;
    let started = std::time::Instant::now();
    let e = misbehaving(&h, "loop").list_flavors().await.unwrap_err();
    assert!(matches!(e, CallError::CpuBudget { .. }), "{e}");
    assert!(e.to_string().contains("CPU budget"), "{e}");
    // The wall-clock limit (8 s) would end it too, as a Timeout; CpuBudget proves the epoch
    // budget did, and the bound is generous for a loaded 2-core machine.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "stopped by its budget"
    );
    host_still_serves(&h).await;
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_limit() {
    let h = Harness::new().await;
    let e = misbehaving(&h, "alloc").list_flavors().await.unwrap_err();
    assert!(matches!(e, CallError::Memory { .. }), "{e}");
    assert!(e.to_string().contains("32 MiB"), "{e}");
    host_still_serves(&h).await;
}

#[tokio::test]
async fn a_panic_is_a_trap_with_the_panic_message() {
    let h = Harness::new().await;
    let e = misbehaving(&h, "panic").list_flavors().await.unwrap_err();
    assert!(matches!(e, CallError::Trap { .. }), "{e}");
    assert!(e.to_string().contains("deliberate panic"), "{e}");
    host_still_serves(&h).await;
    // And the same connector serves its next call in a fresh instance.
    let e = misbehaving(&h, "panic").list_images().await.unwrap_err();
    assert!(matches!(e, CallError::Trap { .. }), "{e}");
}

#[tokio::test]
async fn a_forbidden_host_is_denied() {
    let h = Harness::new().await;
    let e = misbehaving(&h, "forbidden-host")
        .list_flavors()
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("forbidden.example"), "{msg}");
    assert!(msg.contains("allowed_hosts"), "{msg}");
    host_still_serves(&h).await;
}

#[tokio::test]
async fn a_blocked_guest_hits_the_wall_clock_deadline() {
    let h = Harness::new().await;
    let e = misbehaving(&h, "sleep").list_flavors().await.unwrap_err();
    assert!(matches!(e, CallError::Timeout { .. }), "{e}");
    host_still_serves(&h).await;
}

#[tokio::test]
async fn garbage_results_do_not_crash_the_host() {
    let h = Harness::new().await;
    let c = misbehaving(&h, "garbage");
    let flavors = c
        .list_flavors()
        .await
        .expect("well-typed garbage is still a value");
    assert!(flavors.iter().any(|f| f.id.is_empty()));
    let vms = c.list_vms(vec![]).await.expect("a big answer is fine");
    assert_eq!(vms.len(), 10_000);
    host_still_serves(&h).await;
}

#[tokio::test]
async fn secrets_in_guest_errors_are_redacted() {
    let h = Harness::new().await;
    let e = misbehaving(&h, "echo-config")
        .get_vm("1".into())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains("secret-token-1234"), "{msg}");
    assert!(msg.contains("[redacted]"), "{msg}");
}

/// Mode `fetch`, the benchmark's floor for a `get-vm` over wasi:http, makes the very request
/// the connector makes, with the configured token, and nothing else.
#[tokio::test]
async fn fetch_mode_makes_one_get_of_the_server_with_the_token() {
    let h = Harness::new().await;
    let vm = h
        .client
        .create_vm(e2e_tests::vm_spec("floor"))
        .await
        .expect("created");
    let fetcher = |token: &str| {
        let spec = ConnectorSpec {
            name: "misbehaving-fetch".into(),
            config: BTreeMap::from([
                ("mode".to_string(), "fetch".to_string()),
                (
                    "fetch_url".to_string(),
                    format!("{}/compute/v2.0/servers/", h.sim.base_url()),
                ),
                ("token".to_string(), token.to_string()),
            ]),
            secret_keys: vec!["token".into()],
            egress: EgressPolicy::parse(&[h.sim.base_url()]).expect("a rule"),
            tls: Default::default(),
            limits: Limits::default(),
        };
        Client::new(h.runtime.load(MISBEHAVING_COMPONENT, spec).expect("loads"))
    };
    let floor = fetcher(&h.sim.token());
    h.sim.reset_request_counts();
    let got = floor.get_vm(vm.id.clone()).await.expect("fetched");
    assert_eq!(got.id, vm.id);
    assert_eq!(
        h.sim.request_counts(),
        BTreeMap::from([("GET /compute/v2.0/servers/{id}".to_string(), 1)])
    );
    // The cloud's own answers come back: an unknown server, a token it does not know.
    let e = floor.get_vm("999999".into()).await.unwrap_err();
    assert!(e.to_string().contains("status 404"), "{e}");
    let e = fetcher("not-a-token").get_vm(vm.id).await.unwrap_err();
    assert!(e.to_string().contains("status 401"), "{e}");
}
