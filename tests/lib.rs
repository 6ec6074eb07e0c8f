//! Shared harness of the end-to-end tests: a simulator on a real socket, the real guest
//! component loaded into wasmtime through the host library, talking over real HTTP.

use connector_runtime::bindings::types::{Size, VmSpec};
use connector_runtime::cache::CompileCache;
use connector_runtime::client::Client;
use connector_runtime::engine::{ConnectorSpec, EngineSettings, Runtime};
use connector_runtime::orchestrate::wait::Poll;
use connector_runtime::policy::TlsSettings;
use connector_runtime::policy::{EgressPolicy, Limits};
use okeanos_sim::{RunningSim, SimConfig, Timings};
use std::collections::BTreeMap;
use std::time::Duration;

/// A simulator plus a connector pointed at it.
pub struct Harness {
    pub sim: RunningSim,
    pub runtime: Runtime,
    pub client: Client,
}

/// Quick transitions so a test waits milliseconds, not seconds.
pub fn fast_timings() -> Timings {
    Timings::uniform(Duration::from_millis(150))
}

pub fn fast_poll() -> Poll {
    Poll::new(Duration::from_millis(100), Duration::from_secs(20))
}

pub async fn start_sim(config: SimConfig) -> RunningSim {
    okeanos_sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// The spec of the okeanos connector for a simulator at `sim`.
pub fn okeanos_spec(sim: &RunningSim) -> ConnectorSpec {
    let mut config = BTreeMap::new();
    config.insert("auth_url".to_string(), sim.auth_url());
    config.insert("token".to_string(), sim.token());
    ConnectorSpec {
        name: "okeanos".into(),
        config,
        secret_keys: vec!["token".into()],
        egress: EgressPolicy::parse(&[format!("http://{}", sim.addr())]).unwrap(),
        tls: TlsSettings::default(),
        limits: Limits::default(),
    }
}

/// A VM of the simulator's stock image and a small flavor, with no keys, files or tags.
pub fn vm_spec(name: &str) -> VmSpec {
    VmSpec {
        name: name.into(),
        image: "CELAR-Ubuntu-14.04-LTS".into(),
        size: Size::Flavor("C2R2048D10ext_vlmc".into()),
        ssh_keys: vec![],
        files: vec![],
        user_data: None,
        volatile_disk_gb: None,
        tags: vec![],
        project: None,
    }
}

/// A runtime whose compiled components are cached on disk: the ~2 s compile of a debug build
/// happens once per test run, not once per test.
pub fn runtime() -> Runtime {
    let cache = CompileCache::new(std::env::temp_dir().join("connector-host-test-components"))
        .expect("cache dir");
    Runtime::new(EngineSettings {
        max_instances: 128,
        ..Default::default()
    })
    .expect("engine")
    .with_cache(cache)
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_timings(fast_timings()).await
    }

    /// A simulator with these timings (and everything else as by default).
    pub async fn with_timings(timings: Timings) -> Self {
        Self::with_config(SimConfig {
            timings,
            ..Default::default()
        })
        .await
    }

    pub async fn with_config(config: SimConfig) -> Self {
        let sim = start_sim(config).await;
        let runtime = runtime();
        let connector = runtime
            .load(connector_artifacts::OKEANOS_CONNECTOR, okeanos_spec(&sim))
            .expect("the okeanos component loads");
        Harness {
            sim,
            runtime,
            client: Client::new(connector),
        }
    }

    /// Another client on the same simulator with a changed spec.
    pub fn client_with(&self, change: impl FnOnce(&mut ConnectorSpec)) -> Client {
        let mut spec = okeanos_spec(&self.sim);
        change(&mut spec);
        Client::new(
            self.runtime
                .load(connector_artifacts::OKEANOS_CONNECTOR, spec)
                .expect("component loads"),
        )
    }
}

/// The test component that misbehaves on demand (wasi:config key `mode`).
pub use connector_artifacts::MISBEHAVING_CONNECTOR as MISBEHAVING_COMPONENT;
