//! One VM end to end: the real guest in wasmtime, the simulator over HTTP.

use connector_runtime::bindings::types::{Size, VmSpec, VmState};
use connector_runtime::error::{CallError, ErrorKind};
use connector_runtime::orchestrate::{self, RunRequest, tag};
use e2e_tests::{Harness, fast_poll};

fn spec(name: &str) -> VmSpec {
    VmSpec {
        name: name.into(),
        image: "CELAR-Ubuntu-14.04-LTS".into(),
        size: Size::Flavor("C2R2048D10ext_vlmc".into()),
        ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1+test user@host".into()],
        files: vec![],
        user_data: None,
        volatile_disk_gb: None,
        tags: vec![tag("owner", "e2e")],
        project: None,
    }
}

fn count(h: &Harness, key: &str) -> u64 {
    h.sim.request_counts().get(key).copied().unwrap_or(0)
}

#[tokio::test]
async fn run_image_reaches_running_with_addresses_and_terminate_removes_it() {
    let h = Harness::new().await;
    let (vm, _run) = orchestrate::run_image(
        &h.client,
        RunRequest {
            spec: spec("web-1"),
            wait: true,
            poll: fast_poll(),
            keep_on_failure: false,
            configure: None,
            run_id: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(vm.state, VmState::Running);
    assert_eq!(vm.name, "web-1");
    assert!(
        !vm.ipv4.is_empty(),
        "a running VM has a public IPv4: {vm:?}"
    );
    assert!(!vm.ipv6.is_empty(), "and an IPv6: {vm:?}");
    assert_eq!(vm.image, "fe31fced-a3cf-49c6-b43b-f58f5235ba45");
    assert!(vm.tags.iter().any(|t| t.key == "owner" && t.value == "e2e"));
    // The image's OS/USERS metadata is copied onto the server but is not a user tag.
    assert!(
        !vm.tags.iter().any(|t| t.key == "OS" || t.key == "USERS"),
        "{:?}",
        vm.tags
    );

    let listed = h.client.list_vms(vec![]).await.unwrap();
    assert!(listed.iter().any(|v| v.id == vm.id));

    orchestrate::terminate_many(&h.client, std::slice::from_ref(&vm.id), &[], fast_poll())
        .await
        .unwrap();
    let listed = h.client.list_vms(vec![]).await.unwrap();
    assert!(
        !listed.iter().any(|v| v.id == vm.id),
        "terminated VM still listed"
    );
    let gone = h.client.get_vm(vm.id.clone()).await;
    match gone {
        Ok(v) => assert_eq!(v.state, VmState::Terminated),
        Err(e) => assert!(e.is_not_found(), "{e}"),
    }
}

#[tokio::test]
async fn list_by_tags_is_one_request_and_the_catalog_is_cached() {
    let h = Harness::new().await;
    for i in 0..4 {
        let mut s = spec(&format!("vm-{i}"));
        s.tags
            .push(tag("group", if i % 2 == 0 { "even" } else { "odd" }));
        h.client.create_vm(s).await.unwrap();
    }
    h.sim.reset_request_counts();
    let even = h.client.list_vms(vec![tag("group", "even")]).await.unwrap();
    assert_eq!(even.len(), 2);
    assert!(
        even.iter()
            .all(|v| v.tags.iter().any(|t| t.key == "group" && t.value == "even"))
    );
    let counts = h.sim.request_counts();
    assert_eq!(
        count(&h, "GET /compute/v2.0/servers/detail"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        h.sim.request_count(),
        1,
        "one listing call, no re-authentication: {counts:?}"
    );
}

#[tokio::test]
async fn size_by_shape_picks_the_smallest_fitting_flavor() {
    let h = Harness::new().await;
    let f = h
        .client
        .resolve_size(Size::Shape(connector_runtime::bindings::types::Shape {
            cpus: 2,
            ram_mb: 3000,
            disk_gb: None,
        }))
        .await
        .unwrap();
    assert_eq!((f.cpus, f.ram_mb, f.disk_gb), (2, 4096, 10), "{f:?}");
    let by_name = h
        .client
        .resolve_size(Size::Flavor("C2R2048D10ext_vlmc".into()))
        .await
        .unwrap();
    let by_id = h
        .client
        .resolve_size(Size::Flavor(by_name.id.clone()))
        .await
        .unwrap();
    assert_eq!(by_name.id, by_id.id);
}

fn kind(e: &CallError) -> ErrorKind {
    e.kind()
        .unwrap_or_else(|| panic!("expected a cloud error, got {e}"))
}

#[tokio::test]
async fn unknown_flavor_is_not_found_with_close_matches() {
    let h = Harness::new().await;
    let e = h
        .client
        .resolve_size(Size::Flavor("C2R2048D10ext_vlm".into()))
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::NotFound);
    assert!(
        e.to_string().contains("C2R2048D10ext_vlmc"),
        "suggests the close match: {e}"
    );
}

#[tokio::test]
async fn errors_map_to_the_typed_variant() {
    let h = Harness::new().await;

    // 401: a wrong token.
    let bad = h.client_with(|s| {
        s.config.insert("token".into(), "not-a-valid-token".into());
    });
    let e = bad.list_flavors().await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Unauthorized, "{e}");
    assert!(
        !e.to_string().contains("not-a-valid-token"),
        "the token never shows: {e}"
    );

    // 404: an unknown server.
    let e = h.client.get_vm("987654".into()).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::NotFound, "{e}");

    // 409: an action while the server builds.
    let slow = e2e_tests::Harness::with_config(okeanos_sim::SimConfig {
        timings: okeanos_sim::Timings::uniform(std::time::Duration::from_secs(30)),
        ..Default::default()
    })
    .await;
    let vm = slow.client.create_vm(spec("building")).await.unwrap();
    let e = slow.client.stop_vm(vm.id.clone()).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Conflict, "{e}");

    // 400: an action in the wrong state (start a running VM), with Synnefo's message.
    let (vm, _) = orchestrate::run_image(
        &h.client,
        RunRequest {
            spec: spec("running"),
            wait: true,
            poll: fast_poll(),
            keep_on_failure: false,
            configure: None,
            run_id: None,
        },
    )
    .await
    .unwrap();
    let e = h.client.start_vm(vm.id.clone()).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Invalid, "{e}");
    assert!(
        e.to_string().contains("Cannot perform 'START' action"),
        "Synnefo's own message: {e}"
    );

    // 413: quota.
    h.sim.backend().set_default_quota(okeanos_sim::QuotaLimits {
        vms: 1,
        ..Default::default()
    });
    let e = h.client.create_vm(spec("over-quota")).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::QuotaExceeded, "{e}");
    h.sim
        .backend()
        .set_default_quota(okeanos_sim::QuotaLimits::default());

    // 503 and an unparseable body.
    h.sim.faults().set(okeanos_sim::FaultConfig {
        global: okeanos_sim::FaultRule {
            error_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    });
    let e = h.client.list_flavors().await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Unavailable, "{e}");
    h.sim.faults().set(okeanos_sim::FaultConfig {
        global: okeanos_sim::FaultRule {
            malformed_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    });
    let e = h.client.list_flavors().await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Protocol, "{e}");
    h.sim.faults().set(okeanos_sim::FaultConfig::default());
    h.client.list_flavors().await.expect("healthy again");
}

#[tokio::test]
async fn a_flavor_that_disallows_creation_is_forbidden() {
    let h = Harness::new().await;
    let flavors = h.client.list_flavors().await.unwrap();
    let closed = flavors
        .iter()
        .find(|f| !f.allow_create)
        .expect("the sim seeds one");
    let mut s = spec("closed");
    s.size = Size::Flavor(closed.id.clone());
    let e = h.client.create_vm(s).await.unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Forbidden, "{e}");
}
