//! Host benchmark: what a connector call costs and how a deployment scales, against the
//! in-process simulator over real HTTP. Release builds only (debug is 10–20× slower):
//!
//! ```sh
//! cargo run --release -p connector-host --example host_bench
//! ```

use connector_host::deployment::{self, Format};
use connector_host::ops::inputs::NoLocalFiles;
use connector_runtime::bindings::types::Size;
use connector_runtime::client::Client;
use connector_runtime::digest::digest;
use connector_runtime::engine::{ConnectorSpec, EngineSettings, Runtime};
use connector_runtime::orchestrate::deploy::{self, DeployOptions, Quiet};
use connector_runtime::orchestrate::wait::Poll;
use connector_runtime::policy::{EgressPolicy, Limits};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = okeanos_sim::spawn(
        okeanos_sim::SimConfig {
            timings: okeanos_sim::Timings::uniform(Duration::from_millis(500)),
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    // Room for 100-VM runs back to back (quota is released when a delete completes).
    sim.backend().set_default_quota(okeanos_sim::QuotaLimits {
        vms: 1000,
        cpus: 1000,
        ram_mib: 1 << 20,
        disk_gib: 1 << 20,
        ..Default::default()
    });
    let runtime = Runtime::new(EngineSettings::default())?;
    let started = Instant::now();
    let component = runtime.compile(connector_host::OKEANOS_CONNECTOR)?;
    println!("compile the okeanos component: {:?}", started.elapsed());
    let spec = ConnectorSpec {
        name: "okeanos".into(),
        config: BTreeMap::from([
            ("auth_url".to_string(), sim.auth_url()),
            ("token".to_string(), sim.token()),
        ]),
        secret_keys: vec!["token".into()],
        egress: EgressPolicy::parse(&[format!("http://{}", sim.addr())])?,
        tls: Default::default(),
        limits: Limits::default(),
    };
    let client = Client::new(runtime.prepare(
        &component,
        spec,
        digest(connector_host::OKEANOS_CONNECTOR),
    )?);
    client.list_flavors().await?; // authenticates once; the catalog is cached from now on

    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        client.info().await?;
    }
    let per = t.elapsed() / n;
    println!("info (fresh instance, no network): {per:?} per call");

    let vm = client
        .create_vm(connector_runtime::bindings::types::VmSpec {
            name: "bench".into(),
            image: "CELAR-Ubuntu-14.04-LTS".into(),
            size: Size::Flavor("C1R1024D10ext_vlmc".into()),
            ssh_keys: vec![],
            files: vec![],
            user_data: None,
            volatile_disk_gb: None,
            tags: vec![],
            project: None,
        })
        .await?;
    let t = Instant::now();
    for _ in 0..n {
        client.get_vm(vm.id.clone()).await?;
    }
    println!(
        "get-vm (fresh instance + one HTTP GET + JSON): {:?} per call",
        t.elapsed() / n
    );

    let tasks = 8;
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (c, id) = (client.clone(), vm.id.clone());
        set.spawn(async move {
            for _ in 0..n / tasks {
                c.get_vm(id.clone()).await.expect("get-vm");
            }
        });
    }
    while set.join_next().await.is_some() {}
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("get-vm with {tasks} calls in flight: {rate:.0} calls/s");

    // A bad day's faults on every endpoint, for the last run.
    let faulty = okeanos_sim::FaultConfig {
        global: okeanos_sim::FaultRule {
            error_rate: 0.10,
            drop_rate: 0.05,
            lost_reply_rate: 0.03,
            ..Default::default()
        },
        ..Default::default()
    };
    for (count, faults) in [(10, None), (50, None), (100, None), (50, Some(faulty))] {
        let under_faults = faults.is_some();
        if let Some(f) = faults {
            sim.faults().set(f);
        }
        let text = format!(
            "name = \"bench{count}\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"w\"\ncount = {count}\n"
        );
        let draft = deployment::parse(&text, Format::Toml, std::path::Path::new("."))?;
        let plan = connector_host::ops::deploy::plan(&draft, &NoLocalFiles)?;
        sim.reset_request_counts();
        let opts = DeployOptions {
            concurrency: 64,
            poll: Poll::new(Duration::from_millis(500), Duration::from_secs(120)),
            keep_on_failure: false,
            replace_failed: 2,
            resume: false,
            lease_ttl: Duration::from_secs(60),
            configure: None,
        };
        let t = Instant::now();
        let run_id = format!("bench{count}{}", if under_faults { "f" } else { "" });
        let r = deploy::deploy(&client, &plan, &run_id, &opts, Arc::new(Quiet)).await?;
        let took = t.elapsed();
        let counts = sim.request_counts();
        let lists = counts
            .get("GET /compute/v2.0/servers/detail")
            .copied()
            .unwrap_or(0);
        let requests = sim.request_count();
        println!(
            "deploy {count} VMs (0.5 s builds{}): {took:.2?}, {requests} requests ({:.2} per VM), {lists} list calls",
            if under_faults {
                "; 10% 503s, 5% dropped, 3% lost replies"
            } else {
                ""
            },
            requests as f64 / count as f64
        );
        assert_eq!(r.vms.len(), count);
        sim.faults().set(okeanos_sim::FaultConfig::default());
        connector_runtime::orchestrate::cleanup_run(&client, &run_id, opts.poll).await?;
    }
    println!("reproduce: cargo run --release -p connector-host --example host_bench");
    sim.shutdown().await;
    Ok(())
}
