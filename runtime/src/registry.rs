//! Connectors by name, hot-swappable while calls run.
//!
//! A swap is build → validate → publish: compile the new component (through the cache), check
//! it implements the `cloud-connector` world, call its `info` in the sandbox, and only then
//! publish it with one atomic pointer store. Reads are lock-free (`ArcSwap`); a call holds
//! its own `Arc` to the version it started with, so calls in flight finish on the old version
//! while new calls get the new one. Nothing is dropped, nothing fails because of a swap.

use crate::bindings::types::ConnectorInfo;
use crate::client::Client;
use crate::digest::digest;
use crate::engine::{ConnectorSpec, Runtime};
use anyhow::{Context, bail};
use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One published version of a connector.
pub struct Version {
    pub client: Client,
    pub digest: String,
    pub info: ConnectorInfo,
    pub source: String,
    pub loaded_at: SystemTime,
}

struct Slot {
    spec: ConnectorSpec,
    current: ArcSwap<Version>,
    previous: ArcSwapOption<Version>,
    /// One swap at a time per connector (reads never take it).
    swapping: tokio::sync::Mutex<()>,
    /// The file to watch, if it came from one.
    path: Option<PathBuf>,
}

/// What a swap did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SwapOutcome {
    /// Same digest as the current version: nothing to do.
    Unchanged { digest: String },
    Swapped {
        from: String,
        to: String,
        version: String,
    },
}

/// Status of one connector, for `connectors list` and the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub digest: String,
    pub version: String,
    pub description: String,
    pub source: String,
    pub previous_digest: Option<String>,
    pub allowed_hosts: Vec<String>,
    pub memory_mb: usize,
    pub cpu_time_ms: u128,
    pub call_timeout_ms: u128,
}

pub struct Registry {
    runtime: Runtime,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    validate_timeout: Duration,
}

impl Registry {
    pub fn new(runtime: Runtime) -> Self {
        Registry {
            runtime,
            slots: RwLock::new(BTreeMap::new()),
            validate_timeout: Duration::from_secs(10),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Builds and validates a version without publishing it.
    async fn build(
        &self,
        bytes: &[u8],
        component_digest: String,
        spec: &ConnectorSpec,
        source: String,
    ) -> anyhow::Result<Version> {
        // Compiling takes from ~0.2 s (release) to seconds (debug): keep it off the async
        // workers so the calls being served meanwhile are not held up.
        let runtime = self.runtime.clone();
        let owned = bytes.to_vec();
        let component = tokio::task::spawn_blocking(move || runtime.compile(&owned))
            .await
            .map_err(|e| anyhow::anyhow!("the compile task failed: {e}"))??;
        let connector = self
            .runtime
            .prepare(&component, spec.clone(), component_digest.clone())?;
        let client = Client::new(connector);
        let info = tokio::time::timeout(self.validate_timeout, client.info())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "its `info` did not answer within {:?}",
                    self.validate_timeout
                )
            })?
            .map_err(|e| anyhow::anyhow!("its `info` failed: {e}"))?;
        if info.name.trim().is_empty() {
            bail!("its `info` returned an empty name");
        }
        Ok(Version {
            digest: component_digest,
            client,
            info,
            source,
            loaded_at: SystemTime::now(),
        })
    }

    /// Adds a connector (or replaces its configuration entirely).
    pub async fn insert(
        &self,
        bytes: &[u8],
        spec: ConnectorSpec,
        source: String,
        path: Option<PathBuf>,
    ) -> anyhow::Result<()> {
        let name = spec.name.clone();
        let version = self
            .build(bytes, digest(bytes), &spec, source)
            .await
            .with_context(|| format!("connector `{name}` rejected"))?;
        let slot = Arc::new(Slot {
            spec,
            current: ArcSwap::from_pointee(version),
            previous: ArcSwapOption::empty(),
            swapping: tokio::sync::Mutex::new(()),
            path,
        });
        self.slots.write().insert(name, slot);
        Ok(())
    }

    fn slot(&self, name: &str) -> anyhow::Result<Arc<Slot>> {
        let slots = self.slots.read();
        slots.get(name).cloned().with_context(|| {
            format!(
                "no connector named `{name}` (loaded: {})",
                slots.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// The current version's client: lock-free, and the caller keeps that version alive.
    pub fn client(&self, name: &str) -> anyhow::Result<Client> {
        Ok(self.slot(name)?.current.load().client.clone())
    }

    pub fn names(&self) -> Vec<String> {
        self.slots.read().keys().cloned().collect()
    }

    /// Replaces a connector's component: build → validate → publish; the old version keeps
    /// serving when any step fails, and is kept for [`Registry::rollback`].
    pub async fn swap(
        &self,
        name: &str,
        bytes: &[u8],
        source: String,
    ) -> anyhow::Result<SwapOutcome> {
        let slot = self.slot(name)?;
        let _one_at_a_time = slot.swapping.lock().await;
        let current = slot.current.load_full();
        let new_digest = digest(bytes);
        if new_digest == current.digest {
            return Ok(SwapOutcome::Unchanged { digest: new_digest });
        }
        let version = match self
            .build(bytes, new_digest.clone(), &slot.spec, source)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.runtime
                    .metrics()
                    .swaps_rejected
                    .get_or_create(&crate::metrics::ConnectorLabels {
                        connector: name.to_string(),
                    })
                    .inc();
                tracing::warn!(
                    connector = name,
                    "swap rejected, the old version keeps serving: {e:#}"
                );
                return Err(e.context(format!(
                    "the new component for `{name}` was rejected; version {} keeps serving",
                    short(&current.digest)
                )));
            }
        };
        let outcome = SwapOutcome::Swapped {
            from: current.digest.clone(),
            to: version.digest.clone(),
            version: version.info.version.clone(),
        };
        slot.current.store(Arc::new(version));
        slot.previous.store(Some(current));
        self.count_swap(name);
        tracing::info!(connector = name, ?outcome, "connector swapped");
        Ok(outcome)
    }

    /// Swaps from a file, e.g. when the watcher sees it change.
    pub async fn swap_file(
        &self,
        name: &str,
        path: &std::path::Path,
    ) -> anyhow::Result<SwapOutcome> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        self.swap(name, &bytes, path.display().to_string()).await
    }

    /// Goes back to the previous version (which becomes the one to roll back to).
    pub async fn rollback(&self, name: &str) -> anyhow::Result<SwapOutcome> {
        let slot = self.slot(name)?;
        let _one_at_a_time = slot.swapping.lock().await;
        let Some(previous) = slot.previous.load_full() else {
            bail!("connector `{name}` has no previous version to roll back to");
        };
        let current = slot.current.swap(previous.clone());
        slot.previous.store(Some(current.clone()));
        self.count_swap(name);
        Ok(SwapOutcome::Swapped {
            from: current.digest.clone(),
            to: previous.digest.clone(),
            version: previous.info.version.clone(),
        })
    }

    fn count_swap(&self, name: &str) {
        self.runtime
            .metrics()
            .swaps
            .get_or_create(&crate::metrics::ConnectorLabels {
                connector: name.to_string(),
            })
            .inc();
    }

    pub fn status(&self) -> Vec<ConnectorStatus> {
        let slots = self.slots.read();
        slots
            .iter()
            .map(|(name, slot)| {
                let v = slot.current.load();
                let limits = &slot.spec.limits;
                ConnectorStatus {
                    name: name.clone(),
                    digest: v.digest.clone(),
                    version: v.info.version.clone(),
                    description: v.info.description.clone(),
                    source: v.source.clone(),
                    previous_digest: slot.previous.load().as_ref().map(|p| p.digest.clone()),
                    allowed_hosts: slot
                        .spec
                        .egress
                        .rules()
                        .iter()
                        .map(|r| r.to_string())
                        .collect(),
                    memory_mb: limits.memory_bytes >> 20,
                    cpu_time_ms: limits.cpu_time.as_millis(),
                    call_timeout_ms: limits.wall_time.as_millis(),
                }
            })
            .collect()
    }

    /// Files to watch for changes: (connector name, path).
    pub fn watched_files(&self) -> Vec<(String, PathBuf)> {
        self.slots
            .read()
            .iter()
            .filter_map(|(n, s)| s.path.clone().map(|p| (n.clone(), p)))
            .collect()
    }
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// Polls the component files every `interval` and swaps a connector when its file changes.
/// (Polling the modification time and size is portable and cheap for a handful of files.)
pub fn watch(registry: Arc<Registry>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let stamp = |p: &PathBuf| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        };
        let mut seen: BTreeMap<String, Option<(Option<SystemTime>, u64)>> = registry
            .watched_files()
            .into_iter()
            .map(|(n, p)| (n, stamp(&p)))
            .collect();
        loop {
            tokio::time::sleep(interval).await;
            for (name, path) in registry.watched_files() {
                let now = stamp(&path);
                if seen.get(&name) != Some(&now) {
                    seen.insert(name.clone(), now);
                    match registry.swap_file(&name, &path).await {
                        Ok(outcome) => {
                            tracing::info!(connector = name, ?outcome, "reloaded on file change")
                        }
                        Err(e) => {
                            tracing::warn!(connector = name, "reload on file change failed: {e:#}")
                        }
                    }
                }
            }
        }
    })
}
