//! The wasmtime side: one [`Runtime`] (engine + linker + epoch ticker) per process, one
//! [`Connector`] per loaded component, one fresh `Store` per call.
//!
//! A call can fail because the cloud said no ([`CallError::Cloud`]) or because the sandbox
//! stopped the guest (trap, panic, CPU budget, memory cap, wall-clock timeout). Either way the
//! error belongs to that call only: the instance is thrown away with its `Store`.

use crate::admission::{Admission, BUSY_RETRY_AFTER};
use crate::bindings::{CloudConnectorPre, types};
use crate::build_clock::BuildClock;
use crate::digest::digest;
use crate::error::{CallError, CloudError};
use crate::exports::Exports;
use crate::keyvalue::SharedKv;
use crate::policy::TlsSettings;
use crate::policy::{EgressPolicy, Limits};
use crate::state::HostState;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Linker, Lower,
};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};

/// How often the epoch advances: the granularity of the CPU budget.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine-wide settings: they bound every connector loaded into the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Instances alive at once: calls running across all connectors. A call holds its
    /// instance while it waits on the cloud, so this is how many cloud calls can be in flight.
    pub max_instances: u32,
    /// Calls that may wait for an instance beyond those; any more are refused at once
    /// ([`CallError::Busy`]) instead of queueing without bound.
    pub max_queued: u32,
    /// The largest linear memory any connector may get (per-connector limits are lower or equal).
    pub max_memory_bytes: usize,
    /// Fresh instances each connector keeps ready for its next calls (see [`crate::warm`]);
    /// 0 makes every call instantiate its own.
    pub warm_instances: u32,
}

/// Pool slots for ready instances, beyond the calls' own, across all connectors.
const WARM_RESERVE: u32 = 32;

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_instances: 1024,
            max_queued: 1024,
            max_memory_bytes: 256 << 20,
            warm_instances: 2,
        }
    }
}

/// The shared wasmtime machinery.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    settings: EngineSettings,
    /// Bounds calls running to the pool's size and calls waiting for it.
    admission: Arc<Admission>,
    /// The pool slots ready instances may hold.
    reserve: Arc<crate::warm::Reserve>,
    cache: Option<crate::cache::CompileCache>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Build times learned per connector name: they outlive hot swaps.
    build_clocks: Arc<parking_lot::Mutex<BTreeMap<String, Arc<BuildClock>>>>,
}

impl Runtime {
    pub fn new(settings: EngineSettings) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(&settings))
            .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        start_epoch_ticker(&engine);
        let mut linker = Linker::<HostState>::new(&engine);
        add_to_linker(&mut linker)
            .map_err(|e| anyhow::anyhow!("cannot set up the host capabilities: {e:#}"))?;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let admission = Admission::new(
            settings.max_instances as usize,
            settings.max_queued as usize,
            metrics.running.clone(),
            metrics.queued.clone(),
        );
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            admission: Arc::new(admission),
            reserve: crate::warm::Reserve::new(WARM_RESERVE as usize),
            settings,
            cache: None,
            metrics,
            build_clocks: Arc::default(),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// What the runtime has learned of the build times of connector `name`'s cloud.
    pub fn build_clock(&self, name: &str) -> Arc<BuildClock> {
        self.build_clocks
            .lock()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// Keeps precompiled components in `cache` from now on.
    pub fn with_cache(mut self, cache: crate::cache::CompileCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Compiles a component (wasm bytes) without loading it, through the cache if any.
    pub fn compile(&self, bytes: &[u8]) -> anyhow::Result<Component> {
        match &self.cache {
            Some(cache) => Ok(cache.get_or_compile(&self.engine, bytes)?.0),
            None => Component::new(&self.engine, bytes)
                .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}")),
        }
    }

    /// Links a compiled component against the host capabilities and checks it exports the
    /// `cloud-connector` world. Nothing of the guest runs yet.
    pub fn prepare(
        &self,
        component: &Component,
        spec: ConnectorSpec,
        digest: String,
    ) -> anyhow::Result<Connector> {
        let pre = self.linker.instantiate_pre(component).map_err(|e| {
            anyhow::anyhow!(
                "the component needs something the host does not provide (only wasi:http, wasi:config, wasi:keyvalue and basic WASI are offered): {e:#}"
            )
        })?;
        // The generated bindings type-check the whole world once here; calls then use only
        // the raw `InstancePre` and the export indices (see `exports`).
        CloudConnectorPre::new(pre.clone()).map_err(|e| {
            anyhow::anyhow!(
                "the component does not implement the slipstream:connector/cloud-connector world: {e:#}"
            )
        })?;
        let exports = Exports::new(&self.engine, component)?;
        if spec.limits.memory_bytes > self.settings.max_memory_bytes {
            anyhow::bail!(
                "connector `{}` asks for {} MiB of memory but the engine allows at most {} MiB",
                spec.name,
                spec.limits.memory_bytes >> 20,
                self.settings.max_memory_bytes >> 20
            );
        }
        // Built once: every call's store shares it.
        let config: WasiConfigVariables = spec
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let in_flight = self
            .metrics
            .in_flight
            .get_or_create(&crate::metrics::ConnectorLabels {
                connector: spec.name.clone(),
            })
            .clone();
        let secrets = spec.secrets();
        Ok(Connector {
            inner: Arc::new(ConnectorInner {
                name: Arc::from(spec.name.as_str()),
                digest,
                pre,
                exports,
                config: Arc::new(config),
                in_flight,
                ops: Default::default(),
                secrets,
                policy: Arc::new(spec.egress),
                http_client: crate::http_client::HttpClient::new(&spec.tls)
                    .map_err(|e| anyhow::anyhow!("connector `{}`: {e:#}", spec.name))?,
                limits: spec.limits,
                kv: SharedKv::default(),
                admission: self.admission.clone(),
                stock: crate::warm::Stock::new(
                    self.settings.warm_instances as usize,
                    self.reserve.clone(),
                ),
                build_clock: self.build_clock(&spec.name),
                engine: self.engine.clone(),
                metrics: self.metrics.clone(),
            }),
        })
    }

    /// Compile + prepare in one step.
    pub fn load(&self, bytes: &[u8], spec: ConnectorSpec) -> anyhow::Result<Connector> {
        let component = self.compile(bytes)?;
        self.prepare(&component, spec, digest(bytes))
    }
}

fn engine_config(settings: &EngineSettings) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    let n = settings.max_instances + WARM_RESERVE;
    pool.total_component_instances(n);
    // Every call and every background instantiation runs on a fiber stack from the pool
    // (wasmtime's default, 1,000, would refuse calls below the instance bound).
    pool.total_stacks(n);
    // A Rust component is one core module plus a few small shims.
    pool.total_core_instances(n * 8);
    pool.total_memories(n * 2);
    pool.total_tables(n * 8);
    pool.max_memories_per_component(4);
    pool.max_tables_per_component(16);
    pool.max_memory_size(settings.max_memory_bytes);
    // Each call's instance is dropped at its end. Resetting its slot with one `madvise` per
    // memory and per table costs a TLB shootdown on every core: a third of a fresh `info`
    // here. Tables are small enough to be cleared with `memset`; memories are, where the
    // kernel can list the pages a call dirtied (PAGEMAP_SCAN, Linux ≥ 6.7): those pages are
    // copied back and stay resident for the slot's next call.
    pool.table_keep_resident(KEEP_RESIDENT_TABLES);
    if pagemap_scan_supported() {
        pool.pagemap_scan(wasmtime::Enabled::Auto);
        pool.linear_memory_keep_resident(KEEP_RESIDENT_MEMORY);
    }
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The most a linear memory's slot keeps resident between calls: a VM view dirties ~100 KiB
/// of the guest's memory, a listing of hundreds of VMs about this much. Bounds the RSS of a
/// pool that has been busy to this times the calls that ran at once.
const KEEP_RESIDENT_MEMORY: usize = 1 << 20;
/// The same for tables: 2,048 entries (a Rust guest's tables hold a few hundred).
const KEEP_RESIDENT_TABLES: usize = 16 << 10;

/// Whether the kernel has the PAGEMAP_SCAN ioctl (Linux 6.7). Without it, wasmtime would
/// reset the whole kept-resident range with `memset`, slower than `madvise` for our guests.
fn pagemap_scan_supported() -> bool {
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    version >= (6, 7)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch thread");
}

/// One `add_to_linker` per capability the host offers; nothing else is importable.
fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi_config::add_to_linker(linker, |s| WasiConfig::from(&*s.config))?;
    crate::keyvalue::add_to_linker(linker, HostState::kv_view)?;
    Ok(())
}

/// What a connector is given: its configuration and its sandbox.
#[derive(Debug, Clone)]
pub struct ConnectorSpec {
    pub name: String,
    /// The wasi:config values (e.g. `auth_url`, `token`, `project`).
    pub config: BTreeMap<String, String>,
    /// Keys of `config` whose values are secret (redacted from anything the host prints).
    pub secret_keys: Vec<String>,
    pub egress: EgressPolicy,
    pub tls: TlsSettings,
    pub limits: Limits,
}

impl ConnectorSpec {
    fn secrets(&self) -> Vec<String> {
        self.secret_keys
            .iter()
            .filter_map(|k| self.config.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
            .collect()
    }
}

/// A loaded connector: compiled, linked, type-checked. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    name: Arc<str>,
    digest: String,
    pre: InstancePre<HostState>,
    exports: Exports,
    config: Arc<WasiConfigVariables>,
    /// This connector's metric handles, so that a call formats no label.
    in_flight: prometheus_client::metrics::gauge::Gauge,
    ops: parking_lot::RwLock<std::collections::HashMap<&'static str, OpMetrics>>,
    secrets: Vec<String>,
    policy: Arc<EgressPolicy>,
    http_client: crate::http_client::HttpClient,
    limits: Limits,
    kv: SharedKv,
    admission: Arc<Admission>,
    stock: crate::warm::Stock,
    build_clock: Arc<BuildClock>,
    engine: Engine,
    metrics: Arc<crate::metrics::Metrics>,
}

/// The metric handles of one operation (they share their values with the registry's).
#[derive(Clone)]
struct OpMetrics {
    calls: prometheus_client::metrics::counter::Counter,
    latency: prometheus_client::metrics::histogram::Histogram,
    cloud_wait: prometheus_client::metrics::histogram::Histogram,
}

/// A boxed guest-call future borrowing the store.
pub type GuestFuture<'a, T> =
    Pin<Box<dyn Future<Output = wasmtime::Result<Result<T, types::Error>>> + Send + 'a>>;

impl Connector {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// SHA-256 of the component's bytes.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn egress(&self) -> &EgressPolicy {
        &self.inner.policy
    }

    /// What the host has learned of this connector's cloud's VM build times.
    pub fn build_clock(&self) -> &BuildClock {
        &self.inner.build_clock
    }

    /// Fresh instances ready for this connector's next calls (see `[engine] warm_instances`).
    pub fn ready_instances(&self) -> usize {
        self.inner.stock.len()
    }

    /// The metrics of the runtime the connector was loaded into.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Replaces every secret (the token…) in `text` by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.inner.secrets)
    }

    /// Runs operation `op` of the connector interface (`get_vm` for WIT's `get-vm`, whose
    /// result is `result<T, error>`) with `params` in a fresh instance.
    pub async fn call<P, T>(&self, op: &'static str, params: P) -> Result<T, CallError>
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        T: Lift + Send + Sync + 'static,
    {
        let index = self.export(op)?;
        self.run(op, move |instance, store| {
            Box::pin(async move {
                let func =
                    instance.get_typed_func::<P, (Result<T, types::Error>,)>(&mut *store, index)?;
                Ok(func.call_async(&mut *store, params).await?.0)
            })
        })
        .await
    }

    fn export(&self, op: &'static str) -> Result<ComponentExportIndex, CallError> {
        self.inner
            .exports
            .get(op)
            .copied()
            .ok_or_else(|| CallError::Instantiate {
                connector: self.inner.name.to_string(),
                op,
                message: format!("the component exports no function for `{op}`"),
            })
    }

    /// Runs `f` on a fresh instance under the connector's limits: the sandbox, the
    /// admission bound, the metrics and the error classification every call shares.
    pub async fn run<T, F>(&self, op: &'static str, f: F) -> Result<T, CallError>
    where
        F: for<'a> FnOnce(Instance, &'a mut Store<HostState>) -> GuestFuture<'a, T>,
    {
        let inner = &*self.inner;
        let op_metrics = self.op_metrics(op);
        let in_flight = &inner.in_flight;
        in_flight.inc();
        // Decrements even if the caller drops this future midway.
        scopeguard::defer! { in_flight.dec(); }
        let _slot = inner.admission.enter().await.map_err(|busy| {
            self.count_error(op, "busy");
            CallError::Busy {
                connector: inner.name.to_string(),
                op,
                running: busy.running,
                queued: busy.queued,
                retry_after: BUSY_RETRY_AFTER,
            }
        })?;
        let limits = &inner.limits;
        let started = std::time::Instant::now();
        let (mut store, ready) = match inner.stock.take() {
            Some((mut store, instance)) => {
                // Counted from now, not from when the instance was made.
                store.data_mut().cpu_ticks = 0;
                store.set_epoch_deadline(1);
                (store, Some(instance))
            }
            None => (self.new_store(), None),
        };
        let incidents = store.data().hooks.incidents.clone();
        let waited = store.data().hooks.waited.clone();
        let result = tokio::time::timeout(limits.wall_time, async {
            let instance = match ready {
                Some(instance) => instance,
                None => inner.pre.instantiate_async(&mut store).await.map_err(|e| {
                    CallError::Instantiate {
                        connector: inner.name.to_string(),
                        op,
                        message: format!("{e:#}"),
                    }
                })?,
            };
            self.refill_later();
            f(instance, &mut store)
                .await
                .map_err(|trap| self.classify_trap(op, &store, trap))
        })
        .await;
        let outcome = match result {
            Err(_elapsed) => Err(CallError::Timeout {
                connector: inner.name.to_string(),
                op,
                limit: limits.wall_time,
            }),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Err(cloud))) => {
                let mut cloud = CloudError::from(cloud);
                cloud.message = self.redact(&cloud.message);
                cloud.message.push_str(&incidents.lock().advice());
                Err(CallError::Cloud(cloud))
            }
            Ok(Ok(Ok(value))) => Ok(value),
        };
        self.forward_stderr(op, &store);
        // Tearing the instance down (resetting its slot) is the background task's job when
        // there is room for it to wait.
        if let Some(store) = inner.stock.retire(store) {
            drop(store);
        } else {
            self.refill_later();
        }
        let elapsed = started.elapsed();
        let cloud_wait = Duration::from_nanos(waited.load(std::sync::atomic::Ordering::Relaxed));
        op_metrics.calls.inc();
        op_metrics.latency.observe(elapsed.as_secs_f64());
        op_metrics.cloud_wait.observe(cloud_wait.as_secs_f64());
        if let Err(e) = &outcome {
            self.count_error(op, e.label());
            if !matches!(e, CallError::Cloud(_)) {
                inner
                    .metrics
                    .traps
                    .get_or_create(&crate::metrics::ConnectorLabels {
                        connector: inner.name.to_string(),
                    })
                    .inc();
            }
        }
        match &outcome {
            Ok(_) => {
                tracing::debug!(connector = %inner.name, op, ?elapsed, ?cloud_wait, "call ok")
            }
            Err(e) => {
                tracing::debug!(connector = %inner.name, op, ?elapsed, ?cloud_wait, error = %e, "call failed")
            }
        }
        outcome
    }

    /// A store for one instance, under the connector's memory and CPU limits.
    fn new_store(&self) -> Store<HostState> {
        let inner = &*self.inner;
        let limits = &inner.limits;
        let cpu_ticks_max = (limits.cpu_time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let state = HostState::new(
            inner.name.clone(),
            inner.policy.clone(),
            inner.http_client.clone(),
            inner.config.clone(),
            inner.kv.clone(),
            limits.memory_bytes,
            cpu_ticks_max,
        );
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        // The deadline fires each tick the guest is *executing*; counting them measures CPU,
        // not time spent waiting on HTTP (the call's wall-clock timeout covers that).
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            state.cpu_ticks += 1;
            if state.cpu_ticks > state.cpu_ticks_max {
                state.cpu_exhausted = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Drops used stores and tops the connector's stock of ready instances up, in the
    /// background, unless there is nothing to do or that already runs.
    fn refill_later(&self) {
        if !self.inner.stock.begin_refill() {
            return;
        }
        let connector = self.clone();
        tokio::spawn(async move {
            let stock = &connector.inner.stock;
            loop {
                stock.drop_used();
                while let Some(slot) = stock.slot() {
                    let mut store = connector.new_store();
                    match connector.inner.pre.instantiate_async(&mut store).await {
                        Ok(instance) => stock.put(slot, store, instance),
                        Err(e) => {
                            // The pool is full: calls instantiate inline until a later one
                            // finds room again.
                            tracing::debug!(connector = %connector.inner.name, "cannot make a ready instance: {e:#}");
                            stock.drop_used();
                            stock.end_refill();
                            return;
                        }
                    }
                }
                stock.end_refill();
                // A call may have retired its store after `drop_used`, and seen this task
                // running: without another look that store would wait for the next call.
                if !stock.begin_refill() {
                    return;
                }
            }
        });
    }

    /// The call counter and latency histogram of `op`, made on its first call.
    fn op_metrics(&self, op: &'static str) -> OpMetrics {
        if let Some(m) = self.inner.ops.read().get(op) {
            return m.clone();
        }
        let labels = crate::metrics::CallLabels {
            connector: self.inner.name.to_string(),
            op: op.to_string(),
        };
        let metrics = &self.inner.metrics;
        let m = OpMetrics {
            calls: metrics.calls.get_or_create(&labels).clone(),
            latency: metrics.latency.get_or_create(&labels).clone(),
            cloud_wait: metrics.cloud_wait.get_or_create(&labels).clone(),
        };
        self.inner.ops.write().insert(op, m.clone());
        m
    }

    fn count_error(&self, op: &'static str, kind: &str) {
        self.inner
            .metrics
            .errors
            .get_or_create(&crate::metrics::ErrorLabels {
                connector: self.inner.name.to_string(),
                op: op.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    fn classify_trap(
        &self,
        op: &'static str,
        store: &Store<HostState>,
        trap: wasmtime::Error,
    ) -> CallError {
        let connector = self.inner.name.to_string();
        let state = store.data();
        if state.cpu_exhausted {
            return CallError::CpuBudget {
                connector,
                op,
                limit: self.inner.limits.cpu_time,
            };
        }
        if state.limiter.hit {
            return CallError::Memory {
                connector,
                op,
                limit_bytes: self.inner.limits.memory_bytes,
            };
        }
        let mut message = match trap.downcast_ref::<wasmtime::Trap>() {
            Some(t) => format!("{t}"),
            None => format!("{trap:#}"),
        };
        // A Rust guest prints its panic message to stderr before aborting.
        // Rust's panic report is "thread … panicked at FILE:LINE:COL:" then the message.
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).to_string();
        if let Some(at) = stderr.rfind("panicked at") {
            let report: String = stderr[at..]
                .lines()
                .take(2)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let report: String = report.chars().take(500).collect();
            message = format!("{message}; the guest {report}");
        }
        CallError::Trap {
            connector,
            op,
            message: self.redact(&message),
        }
    }

    fn forward_stderr(&self, op: &'static str, store: &Store<HostState>) {
        let bytes = store.data().stderr.contents();
        if bytes.is_empty() {
            return;
        }
        for line in String::from_utf8_lossy(&bytes).lines() {
            tracing::debug!(target: "guest", connector = %self.inner.name, op, "{}", self.redact(line));
        }
    }

    /// The connector's static facts (runs the guest, touches no network).
    pub async fn info(&self) -> Result<types::ConnectorInfo, CallError> {
        let index = self.export("info")?;
        self.run("info", move |instance, store| {
            Box::pin(async move {
                let func =
                    instance.get_typed_func::<(), (types::ConnectorInfo,)>(&mut *store, index)?;
                Ok(Ok(func.call_async(&mut *store, ()).await?.0))
            })
        })
        .await
    }
}

/// Replaces each secret by `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 4 && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}
