//! Conformance of the simulator's network service (§4), `changes-since`, quotas (§5) and
//! persistence, over real HTTP.

#[path = "sim_support/mod.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

use okeanos_sim::{QuotaLimits, SimConfig};

// ---- §4 network ------------------------------------------------------------------------

#[tokio::test]
async fn public_networks_are_listed() {
    let s = Sim::start().await;
    let v = s.get("/network/v2.0/networks").await.json();
    let nets = v["networks"].as_array().unwrap();
    let pool = nets
        .iter()
        .find(|n| n["SNF:floating_ip_pool"] == true)
        .unwrap();
    assert_eq!(pool["public"], true);
    assert_eq!(pool["router:external"], true);
    assert!(pool["id"].is_string());
    let subnets = s.get("/network/v2.0/subnets").await.json();
    assert!(
        subnets["subnets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["ip_version"] == 6)
    );
}

#[tokio::test]
async fn private_network_create_and_delete_public_is_forbidden() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/network/v2.0/networks",
            json!({"network": {"type": "MAC_FILTERED", "name": "priv"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["network"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["network"]["public"], false);
    assert_fault(
        &s.post(
            "/network/v2.0/networks",
            json!({"network": {"type": "BOGUS", "name": "x"}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.delete("/network/v2.0/networks/1").await,
        403,
        "forbidden",
        None,
    );
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            &format!("/network/v2.0/networks/{id}"),
            None,
        )
        .await;
    assert_fault(&r, 404, "itemNotFound", None);
    assert_eq!(
        s.delete(&format!("/network/v2.0/networks/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn floating_ip_lifecycle() {
    let s = Sim::start().await;
    let r = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fip = r.json()["floatingip"].clone();
    assert!(
        fip["floating_ip_address"]
            .as_str()
            .unwrap()
            .starts_with("83.212.")
    );
    assert_eq!(fip["port_id"], json!(null));
    let id = fip["id"].as_str().unwrap();
    let l = s.get("/network/v2.0/floatingips").await.json();
    assert_eq!(l["floatingips"].as_array().unwrap().len(), 1);
    let r = s
        .put(
            &format!("/network/v2.0/floatingips/{id}"),
            json!({"floatingip": {}}),
        )
        .await;
    assert_fault(&r, 501, "notImplemented", None);
    assert_eq!(
        s.delete(&format!("/network/v2.0/floatingips/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_fault(
        &s.get(&format!("/network/v2.0/floatingips/{id}")).await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn server_on_public_network_needs_a_free_floating_ip() {
    let s = Sim::start().await;
    let r = s
        .create_server_with("f", VLMC, json!({"networks": [{"uuid": "1"}]}))
        .await;
    assert_fault(&r, 409, "conflict", None);
    let fip = s
        .post(
            "/network/v2.0/floatingips",
            json!({"floatingip": {"floating_network_id": "1"}}),
        )
        .await
        .json()["floatingip"]
        .clone();
    let addr = fip["floating_ip_address"].as_str().unwrap().to_string();
    let r = s
        .create_server_with(
            "f",
            VLMC,
            json!({"networks": [{"uuid": "1", "fixed_ip": addr}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    assert_eq!(srv["attachments"][0]["ipv4"], addr.as_str());
    assert_eq!(srv["attachments"][0]["OS-EXT-IPS:type"], "floating");
    let fid = fip["id"].as_str().unwrap();
    assert_fault(
        &s.delete(&format!("/network/v2.0/floatingips/{fid}")).await,
        409,
        "conflict",
        None,
    );
    s.delete(&format!("/compute/v2.0/servers/{id}")).await;
    s.wait_server(id, "DELETED").await;
    assert_eq!(
        s.delete(&format!("/network/v2.0/floatingips/{fid}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn empty_networks_means_no_nics() {
    let s = Sim::start().await;
    let r = s
        .create_server_with("nonet", VLMC, json!({"networks": []}))
        .await;
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    assert_eq!(srv["attachments"], json!([]));
    assert_eq!(srv["addresses"], json!({}));
}

#[tokio::test]
async fn add_and_remove_floating_ip_actions() {
    let s = Sim::start().await;
    let id = s.active_server("a", VLMC).await;
    let addr = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await
        .json()["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        s.action(id, json!({"addFloatingIp": {"address": addr}}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let srv = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert!(
        srv["server"]["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["ipv4"] == addr.as_str())
    );
    assert_fault(
        &s.action(id, json!({"addFloatingIp": {"address": addr}}))
            .await,
        409,
        "conflict",
        None,
    );
    assert_eq!(
        s.action(id, json!({"removeFloatingIp": {"address": addr}}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let srv = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert!(
        !srv["server"]["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["ipv4"] == addr.as_str())
    );
}

#[tokio::test]
async fn ports_create_attach_and_delete() {
    let s = Sim::start().await;
    let id = s.active_server("p", VLMC).await;
    let net = s
        .post(
            "/network/v2.0/networks",
            json!({"network": {"type": "MAC_FILTERED", "name": "n"}}),
        )
        .await
        .json()["network"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .post(
            "/network/v2.0/ports",
            json!({"port": {"network_id": net, "device_id": id.to_string()}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let port = r.json()["port"].clone();
    assert_eq!(port["status"], "BUILD");
    let pid = port["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/network/v2.0/ports/{pid}"), |v| {
        v["port"]["status"] == "ACTIVE"
    })
    .await;
    let srv = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert!(srv["server"]["addresses"].get(&net).is_some());
    assert_fault(
        &s.delete(&format!("/network/v2.0/networks/{net}")).await,
        409,
        "conflict",
        None,
    );
    assert_eq!(
        s.delete(&format!("/network/v2.0/ports/{pid}")).await.status,
        StatusCode::NO_CONTENT
    );
    // logic/servers.py `_delete_port`: a port on a server goes when the job removing the
    // NIC completes; until then it is still there, and so is the network's conflict.
    assert_eq!(
        s.get(&format!("/network/v2.0/ports/{pid}")).await.status,
        StatusCode::OK
    );
    assert_fault(
        &s.delete(&format!("/network/v2.0/networks/{net}")).await,
        409,
        "conflict",
        None,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.get(&format!("/network/v2.0/ports/{pid}")).await.status != StatusCode::NOT_FOUND {
        assert!(std::time::Instant::now() < deadline, "the port never went");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.delete(&format!("/network/v2.0/networks/{net}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = s
        .post("/network/v2.0/ports", json!({"port": {"network_id": "1"}}))
        .await;
    assert_fault(&r, 400, "badRequest", None);
}

// ---- changes-since ----------------------------------------------------------------------

#[tokio::test]
async fn changes_since_too_old_is_400_and_unchanged_is_304() {
    let s = Sim::start().await;
    let old = (chrono::Utc::now() - chrono::TimeDelta::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    assert_fault(
        &s.get(&format!("/compute/v2.0/servers/detail?changes-since={old}"))
            .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.get("/compute/v2.0/servers?changes-since=yesterday").await,
        400,
        "badRequest",
        None,
    );
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let r = s
        .get(&format!("/compute/v2.0/servers/detail?changes-since={now}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s
        .get(&format!("/volume/v2.0/volumes/detail?changes-since={now}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn changes_since_includes_deleted_servers() {
    let s = Sim::start().await;
    let since = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let id = s.active_server("gone", VLMC).await;
    s.delete(&format!("/compute/v2.0/servers/{id}")).await;
    s.wait_server(id, "DELETED").await;
    let v = s
        .get(&format!(
            "/compute/v2.0/servers/detail?changes-since={since}"
        ))
        .await
        .json();
    let list = v["servers"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "DELETED");
    assert_eq!(
        s.get("/compute/v2.0/servers/detail").await.json()["servers"],
        json!([])
    );
}

// ---- §5 quotas ------------------------------------------------------------------------------

fn limited(q: QuotaLimits) -> SimConfig {
    SimConfig {
        timings: quick(),
        quotas: q,
        ..Default::default()
    }
}

#[tokio::test]
async fn vm_quota_exceeded_is_the_exact_413_body() {
    let s = Sim::with(limited(QuotaLimits {
        vms: 1,
        ..Default::default()
    }))
    .await;
    s.create_server("one", VLMC).await;
    let r = s.create_server_with("two", VLMC, json!({})).await;
    assert_eq!(r.status.as_u16(), 413);
    assert_eq!(
        r.json(),
        json!({"overLimit":{"code":413,"message":"Resource Limit Exceeded for your account.","details":"Limit for resource 'Virtual Machine' exceeded for your account. Available: 0, Requested: 1"}})
    );
}

#[tokio::test]
async fn cpu_and_ram_quotas() {
    let s = Sim::with(limited(QuotaLimits {
        cpus: 2,
        ..Default::default()
    }))
    .await;
    s.create_server("one", VLMC).await;
    let four = 49 + 24; // C4R1024D10ext_vlmc
    let r = s.create_server_with("big", four, json!({})).await;
    assert_fault(
        &r,
        413,
        "overLimit",
        Some("Resource Limit Exceeded for your account."),
    );
    assert_eq!(
        r.json()["overLimit"]["details"],
        "Limit for resource 'CPU' exceeded for your account. Available: 1, Requested: 4"
    );
    let s = Sim::with(limited(QuotaLimits {
        ram_mib: 1024,
        ..Default::default()
    }))
    .await;
    s.create_server("one", VLMC).await;
    let r = s.create_server_with("two", VLMC, json!({})).await;
    assert_eq!(
        r.json()["overLimit"]["details"],
        "Limit for resource 'RAM' exceeded for your account. Available: 0, Requested: 1073741824"
    );
}

#[tokio::test]
async fn disk_quota_applies_to_volumes() {
    let s = Sim::with(limited(QuotaLimits {
        disk_gib: 12,
        ..Default::default()
    }))
    .await;
    s.create_server("one", VLMC).await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 3, "volume_type": 2}}),
        )
        .await;
    assert_fault(&r, 413, "overLimit", None);
    assert_eq!(
        r.json()["overLimit"]["details"],
        format!(
            "Limit for resource 'Disk' exceeded for your account. Available: {}, Requested: {}",
            2u64 << 30,
            3u64 << 30
        )
    );
}

#[tokio::test]
async fn floating_ip_quota() {
    let s = Sim::with(limited(QuotaLimits {
        floating_ips: 1,
        ..Default::default()
    }))
    .await;
    assert_eq!(
        s.post("/network/v2.0/floatingips", json!({"floatingip": {}}))
            .await
            .status,
        StatusCode::OK
    );
    let r = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await;
    assert_eq!(
        r.json()["overLimit"]["details"],
        "Limit for resource 'Floating IP address' exceeded for your account. Available: 0, Requested: 1"
    );
}

#[tokio::test]
async fn start_charges_cpu_again() {
    let s = Sim::with(limited(QuotaLimits {
        cpus: 1,
        ..Default::default()
    }))
    .await;
    let a = s.active_server("a", VLMC).await;
    s.action(a, json!({"shutdown": {}})).await;
    s.wait_server(a, "STOPPED").await;
    // total_cpu is still charged by the stopped server: a second one does not fit.
    assert_fault(
        &s.create_server_with("b", VLMC, json!({})).await,
        413,
        "overLimit",
        None,
    );
    assert_eq!(
        s.action(a, json!({"start": {}})).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn deleting_releases_quota() {
    let s = Sim::with(limited(QuotaLimits {
        vms: 1,
        ..Default::default()
    }))
    .await;
    let a = s.active_server("a", VLMC).await;
    s.delete(&format!("/compute/v2.0/servers/{a}")).await;
    assert_eq!(
        s.create_server_with("b", VLMC, json!({})).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn account_quotas_report_usage_per_project() {
    let s = Sim::start().await;
    s.create_server("a", VLMC).await;
    let v = s.get("/account/v1.0/quotas").await.json();
    let p = &v[okeanos_sim::DEFAULT_USER_UUID];
    assert_eq!(p["cyclades.vm"]["usage"], 1);
    assert_eq!(p["cyclades.vm"]["limit"], 100);
    assert_eq!(p["cyclades.cpu"]["usage"], 1);
    assert_eq!(p["cyclades.ram"]["usage"], 1u64 << 30);
    // Synnefo registers the totals with `api_visible: False`
    // (snf-cyclades-app/synnefo/api/services.py `cyclades_services`), and
    // astakos/api/quotas.py `quotas` shows only `get_api_visible_resources()`.
    assert!(p.get("cyclades.total_cpu").is_none());
    assert!(p.get("cyclades.total_ram").is_none());
    assert_eq!(p["cyclades.disk"]["usage"], 10u64 << 30);
    for k in [
        "usage",
        "limit",
        "pending",
        "project_usage",
        "project_limit",
        "project_pending",
    ] {
        assert!(p["cyclades.floating_ip"].get(k).is_some(), "{k}");
    }
}

#[tokio::test]
async fn quotas_are_per_project_and_users_are_isolated() {
    let s = Sim::with(limited(QuotaLimits {
        vms: 1,
        ..Default::default()
    }))
    .await;
    s.create_server("mine", VLMC).await;
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::POST,
            "/compute/v2.0/servers",
            Some(json!({"server": {"name": "theirs", "imageRef": UBUNTU, "flavorRef": VLMC}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "another project has its own quota"
    );
    s.sim.backend().set_project_quota(
        OTHER_UUID,
        QuotaLimits {
            vms: 5,
            ..Default::default()
        },
    );
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::POST,
            "/compute/v2.0/servers",
            Some(json!({"server": {"name": "theirs2", "imageRef": UBUNTU, "flavorRef": VLMC}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(s.sim.backend().server_count(OTHER_UUID), 2);
    assert_eq!(
        s.sim.backend().server_count(okeanos_sim::DEFAULT_USER_UUID),
        1
    );
    let mine = s.get("/compute/v2.0/servers").await.json();
    assert_eq!(mine["servers"].as_array().unwrap().len(), 1);
}

// ---- persistence -------------------------------------------------------------------------

#[tokio::test]
async fn state_file_survives_a_restart_and_transitions_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let cfg = || SimConfig {
        state_file: Some(path.clone()),
        timings: okeanos_sim::Timings::uniform(std::time::Duration::from_millis(400)),
        ..Default::default()
    };
    let s = Sim::with(cfg()).await;
    let id = s.create_server("persisted", VLMC).await;
    s.sim.shutdown().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let s = Sim::with(cfg()).await;
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(
        v["server"]["status"], "ACTIVE",
        "the build completed while no process ran"
    );
    assert_eq!(
        s.get("/compute/v2.0/servers").await.json()["servers"][0]["id"],
        id
    );
}

#[tokio::test]
async fn corrupt_state_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let err = okeanos_sim::spawn(
        SimConfig {
            state_file: Some(path.clone()),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("corrupt"), "{err:#}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{ not json",
        "never silently reset"
    );
}
