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

    /// `GET /account/v1.0/quotas` for a user (`astakos/api/quotas.py` `quotas`): every
    /// project it is a member of, and of each only the API-visible resources
    /// ([`super::account::visible_resources`]): never `cyclades.total_cpu`/`total_ram`.
    pub fn quotas_of(&self, user: &str) -> BTreeMap<String, BTreeMap<&'static str, QuotaEntry>> {
        let mut out = BTreeMap::new();
        for p in self.projects_of(user) {
            let u = self.usage(&p.id);
            let l = self.limits(&p.id);
            let mut m = BTreeMap::new();
            for r in super::account::visible_resources() {
                let (Some(limit), Some(usage)) = (super::account::limit_of(&l, r), usage_of(&u, r))
                else {
                    continue;
                };
                m.insert(
                    r,
                    QuotaEntry {
                        usage,
                        limit,
                        pending: 0,
                        project_usage: usage,
                        project_limit: limit,
                        project_pending: 0,
                    },
                );
            }
            out.insert(p.id, m);
        }
        out
    }
}

/// A project's usage of one resource, in the API's units (bytes for RAM and disk).
fn usage_of(u: &Usage, resource: &str) -> Option<u64> {
    Some(match resource {
        "cyclades.vm" => u.vms,
        "cyclades.cpu" => u.cpu,
        "cyclades.total_cpu" => u.total_cpu,
        "cyclades.ram" => u.ram * MIB,
        "cyclades.total_ram" => u.total_ram * MIB,
        "cyclades.disk" => u.disk * GIB,
        "cyclades.floating_ip" => u.floating_ips,
        "cyclades.network.private" => u.private_networks,
        _ => return None,
    })
}
