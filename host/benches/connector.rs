//! What a connector call costs next to the same Synnefo calls made by plain Rust, how a
//! deployment scales, what a hot swap costs under load, and how `serve` copes with 1,000 calls
//! waiting on a slow cloud. The simulator runs in-process on a real socket; every figure in the
//! closing table is measured in this run.
//!
//! ```sh
//! cargo bench -p connector-host --bench connector              # everything (~5 min)
//! cargo bench -p connector-host --bench connector -- get-vm    # the groups whose name matches
//! ```
//!
//! The short groups are criterion benchmarks (medians in the table); the long scenarios
//! (deployments, 1,000 concurrent views) are single timed runs, and only run under
//! `cargo bench` (`cargo test --benches` runs each criterion group once and skips them).

use connector_host::config::{HostConfig, OrchestrationConfig};
use connector_host::deployment::{self, Format};
use connector_host::ops::inputs::NoLocalFiles;
use connector_host::serve::{self, ServerState};
use connector_runtime::bindings::types::{Size, VmSpec};
use connector_runtime::cache::CompileCache;
use connector_runtime::client::Client;
use connector_runtime::digest::digest;
use connector_runtime::engine::{Connector, ConnectorSpec, EngineSettings, Runtime};
use connector_runtime::orchestrate::deploy::{self, DeployOptions, Quiet};
use connector_runtime::orchestrate::wait::Poll;
use connector_runtime::orchestrate::{TAG_RUN, cleanup_run, tag};
use connector_runtime::policy::{EgressPolicy, Limits};
use connector_runtime::registry::{Registry, SwapOutcome};
use criterion::Criterion;
use okeanos_sim::{FaultConfig, FaultRule, QuotaLimits, RunningSim, SimConfig, Timings};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

const IMAGE: &str = "CELAR-Ubuntu-14.04-LTS";
const FLAVOR: &str = "C1R1024D10ext_vlmc";
/// The simulator's build time for the calls and the plain deployments.
const BUILD: Duration = Duration::from_millis(500);
const LIST_KEY: &str = "GET /compute/v2.0/servers/detail";
const USER: &str = "bench-user-token-0123456789";

/// Set in the child process that runs `serve` alone, so that its RSS is the host's only.
const SERVE_CHILD: &str = "CONNECTOR_BENCH_SERVE_CONFIG";

fn main() {
    if let Some(config) = std::env::var_os(SERVE_CHILD) {
        return serve_child(PathBuf::from(config));
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes --bench; `cargo test --benches` does not (criterion's test mode).
    let bench_mode = args.iter().any(|a| a == "--bench");
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let criterion_dir = criterion_dir();
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .output_directory(&criterion_dir)
        .configure_from_args();
    let mut report = Report::default();

    let world = rt
        .block_on(World::start(&mut report))
        .expect("the bench world starts");
    let get_vm_split = calls(&mut c, &rt, &world);
    hot_swap(&mut c, &rt, &world, &mut report);
    c.final_summary();
    let est = Estimates {
        dir: criterion_dir,
        since: started,
    };
    call_rows(&est, get_vm_split, &mut report);

    if bench_mode {
        rt.block_on(async {
            if wanted("deploy") {
                deploys(&world, &mut report).await.expect("deployments");
                deploy_slow_cloud(&world.runtime, &mut report)
                    .await
                    .expect("the deployment on a slow cloud");
            }
            if wanted("serve") {
                serve_views(&world.runtime, &mut report)
                    .await
                    .expect("1,000 concurrent VM views");
            }
        });
    } else {
        println!("(test mode: the long scenarios run only under `cargo bench`)");
    }
    rt.block_on(world.shutdown());
    report.print();
}

// ---------------------------------------------------------------------------------------------
// The world: a simulator, the component loaded through the runtime, a native client.

struct World {
    sim: RunningSim,
    runtime: Runtime,
    client: Client,
    /// The same connector in an engine that keeps no ready instances: each call instantiates.
    inline: Connector,
    native: Native,
    /// The floor of a `get-vm` over wasi:http: a component that makes the same request and
    /// nothing else (the test connector, mode `fetch`).
    floor: Client,
    registry: Arc<Registry>,
    /// The VM the get-vm benchmarks read (one of the 100 listed).
    vm_id: String,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(report: &mut Report) -> anyhow::Result<World> {
        let sim = okeanos_sim::spawn(
            SimConfig {
                timings: Timings::uniform(BUILD),
                ..Default::default()
            },
            "127.0.0.1:0".parse()?,
        )
        .await?;
        room_for(&sim, 5000);
        let dir = tempfile::tempdir()?;
        let runtime =
            Runtime::new(EngineSettings::default())?.with_cache(CompileCache::new(dir.path())?);
        let size = connector_host::OKEANOS_CONNECTOR.len();
        report.row(
            "component size (`guest/`, profile `guest`)",
            format!("{size} bytes ({} KiB)", size / 1024),
            Some(("≤ 400 KiB".into(), size <= 400 * 1024)),
        );
        let t = Instant::now();
        let component = runtime.compile(connector_host::OKEANOS_CONNECTOR)?;
        report.row(
            "compile the okeanos component (once; cached on disk afterwards)",
            fmt_duration(t.elapsed()),
            None,
        );
        let spec = sim_spec("okeanos", &sim)?;
        // As the host does for its embedded simulator: polls timed on the cloud's build time.
        runtime.build_clock("okeanos").seed(BUILD);
        let client = Client::new(runtime.prepare(
            &component,
            spec.clone(),
            digest(connector_host::OKEANOS_CONNECTOR),
        )?);
        client.list_flavors().await?; // authenticates once; the catalog is cached from now on
        let native = Native::connect(&sim).await?;
        let floor = Client::new(runtime.load(
            connector_artifacts::MISBEHAVING_CONNECTOR,
            floor_spec(&sim, &native)?,
        )?);
        let inline = Runtime::new(EngineSettings {
            warm_instances: 0,
            ..Default::default()
        })?
        .with_cache(CompileCache::new(dir.path())?)
        .load(connector_host::OKEANOS_CONNECTOR, spec.clone())?;

        // 100 servers to list (tagged as a run so that they go in one cleanup).
        let mut ids = Vec::new();
        for i in 0..100 {
            let mut spec = vm_spec(&format!("list-{i}"));
            spec.tags.push(tag(TAG_RUN, "list100"));
            ids.push(client.create_vm(spec).await?.id);
        }
        let registry = Arc::new(Registry::new(runtime.clone()));
        registry
            .insert(
                connector_host::OKEANOS_CONNECTOR,
                spec,
                "built-in".into(),
                None,
            )
            .await?;
        Ok(World {
            inline,
            vm_id: ids[0].clone(),
            sim,
            runtime,
            client,
            native,
            floor,
            registry,
            _dir: dir,
        })
    }

    async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// Room for 1,000-VM runs back to back (quota is released when a delete completes).
fn room_for(sim: &RunningSim, vms: u64) {
    sim.backend().set_default_quota(QuotaLimits {
        vms,
        cpus: vms * 4,
        ram_mib: vms << 12,
        disk_gib: vms << 6,
        ..Default::default()
    });
}

fn sim_spec(name: &str, sim: &RunningSim) -> anyhow::Result<ConnectorSpec> {
    Ok(ConnectorSpec {
        name: name.into(),
        config: BTreeMap::from([
            ("auth_url".to_string(), sim.auth_url()),
            ("token".to_string(), sim.token()),
        ]),
        secret_keys: vec!["token".into()],
        egress: EgressPolicy::parse(&[format!("http://{}", sim.addr())])?,
        tls: Default::default(),
        limits: Limits::default(),
    })
}

/// The test connector in mode `fetch`: its `get-vm(id)` is `GET {compute}/servers/{id}`.
fn floor_spec(sim: &RunningSim, native: &Native) -> anyhow::Result<ConnectorSpec> {
    let mut spec = sim_spec("floor", sim)?;
    spec.config = BTreeMap::from([
        ("mode".to_string(), "fetch".to_string()),
        (
            "fetch_url".to_string(),
            format!("{}/servers/", native.compute),
        ),
        ("token".to_string(), sim.token()),
    ]);
    Ok(spec)
}

fn vm_spec(name: &str) -> VmSpec {
    VmSpec {
        name: name.into(),
        image: IMAGE.into(),
        size: Size::Flavor(FLAVOR.into()),
        ssh_keys: vec![],
        files: vec![],
        user_data: None,
        volatile_disk_gb: None,
        tags: vec![],
        project: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The native baseline: the requests the guest makes, by plain Rust (reqwest + serde).

/// A kept-alive client that authenticates like the guest (POST tokens, the compute endpoint
/// from the catalog) and sends the guest's headers.
struct Native {
    http: reqwest::Client,
    compute: String,
    token: String,
}

#[derive(Deserialize)]
struct ServerRoot {
    #[allow(dead_code)]
    server: NativeServer,
}

#[derive(Deserialize)]
struct ServersRoot {
    servers: Vec<NativeServer>,
}

/// The fields the guest reads of a server (guest/src/protocol.rs `Server`).
#[allow(dead_code)]
#[derive(Deserialize)]
struct NativeServer {
    id: Value,
    name: Option<String>,
    status: Option<String>,
    #[serde(rename = "SNF:task_state")]
    task_state: Option<String>,
    progress: Option<Value>,
    created: Option<String>,
    flavor: Option<Value>,
    image: Option<Value>,
    metadata: Option<BTreeMap<String, Value>>,
    attachments: Option<Vec<NativeNic>>,
    addresses: Option<BTreeMap<String, Vec<NativeAddress>>>,
    volumes: Option<Vec<Value>>,
    diagnostics: Option<Vec<NativeDiagnostic>>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct NativeNic {
    ipv4: Option<String>,
    ipv6: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct NativeAddress {
    version: Option<u8>,
    addr: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct NativeDiagnostic {
    message: Option<String>,
    details: Option<String>,
}

impl Native {
    async fn connect(sim: &RunningSim) -> anyhow::Result<Native> {
        let http = reqwest::Client::new();
        let token = sim.token();
        let answer: Value = http
            .post(format!("{}/tokens", sim.auth_url()))
            .header("Accept", "application/json")
            .json(&serde_json::json!({"auth": {"token": {"id": token}}}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let compute = answer["access"]["serviceCatalog"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["type"] == "compute")
            .find_map(|s| s["endpoints"][0]["publicURL"].as_str())
            .ok_or_else(|| anyhow::anyhow!("no compute endpoint in the catalog"))?
            .trim_end_matches('/')
            .to_string();
        let compute = if compute.ends_with("/v2.0") {
            compute
        } else {
            format!("{compute}/v2.0")
        };
        Ok(Native {
            http,
            compute,
            token,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let bytes = self
            .http
            .get(format!("{}{path}", self.compute))
            .header("X-Auth-Token", &self.token)
            .header("Accept", "application/json")
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn get_server(&self, id: &str) -> anyhow::Result<ServerRoot> {
        self.get(&format!("/servers/{id}")).await
    }

    async fn list_servers(&self) -> anyhow::Result<usize> {
        Ok(self
            .get::<ServersRoot>("/servers/detail")
            .await?
            .servers
            .len())
    }
}

// ---------------------------------------------------------------------------------------------
// Criterion groups.

/// Runs the criterion groups; returns how the guest's `get-vm` calls split between waiting
/// for the cloud and the rest, by the runtime's own metrics.
fn calls(c: &mut Criterion, rt: &tokio::runtime::Runtime, w: &World) -> Option<Split> {
    let client = &w.client;
    let inline = &w.inline;
    c.bench_function("instantiate", |b| {
        b.to_async(rt).iter(|| async {
            inline
                .run("instantiate", |_, _| Box::pin(async { Ok(Ok(())) }))
                .await
                .expect("instantiate")
        })
    });
    // One call at a time, as a caller that is not saturating the machine sees it: each call
    // starts once the connector has its ready instances again, and only the call is timed.
    let ready = EngineSettings::default().warm_instances as usize;
    c.bench_function("info", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let give_up = Instant::now() + Duration::from_secs(1);
                while client.connector().ready_instances() < ready && Instant::now() < give_up {
                    tokio::task::yield_now().await;
                }
                let t = Instant::now();
                client.info().await.expect("info");
                timed += t.elapsed();
            }
            timed
        })
    });
    // Back to back, each call using up a ready instance: bound by how fast instances are made.
    c.bench_function("info-back-to-back", |b| {
        b.to_async(rt)
            .iter(|| async { client.info().await.expect("info") })
    });
    c.bench_function("info-inline", |b| {
        b.to_async(rt)
            .iter(|| async { inline.info().await.expect("info") })
    });

    let id = &w.vm_id;
    let mut g = c.benchmark_group("get-vm");
    let before = Split::of("get_vm", client);
    g.bench_function("guest", |b| {
        b.to_async(rt)
            .iter(|| async { client.get_vm(id.clone()).await.expect("get-vm") })
    });
    let split = Split::of("get_vm", client).since(before);
    g.bench_function("native", |b| {
        b.to_async(rt)
            .iter(|| async { w.native.get_server(id).await.expect("GET server") })
    });
    g.bench_function("floor", |b| {
        b.to_async(rt)
            .iter(|| async { w.floor.get_vm(id.clone()).await.expect("get-vm floor") })
    });
    g.bench_function("guest-8-in-flight", |b| {
        b.to_async(rt).iter(|| async {
            let calls = (0..8).map(|_| client.get_vm(id.clone()));
            for r in futures::future::join_all(calls).await {
                r.expect("get-vm");
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("list-100");
    g.bench_function("guest", |b| {
        b.to_async(rt).iter(|| async {
            let vms = client.list_vms(vec![]).await.expect("list-vms");
            assert_eq!(vms.len(), 100);
        })
    });
    g.bench_function("native", |b| {
        b.to_async(rt).iter(|| async {
            let n = w.native.list_servers().await.expect("GET servers/detail");
            assert_eq!(n, 100);
        })
    });
    g.finish();
    split
}

/// Totals of one operation's calls in the runtime's metrics: calls, their time, and the part
/// of it they waited for the cloud (`connector_call_cloud_wait_seconds`).
#[derive(Clone, Copy, Default)]
struct Split {
    calls: f64,
    took: f64,
    waited: f64,
}

impl Split {
    fn of(op: &str, client: &Client) -> Split {
        let text = client.connector().metrics().render();
        let sample = |name: &str| {
            let series = format!("connector_{name}{{connector=\"okeanos\",op=\"{op}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(series.as_str()))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        Split {
            calls: sample("call_duration_seconds_count"),
            took: sample("call_duration_seconds_sum"),
            waited: sample("call_cloud_wait_seconds_sum"),
        }
    }

    /// The calls made since `before`, if any.
    fn since(self, before: Split) -> Option<Split> {
        let calls = self.calls - before.calls;
        (calls > 0.0).then_some(Split {
            calls,
            took: self.took - before.took,
            waited: self.waited - before.waited,
        })
    }
}

/// Swaps between two builds of the component (the same code, one with an extra custom section,
/// so their digests differ; both compiled into the cache first) while 8 tasks call `get-vm`
/// through the registry without pause.
fn hot_swap(c: &mut Criterion, rt: &tokio::runtime::Runtime, w: &World, report: &mut Report) {
    let a = connector_host::OKEANOS_CONNECTOR.to_vec();
    let b = with_custom_section(&a, "bench", b"the same component, another digest");
    for bytes in [&a, &b] {
        w.runtime.compile(bytes).expect("compile into the cache");
    }
    let variants = [a, b];
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (registry, id) = (w.registry.clone(), w.vm_id.clone());
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let client = registry.client("okeanos").expect("the connector");
                    match client.get_vm(id.clone()).await {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("a call failed during the swaps: {e}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    let next = AtomicU64::new(1);
    let times = parking_lot::Mutex::new(Vec::<Duration>::new());
    c.benchmark_group("hot-swap")
        .sample_size(20)
        .bench_function("cached-component-8-calls-in-flight", |bench| {
            bench.to_async(rt).iter_custom(|iters| {
                let (registry, variants, next, times) = (&w.registry, &variants, &next, &times);
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize % 2;
                        let t = Instant::now();
                        let outcome = registry
                            .swap("okeanos", &variants[i], "bench".into())
                            .await
                            .expect("swap");
                        let took = t.elapsed();
                        assert!(matches!(outcome, SwapOutcome::Swapped { .. }));
                        times.lock().push(took);
                        total += took;
                    }
                    total
                }
            })
        });
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for task in load {
            task.await.expect("a load task");
        }
    });
    let times = times.into_inner();
    if times.is_empty() {
        return; // filtered out
    }
    let slowest = times.iter().max().copied().unwrap_or_default();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    report.swaps = Some(SwapStats {
        swaps: times.len(),
        slowest,
        calls_ok: ok,
        calls_failed: failed,
    });
}

/// `bytes` with a custom section appended (valid anywhere in a component).
fn with_custom_section(bytes: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = bytes.to_vec();
    out.push(0);
    leb(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------------------------
// Long scenarios: single timed runs.

fn deploy_options() -> DeployOptions {
    // The host's defaults ([orchestration]).
    let o = OrchestrationConfig::default();
    DeployOptions {
        concurrency: o.concurrency,
        poll: Poll::new(o.poll_interval, o.vm_timeout),
        keep_on_failure: false,
        replace_failed: o.replace_failed,
        resume: false,
        lease_ttl: o.lease_ttl,
        configure: None,
    }
}

struct Deployed {
    took: Duration,
    requests: u64,
    lists: u64,
    /// Of `lists`, those that asked only for what changed (`changes-since`), and of those,
    /// the ones answered 304 (nothing had).
    changes: okeanos_sim::metrics::ChangesSince,
}

impl Deployed {
    fn lists(&self) -> String {
        format!(
            "{} list calls ({} of them `changes-since`, {} answered 304)",
            self.lists, self.changes.requests, self.changes.not_modified
        )
    }
}

async fn deploy_once(
    client: &Client,
    sim: &RunningSim,
    count: usize,
    run_id: &str,
) -> anyhow::Result<Deployed> {
    let text = format!(
        "name = \"{run_id}\"\n[defaults]\nimage = \"{IMAGE}\"\nflavor = \"{FLAVOR}\"\n[[node]]\nname = \"w\"\ncount = {count}\n"
    );
    let draft = deployment::parse(&text, Format::Toml, std::path::Path::new("."))?;
    let plan = connector_host::ops::deploy::plan(&draft, &NoLocalFiles)?;
    let opts = deploy_options();
    sim.reset_request_counts();
    let t = Instant::now();
    let r = deploy::deploy(client, &plan, run_id, &opts, Arc::new(Quiet)).await?;
    let took = t.elapsed();
    let lists = sim.request_counts().get(LIST_KEY).copied().unwrap_or(0);
    let changes = sim
        .changes_since_counts()
        .remove(LIST_KEY)
        .unwrap_or_default();
    let requests = sim.request_count();
    anyhow::ensure!(r.vms.len() == count, "{} VMs, not {count}", r.vms.len());
    cleanup_run(client, run_id, opts.poll).await?;
    Ok(Deployed {
        took,
        requests,
        lists,
        changes,
    })
}

async fn deploys(w: &World, report: &mut Report) -> anyhow::Result<()> {
    // The 100 listed servers go first: every list call of a run reads all of the user's servers.
    cleanup_run(&w.client, "list100", deploy_options().poll).await?;
    for count in [1, 100, 1000] {
        let d = deploy_once(&w.client, &w.sim, count, &format!("bench{count}")).await?;
        println!(
            "deploy {count} VMs: {:.2?}, {} requests, {}",
            d.took,
            d.requests,
            d.lists()
        );
        report.row(
            &format!("deploy {count} VM(s), 0.5 s builds (poll seeded with 0.5 s), concurrency 64"),
            format!(
                "{}; {} requests = **{:.2} per VM**; {}",
                fmt_duration(d.took),
                d.requests,
                d.requests as f64 / count as f64,
                d.lists()
            ),
            None,
        );
    }
    // A bad day's faults on every endpoint.
    w.sim.faults().set(FaultConfig {
        global: FaultRule {
            error_rate: 0.10,
            drop_rate: 0.05,
            lost_reply_rate: 0.03,
            ..Default::default()
        },
        ..Default::default()
    });
    let faulty = deploy_once(&w.client, &w.sim, 50, "bench50f").await;
    w.sim.faults().set(FaultConfig::default());
    let d = faulty?;
    report.row(
        "deploy 50 VMs under 10% 503s, 5% dropped connections, 3% lost replies on every endpoint",
        format!(
            "{}; {} requests ({:.2} per VM); {}; exactly 50 VMs",
            fmt_duration(d.took),
            d.requests,
            d.requests as f64 / 50.0,
            d.lists()
        ),
        None,
    );
    Ok(())
}

/// One VM on a cloud that builds in 3 s and answers every request after 50 ms, the poll
/// seeded with the 3 s build time as the host seeds it for its embedded simulator.
async fn deploy_slow_cloud(runtime: &Runtime, report: &mut Report) -> anyhow::Result<()> {
    let build = Duration::from_secs(3);
    let sim = okeanos_sim::spawn(
        SimConfig {
            timings: Timings {
                build,
                ..Timings::uniform(BUILD)
            },
            faults: FaultConfig {
                global: FaultRule {
                    latency_ms: 50,
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let name = "okeanos-slow";
    runtime.build_clock(name).seed(build);
    let client =
        Client::new(runtime.load(connector_host::OKEANOS_CONNECTOR, sim_spec(name, &sim)?)?);
    client.list_flavors().await?; // authenticates once, as a host that has served before
    let goal = Duration::from_millis(3600);
    let mut runs = Vec::new();
    for i in 1..=3 {
        let d = deploy_once(&client, &sim, 1, &format!("slow{i}")).await?;
        println!(
            "deploy 1 VM, 3 s build, 50 ms latency, run {i}: {:.2?}, {} requests, {}",
            d.took,
            d.requests,
            d.lists()
        );
        runs.push(d);
    }
    let slowest = runs.iter().map(|d| d.took).max().unwrap_or_default();
    report.row(
        "deploy 1 VM, 3 s build + 50 ms latency on every request, poll seeded with 3 s (3 runs)",
        format!(
            "{}; list calls per run {} (`changes-since` {}); requests per run {}",
            runs.iter()
                .map(|d| fmt_duration(d.took))
                .collect::<Vec<_>>()
                .join(" / "),
            runs.iter()
                .map(|d| d.lists.to_string())
                .collect::<Vec<_>>()
                .join(" / "),
            runs.iter()
                .map(|d| d.changes.requests.to_string())
                .collect::<Vec<_>>()
                .join(" / "),
            runs.iter()
                .map(|d| d.requests.to_string())
                .collect::<Vec<_>>()
                .join(" / "),
        ),
        Some(("≤ 3.6 s".into(), slowest <= goal)),
    );
    sim.shutdown().await;
    Ok(())
}

/// 1,000 concurrent `GET /v1/connectors/okeanos/vms/{id}` to `serve` (two connector calls
/// each) while the simulator answers every request after 2 s.
async fn serve_views(runtime: &Runtime, report: &mut Report) -> anyhow::Result<()> {
    const VIEWS: usize = 1000;
    let sim = okeanos_sim::spawn(SimConfig::default(), "127.0.0.1:0".parse()?).await?;
    let dir = tempfile::tempdir()?;
    let config = format!(
        r#"
[cloud]
auth_url = "{auth}"
token = "{token}"
allowed_hosts = ["http://{addr}"]

[engine]
cache_dir = "{cache}"

[server]
user_tokens = ["{USER}"]
"#,
        auth = sim.auth_url(),
        token = sim.token(),
        addr = sim.addr(),
        cache = dir.path().join("cache").display(),
    );
    let config_file = dir.path().join("host.toml");
    std::fs::write(&config_file, &config)?;
    let mut child = ServeChild::start(&config_file)?;
    let base = child.base.clone();
    // The viewed VM, created through a connector of this process.
    let creator = Client::new(runtime.load(
        connector_host::OKEANOS_CONNECTOR,
        sim_spec("okeanos-views", &sim)?,
    )?);
    let vm = creator.create_vm(vm_spec("viewed")).await?.id;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/connectors/okeanos/vms/{vm}");
    // One view first: the connector authenticates and caches the catalog.
    let first = http.get(&url).bearer_auth(USER).send().await?;
    anyhow::ensure!(first.status() == 200, "the first view: {}", first.status());

    sim.faults().set(FaultConfig {
        global: FaultRule {
            latency_ms: 2000,
            ..Default::default()
        },
        ..Default::default()
    });
    let rss = RssWatch::start();
    child.command("reset")?;
    let t = Instant::now();
    let views: Vec<_> = (0..VIEWS)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let ok = match http.get(&url).bearer_auth(USER).send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    Ok(r) => {
                        eprintln!(
                            "a view answered {}: {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        );
                        false
                    }
                    Err(e) => {
                        eprintln!("a view failed: {e}");
                        false
                    }
                };
                (t.elapsed(), ok)
            })
        })
        .collect();
    let mut times = Vec::with_capacity(VIEWS);
    let mut failed = 0;
    for v in views {
        let (took, ok) = v.await?;
        times.push(took);
        failed += usize::from(!ok);
    }
    let wall = t.elapsed();
    let peak = rss.stop();
    let host_kib: u64 = child.command("report")?.parse()?;
    times.sort();
    let median = times[times.len() / 2];
    let slowest = *times.last().expect("views ran");
    println!(
        "{VIEWS} concurrent VM views, 2 s per cloud request: median {median:.2?}, slowest {slowest:.2?}, all done in {wall:.2?}, {failed} failed, peak RSS of serve {} MiB (of the bench process with the simulator and the clients: {} MiB)",
        host_kib >> 10,
        peak >> 10
    );
    let goal = Duration::from_secs(6);
    report.row(
        "1,000 concurrent `GET /v1/connectors/okeanos/vms/{id}` to `serve` (2 connector calls each), every cloud request answered after 2 s",
        format!(
            "median {}, slowest **{}**, {failed} failed",
            fmt_duration(median),
            fmt_duration(slowest)
        ),
        Some(("slowest ≤ 6 s, none failed".into(), slowest <= goal && failed == 0)),
    );
    report.row(
        "peak RSS of the `serve` process (a child process running only `serve`) during those views",
        format!(
            "{} MiB (VmHWM, reset before the views); the bench process with the simulator and the 1,000 clients: {} MiB",
            host_kib >> 10,
            peak >> 10
        ),
        Some(("≤ 256 MiB".into(), host_kib <= 256 << 10)),
    );
    child.command("stop")?;
    sim.shutdown().await;
    Ok(())
}
/// `serve` in a child process (this bench binary again, with [`SERVE_CHILD`] set), driven over
/// its standard input: `reset` resets its peak RSS, `report` prints it in KiB, `stop` ends it.
struct ServeChild {
    base: String,
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl ServeChild {
    fn start(config: &std::path::Path) -> anyhow::Result<ServeChild> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut process = Command::new(std::env::current_exe()?)
            .env(SERVE_CHILD, config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = process.stdin.take().expect("piped");
        let mut stdout = std::io::BufReader::new(process.stdout.take().expect("piped")).lines();
        let line = stdout
            .next()
            .ok_or_else(|| anyhow::anyhow!("the serve child ended before listening"))??;
        let base = line
            .strip_prefix("listening ")
            .ok_or_else(|| anyhow::anyhow!("the serve child said {line:?}"))?
            .to_string();
        Ok(ServeChild {
            base,
            process,
            stdin,
            stdout,
        })
    }

    /// Sends one command and returns the child's one-line answer.
    fn command(&mut self, what: &str) -> anyhow::Result<String> {
        use std::io::Write;
        writeln!(self.stdin, "{what}")?;
        self.stdin.flush()?;
        let answer = self
            .stdout
            .next()
            .ok_or_else(|| anyhow::anyhow!("the serve child ended on `{what}`"))??;
        if what == "stop" {
            self.process.wait()?;
        }
        Ok(answer)
    }
}

/// The child: `serve` on 127.0.0.1:0 with the configuration file `config`, until `stop`.
fn serve_child(config: PathBuf) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let text = std::fs::read_to_string(&config).expect("the configuration file");
        let config = HostConfig::parse(&text).expect("a valid configuration");
        let built = serve::build_registry(&config, None)
            .await
            .expect("the registry builds");
        let state = ServerState::new(built.registry.clone(), &config).expect("the server state");
        let listener = serve::bind("127.0.0.1:0").await.expect("a port");
        println!(
            "listening http://{}",
            listener.local_addr().expect("an address")
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve::serve_on(listener, state, async move {
            let _ = stopped.await;
        }));
        let commands = tokio::task::spawn_blocking(|| {
            for line in std::io::stdin().lines() {
                let line = line.unwrap_or_default();
                match line.trim() {
                    "reset" => {
                        let ok = std::fs::write("/proc/self/clear_refs", "5").is_ok();
                        println!("{}", if ok { "reset" } else { "cannot reset" });
                    }
                    "report" => println!("{}", status_kib("VmHWM").unwrap_or(0)),
                    _ => break,
                }
            }
        });
        let _ = commands.await;
        let _ = stop.send(());
        let _ = server.await;
        if let Some(sim) = built.simulator {
            sim.shutdown().await;
        }
        println!("stopped");
    });
}

/// The process's peak resident set over a stretch: the kernel's high-water mark (reset at the
/// start through /proc/self/clear_refs), and VmRSS sampled every 10 ms in case it cannot be reset.
struct RssWatch {
    reset: bool,
    sampling: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<u64>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let sampling = Arc::new(AtomicBool::new(true));
        let flag = sampling.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while flag.load(Ordering::Relaxed) {
                peak = peak.max(status_kib("VmRSS").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        });
        RssWatch {
            reset,
            sampling,
            sampler,
        }
    }

    /// The peak in KiB.
    fn stop(self) -> u64 {
        self.sampling.store(false, Ordering::Relaxed);
        let sampled = self.sampler.join().unwrap_or(0);
        match status_kib("VmHWM") {
            Some(hwm) if self.reset => hwm.max(sampled),
            _ => sampled,
        }
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The closing table.

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    swaps: Option<SwapStats>,
}

struct Row {
    what: String,
    figure: String,
    goal: Option<(String, bool)>,
}

struct SwapStats {
    swaps: usize,
    slowest: Duration,
    calls_ok: u64,
    calls_failed: u64,
}

impl Report {
    fn row(&mut self, what: &str, figure: String, goal: Option<(String, bool)>) {
        self.rows.push(Row {
            what: what.to_string(),
            figure,
            goal,
        });
    }

    fn print(&self) {
        println!("\n| what | figure | goal |\n|---|---|---|");
        for r in &self.rows {
            let goal = match &r.goal {
                Some((goal, true)) => format!("{goal}: met"),
                Some((goal, false)) => format!("{goal}: **missed**"),
                None => String::new(),
            };
            println!("| {} | {} | {goal} |", r.what, r.figure);
        }
        println!("\nreproduce: cargo bench -p connector-host --bench connector");
    }
}

/// Criterion's estimates of this run (files older than the run are not read).
struct Estimates {
    dir: PathBuf,
    since: SystemTime,
}

impl Estimates {
    /// The median of `id` (e.g. `get-vm/guest`).
    fn median(&self, id: &str) -> Option<Duration> {
        let path = self.dir.join(id).join("new/estimates.json");
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        if modified < self.since {
            return None;
        }
        let json: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let ns = json["median"]["point_estimate"].as_f64()?;
        Some(Duration::from_secs_f64(ns / 1e9))
    }
}

/// A row of criterion's median for `id`, if that group ran; the median, for rows built on it.
fn median_row(
    est: &Estimates,
    report: &mut Report,
    id: &str,
    what: &str,
    goal: Option<(&str, Duration)>,
) -> Option<Duration> {
    let d = est.median(id)?;
    let goal = goal.map(|(text, max)| (text.to_string(), d <= max));
    report.row(what, fmt_duration(d), goal);
    Some(d)
}

fn call_rows(est: &Estimates, get_vm_split: Option<Split>, report: &mut Report) {
    median_row(
        est,
        report,
        "instantiate",
        "instantiate inline: a fresh instance from `InstancePre` (admission, store, instance), no call",
        None,
    );
    median_row(
        est,
        report,
        "info",
        "`info` on a fresh instance (no network), one call at a time: one of the connector's ready instances, never called before, its replacement made in the background",
        Some(("≤ 30 µs", Duration::from_micros(30))),
    );
    median_row(
        est,
        report,
        "info-back-to-back",
        "`info` calls back to back, each on a fresh instance (bound by making instances: the ready ones are used up)",
        None,
    );
    median_row(
        est,
        report,
        "info-inline",
        "`info` on a fresh instance made inline (`[engine] warm_instances = 0`)",
        None,
    );
    let guest = median_row(
        est,
        report,
        "get-vm/guest",
        "`get-vm` through the guest: fresh instance + `GET /servers/{id}` + JSON (pooled connection)",
        None,
    );
    let native = median_row(
        est,
        report,
        "get-vm/native",
        "the same `GET /servers/{id}` by plain Rust (reqwest + serde, kept-alive client)",
        None,
    );
    if let (Some(g), Some(n)) = (guest, native) {
        let ratio = g.as_secs_f64() / n.as_secs_f64();
        report.row(
            "`get-vm` guest / native",
            format!("**{ratio:.2}×**"),
            Some(("≤ 1.3×".into(), ratio <= 1.3)),
        );
    }
    let floor = median_row(
        est,
        report,
        "get-vm/floor",
        "the floor: the same `GET /servers/{id}` through wasi:http by a component that does nothing else (test connector `artifacts/misbehaving`, mode `fetch`: no configuration, catalog, JSON or log line; a fresh instance)",
        None,
    );
    if let (Some(f), Some(n)) = (floor, native) {
        report.row(
            "`get-vm` floor / native: what one wasi:http request costs the sandbox before any connector code",
            format!("{:.2}×", f.as_secs_f64() / n.as_secs_f64()),
            None,
        );
    }
    if let Some(s) = get_vm_split {
        let per_call = |secs: f64| Duration::from_secs_f64(secs / s.calls);
        let (took, waited) = (per_call(s.took), per_call(s.waited));
        report.row(
            "`get-vm` through the guest, split by the runtime's metrics (`connector_call_duration_seconds`, `connector_call_cloud_wait_seconds`; means over the benchmark's calls): waiting for the cloud's answer, then the rest (instance, host calls, wasi:http, the guest's own code)",
            format!(
                "{} waiting + {} the rest ({:.0} % waiting)",
                fmt_duration(waited),
                fmt_duration(took.saturating_sub(waited)),
                100.0 * s.waited / s.took
            ),
            None,
        );
    }
    if let Some(d) = est.median("get-vm/guest-8-in-flight") {
        report.row(
            "`get-vm` through the guest, 8 calls in flight",
            format!("{:.0} calls/s", 8.0 / d.as_secs_f64()),
            None,
        );
    }
    let guest = median_row(
        est,
        report,
        "list-100/guest",
        "`list-vms` of 100 VMs through the guest (`GET /servers/detail`)",
        None,
    );
    let native = median_row(
        est,
        report,
        "list-100/native",
        "the same `GET /servers/detail` by plain Rust",
        None,
    );
    if let (Some(g), Some(n)) = (guest, native) {
        report.row(
            "list of 100 VMs guest / native",
            format!("{:.2}×", g.as_secs_f64() / n.as_secs_f64()),
            None,
        );
    }
    if let Some(s) = &report.swaps {
        let median = est.median("hot-swap/cached-component-8-calls-in-flight");
        let figure = format!(
            "median {}, slowest {} of {} swaps; {} calls ok, {} failed",
            median.map(fmt_duration).unwrap_or_else(|| "-".into()),
            fmt_duration(s.slowest),
            s.swaps,
            s.calls_ok,
            s.calls_failed
        );
        let met = median.is_some_and(|m| m <= Duration::from_millis(10)) && s.calls_failed == 0;
        report.row(
            "hot swap of a cached component with 8 `get-vm` calls in flight",
            figure,
            Some(("median ≤ 10 ms, no failed call".into(), met)),
        );
    }
}

fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else if d < Duration::from_secs(1) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Where criterion writes its estimates: `$CARGO_TARGET_DIR/criterion`, else the workspace's
/// `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion")
}
