//! Quotas (Astakos resources `cyclades.*`), per project.
//!
//! Usage is derived from the resources themselves rather than kept in counters, so it
//! can never drift from what exists. Charging follows Synnefo: a server charges VM,
//! total CPU/RAM and disk when created; CPU/RAM "running" while it is (or is being)
//! started; a resize charges the difference; volumes charge disk; everything is released
//! when its deletion is requested.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{ServerStatus, TaskKind, VolumeStatus};
use super::world::Core;
use crate::config::QuotaLimits;
use crate::error::{ApiError, ApiResult};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// What a project uses (RAM in MiB, disk in GiB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Servers.
    pub vms: u64,
    /// vCPUs of all servers.
    pub total_cpu: u64,
    /// vCPUs of running servers.
    pub cpu: u64,
    /// MiB of all servers.
    pub total_ram: u64,
    /// MiB of running servers.
    pub ram: u64,
    /// GiB of volumes.
    pub disk: u64,
    /// Floating IPs.
    pub floating_ips: u64,
    /// Private networks.
    pub private_networks: u64,
}

/// One Astakos quota entry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct QuotaEntry {
    /// User's usage.
    pub usage: u64,
    /// User's limit.
    pub limit: u64,
    /// Pending (always 0: commissions resolve at once here).
    pub pending: u64,
    /// Project's usage.
    pub project_usage: u64,
    /// Project's limit.
    pub project_limit: u64,
    /// Project's pending.
    pub project_pending: u64,
}

impl Core {
    /// Limits of a project.
    pub fn limits(&self, project: &str) -> QuotaLimits {
        self.settings
            .project_quotas
            .get(project)
            .copied()
            .unwrap_or(self.settings.default_quota)
    }

    /// Current usage of a project.
    pub fn usage(&self, project: &str) -> Usage {
        let mut u = Usage::default();
        for s in self.state.servers.values() {
            if s.project != project || s.is_deleted() {
                continue;
            }
            let task = s.task.map(|t| t.kind);
            if task == Some(TaskKind::Destroy) {
                continue;
            }
            let flavor_id = match task {
                Some(TaskKind::Resize { flavor }) => flavor,
                _ => s.flavor_id,
            };
            let Some(f) = self.flavor(flavor_id) else {
                continue;
            };
            u.vms += 1;
            u.total_cpu += f.vcpus;
            u.total_ram += f.ram;
            let running = match task {
                Some(TaskKind::Start) => true,
                Some(TaskKind::Stop) => false,
                _ => matches!(
                    s.status,
                    ServerStatus::Build | ServerStatus::Active | ServerStatus::Reboot
                ),
            };
            if running {
                u.cpu += f.vcpus;
                u.ram += f.ram;
            }
        }
        u.disk = self
            .state
            .volumes
            .values()
            .filter(|v| {
                v.project == project
                    && !matches!(v.status, VolumeStatus::Deleted | VolumeStatus::Deleting)
            })
            .map(|v| v.size)
            .sum();
        u.floating_ips = self
            .state
            .floating_ips
            .values()
            .filter(|f| f.project == project && !f.deleted)
            .count() as u64;
        u.private_networks = self
            .state
            .networks
            .values()
            .filter(|n| !n.public && !n.deleted && n.project.as_deref() == Some(project))
            .count() as u64;
        u
    }

    /// Checks that `request` (amounts to add) fits in the project's limits; the first
    /// exceeded resource gives the 413 body.
    pub fn check_quota(&self, project: &str, request: Usage) -> ApiResult<()> {
        let u = self.usage(project);
        let l = self.limits(project);
        // (display name, usage, limit, requested, unit multiplier for display)
        let checks = [
            ("Virtual Machine", u.vms, l.vms, request.vms, 1),
            ("CPU", u.total_cpu, l.cpus, request.total_cpu, 1),
            ("RAM", u.total_ram, l.ram_mib, request.total_ram, MIB),
            ("CPU", u.cpu, l.cpus, request.cpu, 1),
            ("RAM", u.ram, l.ram_mib, request.ram, MIB),
            ("Disk", u.disk, l.disk_gib, request.disk, GIB),
            (
                "Floating IP address",
                u.floating_ips,
                l.floating_ips,
                request.floating_ips,
                1,
            ),
            (
                "Private Network",
                u.private_networks,
                l.private_networks,
                request.private_networks,
                1,
            ),
        ];
        for (name, used, limit, req, unit) in checks {
            if req > 0 && used.saturating_add(req) > limit {
                let available = limit.saturating_sub(used);
                return Err(ApiError::quota(
                    name,
                    available.saturating_mul(unit),
                    req.saturating_mul(unit),
                ));
            }
        }
        Ok(())
    }

    /// `GET /account/v1.0/quotas` for a user: every project it has resources in, plus its own.
    pub fn quotas_of(&self, user: &str) -> BTreeMap<String, BTreeMap<&'static str, QuotaEntry>> {
        let mut projects: Vec<String> = vec![user.to_string()];
        for s in self.state.servers.values() {
            if s.user_id == user && !projects.contains(&s.project) {
                projects.push(s.project.clone());
            }
        }
        for v in self.state.volumes.values() {
            if v.user_id == user && !projects.contains(&v.project) {
                projects.push(v.project.clone());
            }
        }
        let mut out = BTreeMap::new();
        for p in projects {
            let u = self.usage(&p);
            let l = self.limits(&p);
            let e = |usage: u64, limit: u64| QuotaEntry {
                usage,
                limit,
                pending: 0,
                project_usage: usage,
                project_limit: limit,
                project_pending: 0,
            };
            let mut m = BTreeMap::new();
            m.insert("cyclades.vm", e(u.vms, l.vms));
            m.insert("cyclades.total_cpu", e(u.total_cpu, l.cpus));
            m.insert("cyclades.cpu", e(u.cpu, l.cpus));
            m.insert("cyclades.total_ram", e(u.total_ram * MIB, l.ram_mib * MIB));
            m.insert("cyclades.ram", e(u.ram * MIB, l.ram_mib * MIB));
            m.insert("cyclades.disk", e(u.disk * GIB, l.disk_gib * GIB));
            m.insert("cyclades.floating_ip", e(u.floating_ips, l.floating_ips));
            m.insert(
                "cyclades.network.private",
                e(u.private_networks, l.private_networks),
            );
            out.insert(p, m);
        }
        out
    }
}
