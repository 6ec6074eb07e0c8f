//! The simulator's test controls: every fault-injection kind seen from a real client, the
//! admin API under `/_sim/`, request counting and TLS.

#[path = "sim_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use okeanos_sim::{FaultConfig, FaultRule, SimConfig, TlsConfig};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

fn on(endpoint: &str, rule: FaultRule) -> FaultConfig {
    FaultConfig {
        per_endpoint: BTreeMap::from([(endpoint.to_string(), rule)]),
        ..Default::default()
    }
}

#[tokio::test]
async fn injected_503_is_a_service_unavailable_fault_and_changes_nothing() {
    let s = Sim::start().await;
    s.sim.faults().set(FaultConfig {
        global: FaultRule {
            error_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    });
    let r = s.create_server_with("x", VLMC, json!({})).await;
    assert_fault(&r, 503, "serviceUnavailable", None);
    assert_eq!(
        s.sim.backend().server_count(okeanos_sim::DEFAULT_USER_UUID),
        0
    );
    assert_eq!(s.sim.faults().injected(), 1);
}

#[tokio::test]
async fn injected_latency_delays_replies() {
    let s = Sim::start().await;
    s.sim.faults().set(on(
        "GET /compute/v2.0/flavors",
        FaultRule {
            latency_ms: 800,
            jitter_ms: 50,
            ..Default::default()
        },
    ));
    let t = Instant::now();
    assert_eq!(s.get("/compute/v2.0/flavors").await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(800));
    let t = Instant::now();
    s.get("/compute/v2.0/images").await;
    assert!(
        t.elapsed() < Duration::from_millis(800),
        "other endpoints are not delayed"
    );
}

#[tokio::test]
async fn dropped_connection_gives_a_transport_error_and_no_state_change() {
    let s = Sim::start().await;
    s.sim.faults().set(on(
        "POST /compute/v2.0/servers",
        FaultRule {
            drop_rate: 1.0,
            ..Default::default()
        },
    ));
    let body = json!({"server": {"name": "x", "imageRef": UBUNTU, "flavorRef": VLMC}})
        .to_string()
        .into_bytes();
    let r = s
        .raw(
            Method::POST,
            "/compute/v2.0/servers",
            Some(&s.token),
            Some("application/json"),
            Some(body),
            &[],
        )
        .await;
    assert!(r.is_err(), "expected a transport error, got {r:?}");
    assert_eq!(
        s.sim.backend().server_count(okeanos_sim::DEFAULT_USER_UUID),
        0
    );
}

#[tokio::test]
async fn lost_reply_creates_the_server_but_the_client_sees_an_error() {
    let s = Sim::start().await;
    s.sim.faults().set(on(
        "POST /compute/v2.0/servers",
        FaultRule {
            lost_reply_rate: 1.0,
            ..Default::default()
        },
    ));
    let body = json!({"server": {"name": "ghost", "imageRef": UBUNTU, "flavorRef": VLMC}})
        .to_string()
        .into_bytes();
    let r = s
        .raw(
            Method::POST,
            "/compute/v2.0/servers",
            Some(&s.token),
            Some("application/json"),
            Some(body),
            &[],
        )
        .await;
    assert!(r.is_err(), "expected a transport error, got {r:?}");
    assert_eq!(
        s.sim.backend().server_count(okeanos_sim::DEFAULT_USER_UUID),
        1
    );
    s.sim.faults().set(FaultConfig::default());
    let v = s.get("/compute/v2.0/servers").await.json();
    assert_eq!(
        v["servers"][0]["name"], "ghost",
        "a client can find it by listing"
    );
}

#[tokio::test]
async fn malformed_body_keeps_status_but_is_not_json() {
    let s = Sim::start().await;
    s.sim.faults().set(on(
        "GET /compute/v2.0/flavors",
        FaultRule {
            malformed_rate: 1.0,
            ..Default::default()
        },
    ));
    let r = s.get("/compute/v2.0/flavors").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
}

#[tokio::test]
async fn faults_are_reproducible_with_the_same_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let s = Sim::with(SimConfig {
            seed,
            faults: FaultConfig {
                global: FaultRule {
                    error_rate: 0.5,
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        let mut out = vec![];
        for _ in 0..30 {
            out.push(s.get("/compute/v2.0/flavors").await.status.as_u16());
        }
        out
    }
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    assert!(a.contains(&503) && a.contains(&200));
}

#[tokio::test]
async fn admin_endpoints_need_no_token_and_are_never_faulted() {
    let s = Sim::start().await;
    s.sim.faults().set(FaultConfig {
        global: FaultRule {
            error_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    });
    let r = s
        .raw(Method::GET, "/_sim/health", None, None, None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let r = s
        .raw(
            Method::PUT,
            "/_sim/faults",
            None,
            Some("application/json"),
            Some(b"{}".to_vec()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/compute/v2.0/flavors").await.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_fail_builds_timings_reset() {
    let s = Sim::start().await;
    let r = s
        .raw(
            Method::POST,
            "/_sim/fail_builds",
            None,
            Some("application/json"),
            Some(br#"{"count":1}"#.to_vec()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let id = s.create_server("x", VLMC).await;
    s.wait_server(id, "ERROR").await;
    let t = s
        .raw(Method::GET, "/_sim/timings", None, None, None, &[])
        .await
        .unwrap()
        .json();
    assert_eq!(t["build"], 300);
    let r = s.raw(Method::PUT, "/_sim/timings", None, Some("application/json"),
        Some(json!({"build": 0, "start": 0, "stop": 0, "reboot": 0, "resize": 0, "delete": 0, "volume": 0, "snapshot": 0}).to_string().into_bytes()), &[]).await.unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let id2 = s.create_server("y", VLMC).await;
    assert_eq!(
        s.get(&format!("/compute/v2.0/servers/{id2}")).await.json()["server"]["status"],
        "ACTIVE"
    );
    let r = s
        .raw(Method::POST, "/_sim/reset", None, None, None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get("/compute/v2.0/servers").await.json()["servers"],
        json!([])
    );
}

#[tokio::test]
async fn admin_users_and_quotas() {
    let s = Sim::start().await;
    let user =
        json!({"token": "third", "uuid": "33333333-3333-4333-8333-333333333333", "name": "Third"});
    let r = s
        .raw(
            Method::POST,
            "/_sim/users",
            None,
            Some("application/json"),
            Some(user.to_string().into_bytes()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        s.call_as("third", Method::GET, "/compute/v2.0/servers", None)
            .await
            .status,
        StatusCode::OK
    );
    let q = json!({"vms": 0, "cpus": 10, "ram_mib": 10240, "disk_gib": 100, "floating_ips": 1, "private_networks": 1});
    let r = s
        .raw(
            Method::PUT,
            "/_sim/quotas/33333333-3333-4333-8333-333333333333",
            None,
            Some("application/json"),
            Some(q.to_string().into_bytes()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = s
        .call_as(
            "third",
            Method::POST,
            "/compute/v2.0/servers",
            Some(json!({"server": {"name": "x", "imageRef": UBUNTU, "flavorRef": VLMC}})),
        )
        .await;
    assert_fault(&r, 413, "overLimit", None);
}

#[tokio::test]
async fn request_counts_are_per_normalized_endpoint() {
    let s = Sim::start().await;
    let id = s.create_server("c", VLMC).await;
    s.get("/compute/v2.0/servers/detail").await;
    s.get("/compute/v2.0/servers/detail").await;
    s.get(&format!("/compute/v2.0/servers/{id}")).await;
    s.get(&format!("/image/v1.0/images/{UBUNTU}")).await;
    let counts = s.sim.request_counts();
    assert_eq!(counts.get("POST /compute/v2.0/servers"), Some(&1));
    assert_eq!(counts.get("GET /compute/v2.0/servers/detail"), Some(&2));
    assert_eq!(counts.get("GET /compute/v2.0/servers/{id}"), Some(&1));
    assert_eq!(counts.get("GET /image/v1.0/images/{id}"), Some(&1));
    assert_eq!(s.sim.request_count(), 5);
}

#[tokio::test]
async fn tls_serves_https_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("ca.pem");
    let s = Sim::with(SimConfig {
        tls: Some(TlsConfig {
            cert_out: Some(cert.clone()),
        }),
        timings: quick(),
        ..Default::default()
    })
    .await;
    assert!(s.base.starts_with("https://localhost:"));
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert_eq!(Some(pem), s.sim.ca_cert_pem());
    let r = s.get("/compute/v2.0/flavors").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = s
        .raw(Method::POST, "/identity/v2.0/tokens", None, None, None, &[])
        .await
        .unwrap()
        .json();
    let compute = v["access"]["serviceCatalog"][0]["endpoints"][0]["publicURL"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(compute.starts_with("https://localhost:"), "{compute}");
    let plain = reqwest::Client::new()
        .get(format!("{}/compute/v2.0/flavors", s.base))
        .send()
        .await;
    assert!(
        plain.is_err(),
        "an untrusting client must fail the handshake"
    );
}
