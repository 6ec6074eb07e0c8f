//! Server actions (`POST /servers/<id>/action`): start, shutdown, reboot, resize,
//! console, floating IPs. Each climbs [`Core::validate_action`] first, then starts a
//! job that the clock completes.

use rand::Rng;

use super::model::{Server, ServerStatus, TaskKind};
use super::quota::Usage;
use super::seed::Flavor;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// A server action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `shutdown`.
    Shutdown,
    /// `reboot`.
    Reboot,
    /// `resize`.
    Resize(u64),
    /// `console` of a type already checked (`vnc`, `vnc-ws`, `vnc-wss`).
    Console(String),
    /// `reassign` to a project.
    Reassign(String),
    /// `firewallProfile` of one of the server's NICs (ports).
    FirewallProfile {
        /// `ENABLED`, `DISABLED` or `PROTECTED`.
        profile: String,
        /// The NIC (port) id.
        nic: String,
    },
    /// `addFloatingIp`.
    AddFloatingIp(String),
    /// `removeFloatingIp`.
    RemoveFloatingIp(String),
}

/// A console grant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Console {
    /// The type asked for.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// One-time password.
    pub password: String,
}

/// A one-time password that always passes [`strong_password`].
pub(super) fn random_password() -> String {
    let mut rng = rand::rng();
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut p: String = (0..9)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    // Guarantee the mix Synnefo demands.
    p.insert(rng.random_range(0..p.len()), 'A');
    p.push('a');
    p.push('7');
    p
}

/// `adminPass` strength rule: ≥ 10 chars with upper, lower and digit.
pub fn strong_password(p: &str) -> bool {
    p.chars().count() >= 10
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
}

impl Core {
    /// `POST /servers/<id>/action`.
    pub fn server_action(
        &mut self,
        user: &str,
        id: u64,
        action: Action,
    ) -> ApiResult<Option<Console>> {
        let s = self.server(user, id)?.clone();
        let t = self.settings.timings;
        match action {
            Action::Start => {
                self.validate_action(&s, "START")?;
                self.charge_start(&s.project, s.flavor_id)?;
                self.set_server_task(id, TaskKind::Start, t.start);
            }
            Action::Shutdown => {
                self.validate_action(&s, "STOP")?;
                self.set_server_task(id, TaskKind::Stop, t.stop);
            }
            Action::Reboot => {
                self.validate_action(&s, "REBOOT")?;
                self.set_server_task(id, TaskKind::Reboot, t.reboot);
                if let Some(s) = self.state.servers.get_mut(&id) {
                    s.status = ServerStatus::Reboot;
                }
            }
            Action::Resize(flavor_id) => {
                // logic/servers.py `resize`: the flavor is looked up before the
                // ServerCommand validates the action.
                let new = self.live_flavor(flavor_id)?;
                self.validate_action(&s, "RESIZE")?;
                let flavor = self.check_resize(&s, new)?;
                self.set_server_task(id, TaskKind::Resize { flavor }, t.resize);
            }
            Action::Console(kind) => return console(&s, &kind).map(Some),
            Action::Reassign(project) => self.reassign(&s, project)?,
            Action::FirewallProfile { profile, nic } => {
                self.validate_action(&s, "SET_FIREWALL_PROFILE")?;
                // api/util.py `get_vm_nic`: the NIC must be one of the server's.
                let n: u64 = nic
                    .parse()
                    .map_err(|_| ApiError::bad(format!("Invalid NIC ID '{nic}'")))?;
                if !s.ports.contains(&n) {
                    return Err(ApiError::not_found(format!("NIC '{n}' not found")));
                }
                if !["ENABLED", "DISABLED", "PROTECTED"].contains(&profile.as_str()) {
                    return Err(ApiError::bad("Unsupported firewall profile"));
                }
            }
            Action::AddFloatingIp(address) => {
                self.validate_action(&s, "CONNECT")?;
                self.attach_floating_ip(user, id, &address)?;
            }
            Action::RemoveFloatingIp(address) => {
                self.validate_action(&s, "DISCONNECT")?;
                self.detach_floating_ip(user, id, &address)?;
            }
        }
        Ok(None)
    }

    /// `logic/servers.py` `reassign`: permitted in any state; to another project it moves
    /// the server and its root volume, charging that project (413 when it cannot take them).
    fn reassign(&mut self, s: &Server, project: String) -> ApiResult<()> {
        self.validate_action(s, "REASSIGN")?;
        if s.project == project {
            return Ok(());
        }
        let Some(f) = self.flavor(s.flavor_id).cloned() else {
            return Err(ApiError::Internal("server flavor vanished".into()));
        };
        let running = matches!(
            s.status,
            ServerStatus::Active | ServerStatus::Build | ServerStatus::Reboot
        );
        let root: Vec<u64> = self
            .attached_volumes(s.id)
            .filter(|v| v.index == Some(0))
            .map(|v| v.id)
            .collect();
        let disk: u64 = root
            .iter()
            .filter_map(|v| self.state.volumes.get(v))
            .map(|v| v.size)
            .sum();
        self.check_quota(
            &project,
            Usage {
                vms: 1,
                total_cpu: f.vcpus,
                total_ram: f.ram,
                cpu: if running { f.vcpus } else { 0 },
                ram: if running { f.ram } else { 0 },
                disk,
                ..Default::default()
            },
        )?;
        let now = self.now;
        if let Some(srv) = self.state.servers.get_mut(&s.id) {
            srv.project = project.clone();
            srv.updated = now;
        }
        for v in root {
            if let Some(v) = self.state.volumes.get_mut(&v) {
                v.project = project.clone();
                v.updated = now;
            }
        }
        Ok(())
    }

    /// Starting charges the running CPU and RAM again (a stopped server releases them).
    fn charge_start(&self, project: &str, flavor: u64) -> ApiResult<()> {
        let Some(f) = self.flavor(flavor).cloned() else {
            return Ok(());
        };
        self.check_quota(
            project,
            Usage {
                cpu: f.vcpus,
                ram: f.ram,
                ..Default::default()
            },
        )
    }

    /// logic/servers.py `resize`, inside its ServerCommand: the same flavor is 400 (worded
    /// with the models' `__unicode__`: `<vm:ID@backend:B>`, `<ID:NAME>`), as is another
    /// disk size or volume type; any flavor allowed (`allow_create` is only for creation).
    /// Charges only the CPU and RAM it adds. Returns the new flavor's id.
    fn check_resize(&self, s: &Server, new: Flavor) -> ApiResult<u64> {
        let old = self
            .flavor(s.flavor_id)
            .cloned()
            .ok_or_else(|| ApiError::Internal("server flavor vanished".into()))?;
        if new.id == old.id {
            return Err(ApiError::bad(format!(
                "Server '<vm:{}@backend:{BACKEND_ID}>' flavor is already '<{}:{}>'.",
                s.id, new.id, new.name
            )));
        }
        if new.disk != old.disk {
            return Err(ApiError::bad("Cannot change instance's disk size."));
        }
        if new.volume_type != old.volume_type {
            return Err(ApiError::bad("Cannot change instance's volume type."));
        }
        self.check_quota(
            &s.project,
            Usage {
                total_cpu: new.vcpus.saturating_sub(old.vcpus),
                total_ram: new.ram.saturating_sub(old.ram),
                ..Default::default()
            },
        )?;
        Ok(new.id)
    }
}

/// The id of the one Ganeti backend the simulator stands for.
pub const BACKEND_ID: u64 = 1;

/// `logic/servers.py` `console`: only for a started server, and no job is started; the
/// grant is of the type asked for.
fn console(s: &Server, kind: &str) -> ApiResult<Console> {
    let id = s.id;
    if s.is_deleted() {
        return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
    }
    if s.status.operstate() != "STARTED" {
        return Err(ApiError::bad("Server not in ACTIVE state."));
    }
    let mut rng = rand::rng();
    Ok(Console {
        kind: kind.into(),
        host: format!("snf-{id}.vm.okeanos.grnet.gr"),
        port: rng.random_range(5900..6900),
        password: random_password(),
    })
}
