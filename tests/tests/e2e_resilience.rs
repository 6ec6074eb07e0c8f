//! Deployments that survive a real cloud: 503s, dropped connections and replies lost after
//! the cloud acted, on every endpoint; VMs that go to ERROR. Outcomes are counted through the
//! simulator's own state, never through the connector.

use connector_host::deployment::{self, Format};
use connector_host::ops::inputs::NoLocalFiles;
use connector_runtime::bindings::types::VmState;
use connector_runtime::orchestrate::deploy::{self, DeployOptions, Quiet};
use connector_runtime::orchestrate::wait::Poll;
use e2e_tests::{Harness, fast_timings};
use okeanos_sim::{FaultConfig, FaultRule, SimConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn plan(vms: u32) -> deploy::DeploymentPlan {
    let text = format!(
        "name = \"chaos\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"web\"\ncount = {}\n[[node]]\nname = \"db\"\ncount = {}\n",
        vms - vms / 3,
        vms / 3
    );
    let draft = deployment::parse(&text, Format::Toml, Path::new(".")).unwrap();
    connector_host::ops::deploy::plan(&draft, &NoLocalFiles).unwrap()
}

fn opts() -> DeployOptions {
    DeployOptions {
        concurrency: 16,
        poll: Poll::new(Duration::from_millis(200), Duration::from_secs(120)),
        keep_on_failure: false,
        replace_failed: 2,
        resume: false,
        lease_ttl: Duration::from_secs(60),
        configure: None,
    }
}

/// Servers of the user that exist in the simulator, by their slot (`node/index`), with status.
fn servers_by_slot(h: &Harness) -> BTreeMap<String, Vec<String>> {
    let user = h.sim.backend().users()[0].uuid.clone();
    let state = h.sim.backend().snapshot();
    let mut slots: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in state.servers.values() {
        if s.user_id != user || s.is_deleted() {
            continue;
        }
        let slot = format!(
            "{}/{}",
            s.metadata
                .get("slipstream.node")
                .cloned()
                .unwrap_or_default(),
            s.metadata
                .get("slipstream.index")
                .cloned()
                .unwrap_or_default()
        );
        slots
            .entry(slot)
            .or_default()
            .push(s.status.as_str().to_string());
    }
    slots
}

/// Waits (bounded) until the simulator holds exactly `n` servers and their root volumes:
/// deletes of replaced or duplicate VMs complete in the background.
async fn settles_at(h: &Harness, n: usize) -> BTreeMap<String, Vec<String>> {
    let user = h.sim.backend().users()[0].uuid.clone();
    for _ in 0..100 {
        let slots = servers_by_slot(h);
        let servers: usize = slots.values().map(Vec::len).sum();
        if servers == n && h.sim.backend().volume_count(&user) == n {
            return slots;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    servers_by_slot(h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_under_faults_on_every_endpoint_ends_with_exactly_its_vms() {
    for seed in [1, 2, 3] {
        let faulty = FaultRule {
            error_rate: 0.10,
            drop_rate: 0.05,
            lost_reply_rate: 0.03,
            ..Default::default()
        };
        // Creates lose their replies more often, so unclear creates surely happen.
        let creates = FaultRule {
            lost_reply_rate: 0.2,
            ..faulty.clone()
        };
        let h = Harness::with_config(SimConfig {
            timings: fast_timings(),
            seed,
            faults: FaultConfig {
                global: faulty,
                per_endpoint: [("POST /compute/v2.0/servers".to_string(), creates)].into(),
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        let run = format!("chaos{seed}");
        let r = deploy::deploy(&h.client, &plan(30), &run, &opts(), Arc::new(Quiet))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
        assert_eq!(r.vms.len(), 30, "seed {seed}");
        assert!(r.vms.iter().all(|d| d.vm.state == VmState::Running));
        let slots = settles_at(&h, 30).await;
        assert_eq!(slots.len(), 30, "seed {seed}: every slot filled: {slots:?}");
        for (slot, statuses) in &slots {
            assert_eq!(
                statuses,
                &["ACTIVE"],
                "seed {seed}: slot {slot} once, running"
            );
        }
        let user = h.sim.backend().users()[0].uuid.clone();
        assert_eq!(
            h.sim.backend().volume_count(&user),
            30,
            "seed {seed}: no stray volume"
        );
        // Creates were refused or lost, and none was repeated blindly: still one VM per slot.
        let posts = h.sim.request_counts()["POST /compute/v2.0/servers"];
        assert!(posts > 30, "seed {seed}: {posts} creates");
        // The faults really happened, and the retries are counted.
        let metrics = h.runtime.metrics().render();
        assert!(
            metrics.contains("connector_call_retries_total"),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn vms_that_go_to_error_are_replaced_within_the_budget() {
    let h = Harness::new().await;
    h.sim.backend().fail_next_builds(2);
    let r = deploy::deploy(&h.client, &plan(6), "replace1", &opts(), Arc::new(Quiet))
        .await
        .unwrap();
    assert_eq!(r.vms.len(), 6);
    let slots = settles_at(&h, 6).await;
    assert_eq!(slots.len(), 6, "{slots:?}");
    assert!(slots.values().all(|s| s == &["ACTIVE"]), "{slots:?}");
}

#[tokio::test]
async fn a_run_whose_replacements_run_out_fails_naming_every_failed_vm() {
    let h = Harness::new().await;
    h.sim.backend().fail_builds_named("chaos-db-1");
    let e = deploy::deploy(&h.client, &plan(6), "replace2", &opts(), Arc::new(Quiet))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert_eq!(
        msg.matches("chaos-db-1").count(),
        3,
        "three attempts named: {msg}"
    );
    assert!(
        msg.contains("error state (ERROR: Image customization failed"),
        "the cloud's reason: {msg}"
    );
    assert!(msg.contains("removed the"), "{msg}");
    assert!(settles_at(&h, 0).await.is_empty(), "nothing left behind");
}

#[tokio::test]
async fn run_image_adopts_the_vm_of_a_create_whose_reply_was_lost() {
    let lost = FaultRule {
        lost_reply_rate: 1.0,
        ..Default::default()
    };
    let h = Harness::with_config(SimConfig {
        timings: fast_timings(),
        faults: FaultConfig::only("POST /compute/v2.0/servers", lost),
        ..Default::default()
    })
    .await;
    let spec = connector_runtime::bindings::types::VmSpec {
        size: connector_runtime::bindings::types::Size::Flavor("C1R1024D10ext_vlmc".into()),
        ..e2e_tests::vm_spec("lost-reply")
    };
    let req = connector_runtime::orchestrate::RunRequest {
        spec,
        wait: true,
        poll: Poll::new(Duration::from_millis(100), Duration::from_secs(30)),
        keep_on_failure: false,
        configure: None,
        run_id: None,
    };
    let (vm, _run) = connector_runtime::orchestrate::run_image(&h.client, req)
        .await
        .unwrap();
    assert_eq!(vm.state, VmState::Running);
    let slots = settles_at(&h, 1).await;
    assert_eq!(slots.values().map(Vec::len).sum::<usize>(), 1, "{slots:?}");
    assert_eq!(h.sim.request_counts()["POST /compute/v2.0/servers"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_orchestrator_is_refused_while_the_first_drives_the_run() {
    let h = Harness::with_config(SimConfig {
        timings: okeanos_sim::Timings {
            build: Duration::from_secs(3),
            ..fast_timings()
        },
        ..Default::default()
    })
    .await;
    let first = {
        let client = h.client.clone();
        tokio::spawn(async move {
            deploy::deploy(&client, &plan(6), "leased", &opts(), Arc::new(Quiet)).await
        })
    };
    // Bounded wait until the first orchestrator has written its lease.
    let leased = || {
        h.sim
            .backend()
            .snapshot()
            .servers
            .values()
            .any(|s| s.metadata.contains_key("slipstream.lease"))
    };
    for _ in 0..200 {
        if leased() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(leased(), "the first orchestrator holds a lease");
    let resume = DeployOptions {
        resume: true,
        ..opts()
    };
    let e = deploy::deploy(&h.client, &plan(6), "leased", &resume, Arc::new(Quiet))
        .await
        .unwrap_err();
    assert!(
        e.is::<connector_runtime::orchestrate::lease::LeaseHeld>(),
        "{e:#}"
    );
    assert!(format!("{e:#}").contains("another orchestrator"), "{e:#}");
    // The refused one touched nothing: the first finishes with exactly its VMs.
    let r = first.await.unwrap().unwrap();
    assert_eq!(r.vms.len(), 6);
    let slots = settles_at(&h, 6).await;
    assert!(slots.values().all(|s| s == &["ACTIVE"]), "{slots:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_is_repeated_no_sooner_than_the_cloud_asked() {
    let h = Harness::new().await;
    let busy = FaultRule {
        error_rate: 1.0,
        retry_after_s: 1,
        ..Default::default()
    };
    h.sim
        .faults()
        .set(FaultConfig::only("GET /compute/v2.0/flavors", busy));
    let faults = h.sim.faults();
    let recover = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.set(FaultConfig::default());
    });
    let started = std::time::Instant::now();
    let flavors = h.client.list_flavors().await.unwrap();
    assert!(!flavors.is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    recover.await.unwrap();
    // Without the header the back-off (100 ms doubling) would have tried 4–5 times by then.
    let gets = h.sim.request_counts()["GET /compute/v2.0/flavors/detail"];
    assert!(gets <= 3, "{gets} attempts in about 1.5 s");
}

/// A simulator with the fault mix on every endpoint.
async fn faulty_sim(seed: u64) -> Harness {
    Harness::with_config(SimConfig {
        timings: fast_timings(),
        seed,
        faults: FaultConfig {
            global: FaultRule {
                error_rate: 0.10,
                drop_rate: 0.05,
                lost_reply_rate: 0.03,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_failed_vms_are_replaced_and_a_run_too_big_for_the_quota_is_refused() {
    for seed in [4, 5] {
        let h = faulty_sim(seed).await;
        h.sim.backend().fail_next_builds(2);
        let r = deploy::deploy(
            &h.client,
            &plan(12),
            &format!("rf{seed}"),
            &opts(),
            Arc::new(Quiet),
        )
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
        assert_eq!(r.vms.len(), 12);
        let slots = settles_at(&h, 12).await;
        assert_eq!(slots.len(), 12, "seed {seed}: {slots:?}");
        assert!(
            slots.values().all(|s| s == &["ACTIVE"]),
            "seed {seed}: {slots:?}"
        );

        let h = faulty_sim(seed).await;
        h.sim.backend().set_default_quota(okeanos_sim::QuotaLimits {
            vms: 3,
            ..Default::default()
        });
        let e = deploy::deploy(
            &h.client,
            &plan(6),
            &format!("rq{seed}"),
            &opts(),
            Arc::new(Quiet),
        )
        .await
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("has 3 VMs left"),
            "seed {seed}: {e:#}"
        );
        assert!(
            !h.sim
                .request_counts()
                .contains_key("POST /compute/v2.0/servers"),
            "seed {seed}: nothing was created"
        );
    }
}
