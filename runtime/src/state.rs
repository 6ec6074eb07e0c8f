//! The per-call state of a connector instance: one field per capability, plain views, no logic.

use crate::keyvalue::{KvView, SharedKv};
use crate::policy::EgressPolicy;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::egress::EgressHooks;

/// Everything one `Store` holds.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: EgressHooks,
    pub(crate) config: Arc<WasiConfigVariables>,
    pub(crate) kv: SharedKv,
    pub(crate) limiter: MemoryLimiter,
    /// Epoch ticks the guest has spent executing in this call.
    pub(crate) cpu_ticks: u64,
    pub(crate) cpu_ticks_max: u64,
    pub(crate) cpu_exhausted: bool,
    pub(crate) stderr: MemoryOutputPipe,
}

impl HostState {
    pub(crate) fn new(
        connector: Arc<str>,
        policy: Arc<EgressPolicy>,
        http_client: crate::http_client::HttpClient,
        config: Arc<WasiConfigVariables>,
        kv: SharedKv,
        memory_bytes: usize,
        cpu_ticks_max: u64,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(64 * 1024);
        // No filesystem, no environment, no arguments, no sockets: the only way out is wasi:http.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: EgressHooks::new(connector, policy, http_client),
            config,
            kv,
            limiter: MemoryLimiter::new(memory_bytes),
            cpu_ticks: 0,
            cpu_ticks_max,
            cpu_exhausted: false,
            stderr,
        }
    }

    pub(crate) fn kv_view(&mut self) -> KvView<'_> {
        KvView {
            table: &mut self.table,
            data: &self.kv,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Caps linear memory and remembers whether the cap was hit, so the error can say so.
pub(crate) struct MemoryLimiter {
    max: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    fn new(max: usize) -> Self {
        MemoryLimiter { max, hit: false }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded (wanted {desired})",
                self.max
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

#[cfg(test)]
impl HostState {
    /// A state with no configuration and no network, for tests of the store's life cycle.
    pub(crate) fn for_tests() -> Self {
        HostState::new(
            Arc::from("test"),
            Arc::new(EgressPolicy::default()),
            crate::http_client::HttpClient::new(&Default::default()).expect("an HTTP client"),
            Arc::new(WasiConfigVariables::new()),
            SharedKv::default(),
            1 << 20,
            1,
        )
    }
}
