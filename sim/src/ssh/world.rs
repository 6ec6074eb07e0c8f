//! The SSH emulation's rules on the simulated world ([`Core`]): which VM owns an
//! address, whether its sshd answers yet, its host key, uploads and recipe records.
//! The backend calls the `ssh_on_*` hooks when a VM is created, changes state or is
//! snapshotted.

use std::net::IpAddr;

use super::faults::Outcome;
use super::records::{RecipeRecord, RecipeStatus, UploadedFile, VmSsh};
use crate::backend::model::{ServerStatus, TaskKind, Time};
use crate::backend::world::{Core, delta};
use crate::error::{ApiError, ApiResult};

/// Why the gateway refuses a `direct-tcpip` channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address is not an IP address.
    BadAddress,
    /// No VM has this address.
    NoVm,
    /// Only port 22 answers.
    Port,
    /// The VM is not ACTIVE.
    NotActive,
    /// The VM has not been ACTIVE for the boot time yet.
    Booting,
}

/// A started recipe run.
#[derive(Debug, Clone)]
pub struct StartedRun {
    /// Index of its record in the VM's `recipes`.
    pub index: usize,
    /// The VM's name.
    pub vm_name: String,
    /// Digest of the script.
    pub sha256: String,
    /// What it does.
    pub outcome: Outcome,
    /// The fault rule's pattern, when one matched.
    pub rule: Option<String>,
    /// How long it takes.
    pub recipe_time: std::time::Duration,
}

/// Why a run command cannot start (as `sh` would say it, with its exit status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoScript {
    /// stderr.
    pub message: String,
    /// Exit status.
    pub status: u32,
}

fn parse_ip(host: &str) -> Option<IpAddr> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    h.parse().ok()
}

impl Core {
    /// Hook: a server was created from `root_source` (the image or snapshot of its root
    /// volume) with these personality entries (`(path, base64 contents)`).
    pub fn ssh_on_create<'a>(
        &mut self,
        id: u64,
        personality: impl IntoIterator<Item = (&'a str, &'a str)>,
        root_source: &str,
    ) {
        let inherited = self
            .state
            .ssh
            .images
            .get(root_source)
            .cloned()
            .unwrap_or_default();
        self.state
            .ssh
            .vms
            .insert(id, VmSsh::new(personality, inherited));
    }

    /// Hook: a server job completed at `at`. A build, start or reboot that leaves the VM
    /// ACTIVE (re)starts its boot clock; any other state stops its sshd.
    pub fn ssh_on_task_done(&mut self, id: u64, kind: TaskKind, at: Time) {
        let Some(status) = self.state.servers.get(&id).map(|s| s.status) else {
            return;
        };
        let vm = self.vm_ssh_mut(id);
        if status != ServerStatus::Active {
            vm.active_since = None;
        } else if matches!(kind, TaskKind::Build | TaskKind::Start | TaskKind::Reboot)
            || vm.active_since.is_none()
        {
            vm.active_since = Some(at);
        }
    }

    /// Hook: snapshot `image_id` was taken of the root volume of server `server_id`: it
    /// carries what the VM inherited and what ran on it.
    pub fn ssh_on_snapshot(&mut self, image_id: &str, server_id: u64) {
        let carried = self
            .state
            .ssh
            .vms
            .get(&server_id)
            .map(VmSsh::carried)
            .unwrap_or_default();
        self.state.ssh.images.insert(image_id.to_string(), carried);
    }

    /// The VM's SSH record, made on first use for a VM that predates it (no keys).
    pub fn vm_ssh_mut(&mut self, id: u64) -> &mut VmSsh {
        self.state
            .ssh
            .vms
            .entry(id)
            .or_insert_with(|| VmSsh::new([], vec![]))
    }

    /// The VM's host key seed, made now if it has none yet.
    pub fn vm_host_key_seed(&mut self, id: u64) -> String {
        let vm = self.vm_ssh_mut(id);
        if vm.host_key_seed.is_empty() {
            vm.host_key_seed = super::records::new_key_seed();
        }
        vm.host_key_seed.clone()
    }

    /// The server (not deleted) that owns `ip` on one of its NICs.
    pub fn server_with_address(&self, ip: IpAddr) -> Option<u64> {
        self.state
            .servers
            .values()
            .filter(|s| !s.is_deleted())
            .find(|s| {
                s.ports.iter().any(|pid| {
                    self.state.ports.get(pid).is_some_and(|p| {
                        !p.deleted
                            && [&p.ipv4, &p.ipv6]
                                .into_iter()
                                .flatten()
                                .any(|a| a.parse::<IpAddr>().ok() == Some(ip))
                    })
                })
            })
            .map(|s| s.id)
    }

    /// Whether server `id` is ACTIVE (its sshd runs, once booted).
    pub fn vm_is_active(&self, id: u64) -> bool {
        self.state
            .servers
            .get(&id)
            .is_some_and(|s| s.status == ServerStatus::Active)
    }

    /// The VM a `direct-tcpip` to `host:port` reaches, if its sshd answers now.
    pub fn ssh_target(&self, host: &str, port: u32) -> Result<u64, Refusal> {
        let ip = parse_ip(host).ok_or(Refusal::BadAddress)?;
        let id = self.server_with_address(ip).ok_or(Refusal::NoVm)?;
        if port != 22 {
            return Err(Refusal::Port);
        }
        let server = &self.state.servers[&id];
        if server.status != ServerStatus::Active {
            return Err(Refusal::NotActive);
        }
        let since = self
            .state
            .ssh
            .vms
            .get(&id)
            .and_then(|v| v.active_since)
            .unwrap_or(server.updated);
        if self.now < since + delta(self.settings.ssh.boot_time) {
            return Err(Refusal::Booting);
        }
        Ok(id)
    }

    /// Stores an uploaded file of `user` on VM `id`.
    pub fn ssh_store_file(&mut self, id: u64, user: &str, name: &str, size: u64, sha256: String) {
        let now = self.now;
        self.vm_ssh_mut(id).store_file(UploadedFile {
            user: user.into(),
            name: name.into(),
            size,
            sha256,
            uploaded: now,
        });
    }

    /// Starts a run of `script` as `user` on VM `id`: appends a running record.
    pub fn ssh_start_run(
        &mut self,
        id: u64,
        user: &str,
        script: &str,
        env: Vec<String>,
    ) -> Result<StartedRun, NoScript> {
        let now = self.now;
        let vm_name = self
            .state
            .servers
            .get(&id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let (outcome, rule) = self.settings.ssh.outcome(&vm_name);
        let rule = rule.map(|r| r.name_pattern.clone());
        let recipe_time = self.settings.ssh.recipe_time;
        let vm = self.vm_ssh_mut(id);
        if !vm.files.iter().any(|f| f.user == user) {
            return Err(NoScript {
                message: "sh: 1: cd: can't cd to .slipstream\n".into(),
                status: 2,
            });
        }
        let Some(file) = vm.file(user, script) else {
            return Err(NoScript {
                message: format!("sh: 0: cannot open {script}: No such file\n"),
                status: 2,
            });
        };
        let sha256 = file.sha256.clone();
        vm.recipes.push(RecipeRecord {
            server_id: id,
            server_name: vm_name.clone(),
            user: user.into(),
            script: script.into(),
            sha256: sha256.clone(),
            env,
            exit_code: None,
            status: RecipeStatus::Running,
            started: now,
            finished: None,
        });
        Ok(StartedRun {
            index: vm.recipes.len() - 1,
            vm_name,
            sha256,
            outcome,
            rule,
            recipe_time,
        })
    }

    /// Ends run `index` of VM `id`: exited with a code, or killed (`None`).
    pub fn ssh_end_run(&mut self, id: u64, index: usize, exit_code: Option<i32>) {
        let now = self.now;
        if let Some(r) = self
            .state
            .ssh
            .vms
            .get_mut(&id)
            .and_then(|v| v.recipes.get_mut(index))
            .filter(|r| r.status == RecipeStatus::Running)
        {
            r.exit_code = exit_code;
            r.status = match exit_code {
                Some(_) => RecipeStatus::Exited,
                None => RecipeStatus::Killed,
            };
            r.finished = Some(now);
        }
    }

    /// Runs still recorded as running when a process starts were killed with the process
    /// that ran them: marks them so (ended now). Returns how many.
    pub fn ssh_kill_orphan_runs(&mut self) -> usize {
        let now = self.now;
        let mut n = 0;
        for r in self
            .state
            .ssh
            .vms
            .values_mut()
            .flat_map(|v| v.recipes.iter_mut())
            .filter(|r| r.status == RecipeStatus::Running)
        {
            r.status = RecipeStatus::Killed;
            r.finished = Some(now);
            n += 1;
        }
        n
    }

    /// `GET /_sim/servers/{id}/recipes`.
    pub fn ssh_recipes_view(&self, id: u64) -> ApiResult<serde_json::Value> {
        let server = self
            .state
            .servers
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("Server {id} not found")))?;
        let vm = self.state.ssh.vms.get(&id).cloned().unwrap_or_default();
        let host_key = super::records::public_of_seed(&vm.host_key_seed);
        let files: Vec<_> = vm
            .files
            .iter()
            .map(|f| {
                serde_json::json!({"user": f.user, "name": f.name, "size": f.size,
                    "sha256": f.sha256, "uploaded": f.uploaded})
            })
            .collect();
        Ok(serde_json::json!({
            "server_id": id,
            "name": server.name,
            "host_key_fingerprint": host_key.as_ref().map(|k| &k.0),
            "host_key": host_key.as_ref().map(|k| &k.1),
            "users": vm.authorized_keys.keys().collect::<Vec<_>>(),
            "files": files,
            "recipes": vm.recipes,
            "inherited": vm.inherited,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::backend::server_create::{CreateServer, Personality};
    use crate::config::{DEFAULT_USER_UUID, SimConfig, Timings};
    use crate::ssh::records::{RecipeStatus, key_from_seed, new_key_seed};
    use crate::{Backend, ssh::world::Refusal};

    const UBUNTU: &str = "fe31fced-a3cf-49c6-b43b-f58f5235ba45";

    fn backend(boot: Duration) -> Backend {
        Backend::new(&SimConfig {
            timings: Timings::instant(),
            ssh_boot_time: boot,
            ..Default::default()
        })
        .unwrap()
    }

    fn server(b: &Backend, name: &str) -> u64 {
        let key = key_from_seed(&new_key_seed()).unwrap();
        let line = key.public_key().to_openssh().unwrap();
        b.write(|c| {
            c.create_server(
                DEFAULT_USER_UUID,
                CreateServer {
                    name: name.into(),
                    image_ref: UBUNTU.into(),
                    flavor_ref: 1,
                    personality: vec![Personality {
                        path: "/root/.ssh/authorized_keys".into(),
                        contents: base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            line,
                        ),
                    }],
                    ..Default::default()
                },
            )
        })
        .unwrap()
        .0
    }

    fn ipv4(b: &Backend, id: u64) -> String {
        b.read(|c| {
            c.state.servers[&id]
                .ports
                .iter()
                .find_map(|p| c.state.ports[p].ipv4.clone())
                .unwrap()
        })
    }

    #[test]
    fn the_sshd_answers_only_after_the_boot_time_and_on_port_22() {
        let b = backend(Duration::from_secs(60));
        let id = server(&b, "web-1");
        let ip = ipv4(&b, id);
        let since = b.read(|c| c.state.ssh.vms[&id].active_since.expect("ACTIVE"));
        b.write(|c| {
            c.now = since + chrono::TimeDelta::seconds(59);
            assert_eq!(c.ssh_target(&ip, 22), Err(Refusal::Booting));
            c.now = since + chrono::TimeDelta::seconds(60);
            assert_eq!(c.ssh_target(&ip, 22), Ok(id));
            assert_eq!(c.ssh_target(&ip, 2222), Err(Refusal::Port));
            assert_eq!(c.ssh_target(&format!("[{ip}]"), 22), Ok(id));
            assert_eq!(c.ssh_target("192.0.2.1", 22), Err(Refusal::NoVm));
            assert_eq!(c.ssh_target("web-1", 22), Err(Refusal::BadAddress));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn runs_left_running_by_a_previous_process_are_killed() {
        let b = backend(Duration::ZERO);
        let id = server(&b, "web-1");
        b.write(|c| {
            c.ssh_store_file(id, "root", "recipe.sh", 3, "ab".repeat(32));
            let run = c.ssh_start_run(id, "root", "recipe.sh", vec!["K".into()]);
            assert_eq!(run.unwrap().index, 0);
            let done = c.ssh_start_run(id, "root", "recipe.sh", vec![]).unwrap();
            c.ssh_end_run(id, done.index, Some(0));
            assert_eq!(c.ssh_kill_orphan_runs(), 1);
            let recs = &c.state.ssh.vms[&id].recipes;
            assert_eq!(recs[0].status, RecipeStatus::Killed);
            assert!(recs[0].finished.is_some() && recs[0].exit_code.is_none());
            assert_eq!(recs[1].status, RecipeStatus::Exited);
            assert_eq!(c.ssh_kill_orphan_runs(), 0);
            Ok(())
        })
        .unwrap();
    }
}
