//! One run's recipes: its key, its host-key pins, and the configuration step the runtime calls
//! once every VM of the run runs.

use super::{Recipe, SshContext, log_path};
use anyhow::Context;
use connector_runtime::orchestrate::configure::{Configure, ConfigureFuture};
use connector_runtime::orchestrate::deploy::{DeployedVm, Observer};
use connector_ssh::{Connector, HostKeys, Jump, RunKey, Target, pick_address};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// How one VM's recipe went, for `--output json` and the API.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeReport {
    pub node: String,
    pub index: u32,
    pub vm_id: String,
    /// `succeeded`, `failed`, `timed-out` or `unreachable`.
    pub status: &'static str,
    pub exit_code: Option<u32>,
    /// The VM's SSH host key (SHA-256 fingerprint), recorded at first contact.
    pub host_key: Option<String>,
    pub log: PathBuf,
}

/// The recipes of one run.
pub struct RecipeRun {
    key: RunKey,
    ssh: Arc<SshContext>,
    connector: Connector,
    /// Recipe per node group (`vm` for a one-VM run).
    recipes: BTreeMap<String, Recipe>,
    dir: PathBuf,
    reports: Mutex<Vec<RecipeReport>>,
    observer: Mutex<Option<Arc<dyn Observer>>>,
}

impl std::fmt::Debug for RecipeRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipeRun")
            .field("key", &self.key)
            .field("dir", &self.dir)
            .field("nodes", &self.recipes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The private key of a run, in its directory.
pub fn key_path(run_dir: &Path) -> PathBuf {
    run_dir.join("key")
}

impl RecipeRun {
    /// Prepares run `run_id`: its key (made now, or the one an earlier orchestrator of the run
    /// left when resuming), its directory, its jump host.
    pub fn new(
        ssh: Arc<SshContext>,
        run_id: &str,
        recipes: BTreeMap<String, Recipe>,
        jump: Option<Jump>,
    ) -> anyhow::Result<Self> {
        let dir = ssh.run_dir(run_id);
        let key_file = key_path(&dir);
        let key = if key_file.exists() {
            RunKey::load(&key_file)
                .with_context(|| format!("cannot read the key of run {run_id}"))?
        } else {
            let key = RunKey::generate(run_id)?;
            key.save(&key_file).with_context(|| {
                format!("cannot keep the key of run {run_id} in {}", dir.display())
            })?;
            key
        };
        let connector = Connector::new(key.clone(), HostKeys::new())
            .with_jump(jump.or_else(|| ssh.jump.clone()));
        Ok(RecipeRun {
            key,
            ssh,
            connector,
            recipes,
            dir,
            reports: Mutex::default(),
            observer: Mutex::default(),
        })
    }

    /// The public key the run's VMs must accept (goes into their `ssh-keys`).
    pub fn public_key(&self) -> String {
        self.key.public_openssh()
    }

    /// Reports progress (VMs configured) to `observer`.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        *self.observer.lock() = Some(observer);
    }

    /// How each VM's recipe went so far, by node and index.
    pub fn reports(&self) -> Vec<RecipeReport> {
        let mut r = self.reports.lock().clone();
        r.sort_by(|a, b| (&a.node, a.index).cmp(&(&b.node, b.index)));
        r
    }

    /// Runs every VM's recipe, at most `[ssh] concurrency` sessions at once across runs; the
    /// first failure ends the step (the run fails and is cleaned up).
    async fn run_all(&self, run_id: &str, vms: &[DeployedVm]) -> anyhow::Result<()> {
        let run_json = run_json(run_id, vms);
        let run_json = run_json.as_slice();
        let todo: Vec<&DeployedVm> = vms
            .iter()
            .filter(|d| self.recipes.contains_key(&d.node))
            .collect();
        let total = todo.len() as u32;
        // Polled together in this task; the session semaphore bounds them across runs.
        let mut work: FuturesUnordered<_> = todo
            .into_iter()
            .map(|d| async move {
                let _session = self.ssh.sessions.acquire().await.expect("never closed");
                (d, self.run_one(run_id, d, run_json).await)
            })
            .collect();
        let mut done = 0;
        let mut per_node: BTreeMap<&str, u32> = BTreeMap::new();
        while let Some((d, result)) = work.next().await {
            if let Err(e) = result {
                return Err(e.context(format!(
                    "the recipe of VM {} ({}) of node group `{}` failed; its log: {}",
                    d.vm.name,
                    d.vm.id,
                    d.node,
                    log_path(&self.dir, &d.node, d.index).display()
                )));
            }
            done += 1;
            let node_done = per_node.entry(&d.node).or_default();
            *node_done += 1;
            if let Some(o) = self.observer.lock().clone() {
                o.configured(&d.node, *node_done);
                o.phase(&format!("configuring VMs: {done}/{total} done"));
            }
        }
        Ok(())
    }

    async fn run_one(&self, run_id: &str, d: &DeployedVm, run_json: &[u8]) -> anyhow::Result<()> {
        let recipe = &self.recipes[&d.node];
        let log = log_path(&self.dir, &d.node, d.index);
        let mut report = RecipeReport {
            node: d.node.clone(),
            index: d.index,
            vm_id: d.vm.id.clone(),
            status: "unreachable",
            exit_code: None,
            host_key: None,
            log: log.clone(),
        };
        let result = self
            .session(run_id, d, recipe, run_json, &log, &mut report)
            .await;
        self.reports.lock().push(report);
        result
    }

    async fn session(
        &self,
        run_id: &str,
        d: &DeployedVm,
        recipe: &Recipe,
        run_json: &[u8],
        log: &Path,
        report: &mut RecipeReport,
    ) -> anyhow::Result<()> {
        let mut file = tokio::fs::File::create(log)
            .await
            .with_context(|| format!("cannot write the log {}", log.display()))?;
        let addresses =
            d.vm.ipv4
                .iter()
                .chain(&d.vm.ipv6)
                .filter_map(|a| a.parse::<IpAddr>().ok());
        let addr = pick_address(addresses).with_context(|| {
            format!(
                "VM {} ({}) has no IP address to reach over SSH",
                d.vm.name, d.vm.id
            )
        })?;
        let target = Target::new(d.vm.id.clone(), addr, recipe.user.clone());
        let session = self
            .connector
            .connect(&target, Instant::now() + self.ssh.reach_timeout)
            .await?;
        report.host_key = Some(session.host_key_fingerprint().to_string());
        let header = format!(
            "# slipstream: recipe {} on VM {} ({}) as {}@{addr}, host key {}\n",
            recipe.name,
            d.vm.name,
            d.vm.id,
            recipe.user,
            session.host_key_fingerprint()
        );
        file.write_all(header.as_bytes()).await?;
        tracing::info!(vm = %d.vm.name, host_key = session.host_key_fingerprint(), "reached over SSH");
        session.upload("run.json", run_json).await?;
        session
            .upload(connector_ssh::recipe::RECIPE_FILE, &recipe.script)
            .await?;
        let home = if recipe.user == "root" {
            "/root".to_string()
        } else {
            format!("/home/{}", recipe.user)
        };
        let mut env = vec![
            ("SLIPSTREAM_RUN_ID".to_string(), run_id.to_string()),
            ("SLIPSTREAM_NODE".to_string(), d.node.clone()),
            ("SLIPSTREAM_INDEX".to_string(), d.index.to_string()),
            (
                "SLIPSTREAM_RUN_JSON".to_string(),
                format!("{home}/{}/run.json", connector_ssh::recipe::DIR),
            ),
        ];
        env.extend(recipe.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let outcome = session.run(&env, recipe.timeout, &mut file).await?;
        file.flush().await?;
        session.close().await;
        report.exit_code = outcome.exit_code;
        report.status = if outcome.success() {
            "succeeded"
        } else if outcome.timed_out {
            "timed-out"
        } else {
            "failed"
        };
        outcome.into_result(recipe.timeout)?;
        Ok(())
    }
}

impl Configure for RecipeRun {
    fn configure<'a>(&'a self, run_id: &'a str, vms: &'a [DeployedVm]) -> ConfigureFuture<'a> {
        Box::pin(self.run_all(run_id, vms))
    }
}

/// `run.json`: every VM of the run by node, with its addresses, so a recipe can find the
/// others (a web node its database).
fn run_json(run_id: &str, vms: &[DeployedVm]) -> Vec<u8> {
    let mut nodes: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for d in vms {
        nodes.entry(&d.node).or_default().push(serde_json::json!({
            "index": d.index,
            "name": d.vm.name,
            "id": d.vm.id,
            "ipv4": d.vm.ipv4,
            "ipv6": d.vm.ipv6,
        }));
    }
    let mut text = serde_json::to_vec_pretty(&serde_json::json!({
        "run_id": run_id,
        "nodes": nodes,
    }))
    .expect("JSON values serialize");
    text.push(b'\n');
    text
}
