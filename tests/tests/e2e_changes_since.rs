//! Polling with Synnefo's `changes-since`: after its first listing a deployment asks only
//! for what changed, the cloud answers 304 when nothing did, and a VM deleted meanwhile is
//! seen gone. Counted through the simulator's own request counters, never the connector.

use connector_host::config::{OrchestrationConfig, SshConfig};
use connector_host::deployment::{self, Format};
use connector_host::ops::Ctx;
use connector_host::ops::inputs::NoLocalFiles;
use connector_host::ops::vms::TerminateRequest;
use connector_host::recipes::SshContext;
use connector_runtime::bindings::types::{Size, VmSpec, VmState};
use connector_runtime::orchestrate::deploy::{self, DeployOptions, Quiet};
use connector_runtime::orchestrate::wait::Poll;
use connector_runtime::orchestrate::{TAG_RUN, tag};
use e2e_tests::Harness;
use okeanos_sim::Timings;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const LISTING: &str = "GET /compute/v2.0/servers/detail";

fn plan(vms: u32) -> deploy::DeploymentPlan {
    let text = format!(
        "name = \"poll\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"w\"\ncount = {vms}\n"
    );
    let draft = deployment::parse(&text, Format::Toml, Path::new(".")).unwrap();
    connector_host::ops::deploy::plan(&draft, &NoLocalFiles).unwrap()
}

fn opts() -> DeployOptions {
    DeployOptions {
        concurrency: 16,
        poll: Poll::new(Duration::from_millis(300), Duration::from_secs(60)),
        keep_on_failure: false,
        replace_failed: 2,
        resume: false,
        lease_ttl: Duration::from_secs(60),
        configure: None,
    }
}

/// A simulator whose VMs take `build` to build (everything else is quick).
async fn harness(build: Duration) -> Harness {
    Harness::with_timings(Timings {
        build,
        ..e2e_tests::fast_timings()
    })
    .await
}

/// (listings, listings that carried `changes-since`, their 304s).
fn listings(h: &Harness) -> (u64, u64, u64) {
    let all = h.sim.request_counts().get(LISTING).copied().unwrap_or(0);
    let since = h
        .sim
        .changes_since_counts()
        .get(LISTING)
        .copied()
        .unwrap_or_default();
    (all, since.requests, since.not_modified)
}

#[tokio::test]
async fn a_deployment_lists_in_full_once_then_only_what_changed() {
    let h = harness(Duration::from_millis(1500)).await;
    h.sim.reset_request_counts();
    let r = deploy::deploy(&h.client, &plan(5), "poll1", &opts(), Arc::new(Quiet))
        .await
        .unwrap();
    assert_eq!(r.vms.len(), 5);
    assert!(r.vms.iter().all(|d| d.vm.state == VmState::Running));
    assert!(r.vms.iter().all(|d| !d.vm.ipv4.is_empty()), "{:?}", r.vms);
    let (all, since, _) = listings(&h);
    assert!(all >= 2, "the build outlasts a poll: {all} listings");
    assert_eq!(
        all - since,
        1,
        "one full listing, the first: {all} listings"
    );
}

#[tokio::test]
async fn a_listing_of_changes_is_empty_when_nothing_changed_and_names_a_deleted_vm() {
    let h = harness(Duration::from_millis(150)).await;
    let run = vec![tag(TAG_RUN, "poll2")];
    let vm = h
        .client
        .create_vm(VmSpec {
            name: "watched".into(),
            image: "CELAR-Ubuntu-14.04-LTS".into(),
            size: Size::Flavor("C1R1024D10ext_vlmc".into()),
            ssh_keys: vec![],
            files: vec![],
            user_data: None,
            volatile_disk_gb: None,
            tags: run.clone(),
            project: None,
        })
        .await
        .unwrap();
    // The token starts up to three seconds before its listing (the Date's truncated second,
    // the round trip, the overlap): list once the VM has been quiet for longer than that.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let first = h.client.list_vms_changed(run.clone(), None).await.unwrap();
    assert!(first.full && first.gone.is_empty());
    assert_eq!(first.vms.len(), 1);
    assert_eq!(first.vms[0].state, VmState::Running);
    let a = first.as_of.expect("the simulator's answers carry a Date");

    h.sim.reset_request_counts();
    let quiet = h
        .client
        .list_vms_changed(run.clone(), Some(a.clone()))
        .await
        .unwrap();
    assert!(
        !quiet.full && quiet.vms.is_empty() && quiet.gone.is_empty(),
        "{a}: {quiet:?}"
    );
    assert_eq!(listings(&h), (1, 1, 1), "one listing, answered 304");
    let b = quiet.as_of.expect("a 304 carries a Date too");
    assert!(b >= a, "the token never goes back: {a} then {b}");

    h.client.delete_vm(vm.id.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = h.client.list_vms_changed(run, Some(b)).await.unwrap();
    assert!(!after.full && after.vms.is_empty());
    assert_eq!(after.gone, vec![vm.id]);
}

#[tokio::test]
async fn a_token_the_cloud_refuses_gives_a_full_listing() {
    let h = harness(Duration::from_millis(150)).await;
    h.sim.reset_request_counts();
    let old = "2020-01-01T00:00:00Z".to_string();
    let listed = h.client.list_vms_changed(vec![], Some(old)).await.unwrap();
    assert!(listed.full && listed.as_of.is_some());
    assert_eq!(
        listings(&h),
        (2, 1, 0),
        "refused as too old, then listed in full"
    );
}

/// Deletes one VM of the run as soon as its first listing is done (the run then waits).
struct DeletesOne(connector_runtime::client::Client, &'static str);

impl deploy::Observer for DeletesOne {
    fn phase(&self, phase: &str) {
        if phase == "waiting for VMs to run" {
            let (client, run) = (self.0.clone(), self.1);
            tokio::spawn(async move {
                let vms = client.list_vms(vec![tag(TAG_RUN, run)]).await.unwrap();
                client.delete_vm(vms[0].id.clone()).await.unwrap();
            });
        }
    }
}

#[tokio::test]
async fn a_vm_deleted_behind_the_runs_back_is_seen_in_a_listing_of_changes() {
    let h = harness(Duration::from_secs(4)).await;
    h.sim.reset_request_counts();
    let observer = Arc::new(DeletesOne(h.client.clone(), "poll3"));
    let e = deploy::deploy(&h.client, &plan(3), "poll3", &opts(), observer)
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("disappeared while the deployment waited"),
        "{msg}"
    );
    // The VM went after the run's one full listing: a listing of changes showed it gone.
    let (_, since, _) = listings(&h);
    assert!(since >= 1, "{since} listings of changes");
}

/// A configuration step that only takes its time.
#[derive(Debug)]
struct SlowConfigure(Duration);

impl connector_runtime::orchestrate::configure::Configure for SlowConfigure {
    fn configure<'a>(
        &'a self,
        _run_id: &'a str,
        _vms: &'a [deploy::DeployedVm],
    ) -> connector_runtime::orchestrate::configure::ConfigureFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn the_lease_renewals_of_a_long_configuration_list_only_what_changed() {
    let h = harness(Duration::from_millis(300)).await;
    h.sim.reset_request_counts();
    let opts = DeployOptions {
        // Renewed every 200 ms while the 1.5 s configuration runs.
        lease_ttl: Duration::from_millis(600),
        configure: Some(Arc::new(SlowConfigure(Duration::from_millis(1500)))),
        ..opts()
    };
    let r = deploy::deploy(&h.client, &plan(3), "poll-cfg", &opts, Arc::new(Quiet))
        .await
        .unwrap();
    assert_eq!(r.vms.len(), 3);
    let (all, since, _) = listings(&h);
    assert!(
        all >= 4,
        "the lease was looked at while configuring: {all} listings"
    );
    assert_eq!(
        all - since,
        1,
        "only the first listing is full: {all} listings"
    );
}

/// A run of 4 VMs whose deletions outlast several polls, with the request counts reset: the
/// harness and the VMs' ids.
async fn run_with_slow_deletions(run: &str) -> (Harness, Vec<u64>) {
    let h = Harness::with_timings(Timings {
        delete: Duration::from_millis(1500),
        ..e2e_tests::fast_timings()
    })
    .await;
    let r = deploy::deploy(&h.client, &plan(4), run, &opts(), Arc::new(Quiet))
        .await
        .unwrap();
    h.sim.reset_request_counts();
    let ids = r.vms.iter().map(|d| d.vm.id.parse().unwrap()).collect();
    (h, ids)
}

/// The wait ended only once every VM was DELETED, and only the listing that found them was
/// a full one.
fn assert_deleted_after_one_full_listing(h: &Harness, ids: &[u64]) {
    for &id in ids {
        assert_eq!(
            h.sim.backend().server_status(id).as_deref(),
            Some("DELETED"),
            "the wait ended before VM {id} was gone"
        );
    }
    let (all, since, _) = listings(h);
    assert!(since >= 1, "the wait polled more than once: {all} listings");
    assert_eq!(all - since, 1, "one full listing: {all} listings");
}

#[tokio::test]
async fn cleaning_up_a_run_waits_on_listings_of_changes() {
    let (h, ids) = run_with_slow_deletions("poll-clean").await;
    let poll = Poll::new(Duration::from_millis(200), Duration::from_secs(60));
    let n = connector_runtime::orchestrate::cleanup_run(&h.client, "poll-clean", poll)
        .await
        .unwrap();
    assert_eq!(n, 4);
    assert_deleted_after_one_full_listing(&h, &ids);
}

#[tokio::test]
async fn terminating_a_run_waits_on_listings_of_changes() {
    let (h, ids) = run_with_slow_deletions("poll-term").await;
    let runs = tempfile::tempdir().unwrap();
    let ssh = SshConfig {
        runs_dir: Some(runs.path().to_path_buf()),
        ..Default::default()
    };
    let ctx = Ctx {
        client: h.client.clone(),
        orchestration: OrchestrationConfig {
            poll_interval: Duration::from_millis(200),
            ..Default::default()
        },
        local: Arc::new(NoLocalFiles),
        ssh: Arc::new(SshContext::new(&ssh, None).unwrap()),
    };
    let request = TerminateRequest {
        vm_ids: vec![],
        run_id: Some("poll-term".into()),
        no_wait: false,
        timeout: Some(Duration::from_secs(60)),
    };
    let done = connector_host::ops::vms::terminate(&ctx, request)
        .await
        .unwrap();
    assert_eq!(done.terminated.len(), 4);
    assert_deleted_after_one_full_listing(&h, &ids);
}
