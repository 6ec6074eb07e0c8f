//! Every capability orchestrated by the host: deployments, volatile disk, resize, disks,
//! build image — success paths and the failure paths users rely on.

use connector_host::deployment::{self, Format};
use connector_host::ops::inputs::NoLocalFiles;
use connector_runtime::bindings::types::{DiskState, ImageState, Size, VmSpec, VmState};
use connector_runtime::orchestrate::deploy::{self, DeployOptions, Quiet};
use connector_runtime::orchestrate::wait::Poll;
use connector_runtime::orchestrate::{
    self, BuildImageRequest, ResizeOutcome, RunRequest, TAG_RUN, tag,
};
use e2e_tests::{Harness, fast_poll, vm_spec as spec};
use okeanos_sim::{QuotaLimits, Timings};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn plan(text: &str) -> deploy::DeploymentPlan {
    let draft = deployment::parse(text, Format::Toml, Path::new(".")).unwrap();
    connector_host::ops::deploy::plan(&draft, &NoLocalFiles).unwrap()
}

fn opts() -> DeployOptions {
    DeployOptions {
        concurrency: 64,
        poll: fast_poll(),
        keep_on_failure: false,
        replace_failed: 2,
        resume: false,
        lease_ttl: Duration::from_secs(60),
        configure: None,
    }
}

const WEB_APP: &str = r#"
name = "web-app"
[defaults]
image = "CELAR-Ubuntu-14.04-LTS"
flavor = "C2R2048D10ext_vlmc"
[[node]]
name = "web"
count = 3
[[node]]
name = "db"
count = 1
cpu = 4
ram_mb = 4096
volatile_disk_gb = 50
"#;

fn user(h: &Harness) -> String {
    h.sim.backend().users()[0].uuid.clone()
}

#[tokio::test]
async fn a_deployment_runs_every_vm_tagged_and_with_addresses() {
    let h = Harness::new().await;
    let p = plan(WEB_APP);
    let r = deploy::deploy(&h.client, &p, "run1", &opts(), Arc::new(Quiet))
        .await
        .unwrap();
    assert_eq!(r.vms.len(), 4);
    for d in &r.vms {
        assert_eq!(d.vm.state, VmState::Running);
        assert!(!d.vm.ipv4.is_empty());
        let has = |k: &str, v: &str| d.vm.tags.iter().any(|t| t.key == k && t.value == v);
        assert!(has(TAG_RUN, "run1") && has("slipstream.node", &d.node));
    }
    let db = r.vms.iter().find(|d| d.node == "db").unwrap();
    let disks = h.client.list_disks(Some(db.vm.id.clone())).await.unwrap();
    assert_eq!(disks.len(), 2, "root + volatile disk: {disks:?}");
    assert!(
        disks
            .iter()
            .any(|d| d.size_gb == 50 && d.delete_on_termination)
    );
    let listed = h.client.list_vms(vec![tag(TAG_RUN, "run1")]).await.unwrap();
    assert_eq!(listed.len(), 4);

    // terminate --run-id: everything goes, volatile disk included.
    let removed = orchestrate::cleanup_run(&h.client, "run1", fast_poll())
        .await
        .unwrap();
    assert_eq!(removed, 4);
    assert_eq!(h.sim.backend().server_count(&user(&h)), 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(h.sim.backend().volume_count(&user(&h)), 0);
}

/// Other users take the quota once the run has checked it: the quota runs out midway.
struct QuotaTakenMidway(okeanos_sim::Backend);

impl deploy::Observer for QuotaTakenMidway {
    fn phase(&self, phase: &str) {
        if phase == "creating VMs" {
            self.0.set_default_quota(QuotaLimits {
                vms: 3,
                ..Default::default()
            });
        }
    }
}

#[tokio::test]
async fn quota_exceeded_mid_deployment_leaves_nothing_behind() {
    let h = Harness::new().await;
    let p = plan(WEB_APP.replace("count = 3", "count = 5").as_str());
    let o = DeployOptions {
        concurrency: 1,
        ..opts()
    };
    let observer = Arc::new(QuotaTakenMidway(h.sim.backend()));
    let e = deploy::deploy(&h.client, &p, "run2", &o, observer)
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("quota") || msg.contains("Limit"), "{msg}");
    assert!(msg.contains("removed the 3 VM(s)"), "{msg}");
    assert_eq!(h.sim.backend().server_count(&user(&h)), 0, "zero VMs left");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        h.sim.backend().volume_count(&user(&h)),
        0,
        "zero volumes left"
    );
}

#[tokio::test]
async fn a_run_the_quota_cannot_hold_is_refused_before_any_create() {
    let h = Harness::new().await;
    h.sim.backend().set_default_quota(QuotaLimits {
        vms: 3,
        ..Default::default()
    });
    h.sim.reset_request_counts();
    let p = plan(WEB_APP.replace("count = 3", "count = 5").as_str());
    let e = deploy::deploy(&h.client, &p, "run2q", &opts(), Arc::new(Quiet))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("needs 6 VMs"), "{msg}");
    assert!(msg.contains("has 3 VMs left"), "{msg}");
    assert!(
        !h.sim
            .request_counts()
            .contains_key("POST /compute/v2.0/servers"),
        "nothing was created"
    );
    assert_eq!(h.sim.backend().server_count(&user(&h)), 0);
}

#[tokio::test]
async fn a_vm_in_error_fails_the_run_with_its_name() {
    let h = Harness::new().await;
    h.sim.backend().fail_builds_named("web-app-db-1");
    let e = deploy::deploy(&h.client, &plan(WEB_APP), "run3", &opts(), Arc::new(Quiet))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("web-app-db-1"), "{msg}");
    assert!(msg.contains("error state"), "{msg}");
    assert_eq!(h.sim.backend().server_count(&user(&h)), 0);
}

#[tokio::test]
async fn a_deadline_fires_and_cleans_up() {
    let h = Harness::with_timings(Timings {
        build: Duration::from_secs(60),
        ..e2e_tests::fast_timings()
    })
    .await;
    let o = DeployOptions {
        poll: Poll::new(Duration::from_millis(100), Duration::from_secs(1)),
        ..opts()
    };
    let e = deploy::deploy(&h.client, &plan(WEB_APP), "run4", &o, Arc::new(Quiet))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("timed out"), "{msg}");
    assert_eq!(h.sim.backend().server_count(&user(&h)), 0);
}

#[tokio::test]
async fn keep_on_failure_keeps_the_vms() {
    let h = Harness::new().await;
    h.sim.backend().fail_builds_named("web-app-web-2");
    let o = DeployOptions {
        keep_on_failure: true,
        ..opts()
    };
    let e = deploy::deploy(&h.client, &plan(WEB_APP), "run5", &o, Arc::new(Quiet))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("terminate --run-id run5"));
    assert_eq!(h.sim.backend().server_count(&user(&h)), 4);
}

#[tokio::test]
async fn polling_cost_does_not_grow_with_the_number_of_vms() {
    let h = Harness::with_timings(Timings {
        build: Duration::from_millis(1500),
        ..e2e_tests::fast_timings()
    })
    .await;
    let fifty = plan(
        "name = \"big\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"w\"\ncount = 50\n",
    );
    h.sim.reset_request_counts();
    let o = DeployOptions {
        poll: Poll::new(Duration::from_millis(500), Duration::from_secs(60)),
        ..opts()
    };
    let r = deploy::deploy(&h.client, &fifty, "run6", &o, Arc::new(Quiet))
        .await
        .unwrap();
    assert_eq!(r.vms.len(), 50);
    let counts = h.sim.request_counts();
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    assert_eq!(get("POST /compute/v2.0/servers"), 50, "{counts:?}");
    assert_eq!(
        get("GET /compute/v2.0/servers/{id}"),
        0,
        "no per-VM polling: {counts:?}"
    );
    let lists = get("GET /compute/v2.0/servers/detail");
    // ~1.5 s build + create time at ≤ 500 ms per poll: a handful of list calls, not 50×.
    assert!(
        (1..=12).contains(&lists),
        "list calls: {lists} ({counts:?})"
    );
    eprintln!("50-VM deployment API calls: {counts:?}");
}

async fn running(h: &Harness, s: VmSpec) -> connector_runtime::bindings::types::Vm {
    orchestrate::run_image(
        &h.client,
        RunRequest {
            spec: s,
            wait: true,
            poll: fast_poll(),
            keep_on_failure: false,
            configure: None,
            run_id: None,
        },
    )
    .await
    .unwrap()
    .0
}

#[tokio::test]
async fn volatile_disk_is_created_with_the_vm_and_deleted_with_it() {
    let h = Harness::new().await;
    let mut s = spec("with-scratch");
    s.volatile_disk_gb = Some(20);
    let vm = running(&h, s).await;
    let disks = h.client.list_disks(Some(vm.id.clone())).await.unwrap();
    assert_eq!(disks.len(), 2, "{disks:?}");
    let scratch = disks
        .iter()
        .find(|d| d.size_gb == 20)
        .expect("the volatile disk");
    assert_eq!(scratch.state, DiskState::InUse);
    orchestrate::terminate_many(&h.client, std::slice::from_ref(&vm.id), &[], fast_poll())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(h.sim.backend().volume_count(&user(&h)), 0);
}

#[tokio::test]
async fn resize_moves_a_running_vm_and_comes_back_running() {
    let h = Harness::new().await;
    let vm = running(&h, spec("grow")).await;
    let out = orchestrate::resize(
        &h.client,
        &vm.id,
        Size::Flavor("C4R4096D10ext_vlmc".into()),
        fast_poll(),
    )
    .await
    .unwrap();
    let ResizeOutcome::Resized(after) = out else {
        panic!("expected a resize")
    };
    assert_eq!(after.state, VmState::Running);
    let f = h
        .client
        .resolve_size(Size::Flavor("C4R4096D10ext_vlmc".into()))
        .await
        .unwrap();
    assert_eq!(after.flavor, f.id);
    // Same size again: nothing to do.
    let again = orchestrate::resize(
        &h.client,
        &vm.id,
        Size::Flavor("C4R4096D10ext_vlmc".into()),
        fast_poll(),
    )
    .await
    .unwrap();
    assert!(matches!(again, ResizeOutcome::AlreadyThere(_)));
}

#[tokio::test]
async fn resize_to_another_disk_size_is_refused_untouched() {
    let h = Harness::new().await;
    let vm = running(&h, spec("fixed-disk")).await;
    h.sim.reset_request_counts();
    let e = orchestrate::resize(
        &h.client,
        &vm.id,
        Size::Flavor("C4R4096D20ext_vlmc".into()),
        fast_poll(),
    )
    .await
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("disk"), "{msg}");
    let counts = h.sim.request_counts();
    assert!(
        !counts.keys().any(|k| k.starts_with("POST")),
        "nothing was changed: {counts:?}"
    );
    let still = h.client.get_vm(vm.id.clone()).await.unwrap();
    assert_eq!(still.state, VmState::Running);
    assert_eq!(still.flavor, vm.flavor);
}

#[tokio::test]
async fn attach_and_detach_a_disk() {
    let h = Harness::new().await;
    let vm = running(&h, spec("disks")).await;
    let disk = orchestrate::attach_disk(&h.client, &vm.id, 30, "data", fast_poll())
        .await
        .unwrap();
    assert_eq!(disk.state, DiskState::InUse);
    assert_eq!(disk.size_gb, 30);
    let disks = h.client.list_disks(Some(vm.id.clone())).await.unwrap();
    assert!(disks.iter().any(|d| d.id == disk.id));
    let detached = orchestrate::detach_disk(&h.client, &vm.id, &disk.id, false, fast_poll())
        .await
        .unwrap();
    assert_eq!(detached.state, DiskState::Available);
    assert_eq!(detached.vm_id, None);

    // detach --delete: the volume is gone afterwards.
    let other = orchestrate::attach_disk(&h.client, &vm.id, 10, "tmp", fast_poll())
        .await
        .unwrap();
    let gone = orchestrate::detach_disk(&h.client, &vm.id, &other.id, true, fast_poll())
        .await
        .unwrap();
    assert_eq!(gone.state, DiskState::Deleted);
    let disks = h.client.list_disks(Some(vm.id.clone())).await.unwrap();
    assert_eq!(disks.len(), 1, "only the root disk is attached: {disks:?}");
}

#[tokio::test]
async fn build_image_makes_an_image_that_runs_at_once_and_removes_the_builder() {
    let h = Harness::new().await;
    let image = orchestrate::build_image(
        &h.client,
        BuildImageRequest {
            base_image: "CELAR-Ubuntu-14.04-LTS".into(),
            size: Size::Flavor("C2R2048D10ext_vlmc".into()),
            name: "my-app-v1".into(),
            files: vec![connector_runtime::bindings::types::File {
                path: "/etc/motd".into(),
                contents: b"built by slipstream\n".to_vec(),
                owner: None,
                group: None,
                mode: Some(0o644),
            }],
            ssh_keys: vec![],
            user_data: None,
            public: true,
            poll: fast_poll(),
            configure: None,
            run_id: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(image.state, ImageState::Available);
    assert!(image.is_snapshot);
    assert!(image.public);
    // Synnefo copies only the server's `OS` and `users` into a snapshot: the connector passes
    // the image's users itself, so VMs run from the new image get their SSH keys.
    assert_eq!(image.users.as_deref(), Some("user"), "{image:?}");
    assert_eq!(image.os.as_deref(), Some("ubuntu"), "{image:?}");
    assert_eq!(
        h.sim.backend().server_count(&user(&h)),
        0,
        "the builder VM is gone"
    );
    let mut s = spec("from-new-image");
    s.image = "my-app-v1".into();
    let vm = running(&h, s).await;
    assert_eq!(vm.image, image.id);
}
