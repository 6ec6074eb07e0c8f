//! Floating IPs: public addresses a user reserves (quota `cyclades.floating_ip`) and
//! attaches to a server as an extra NIC on the pool network.

use std::net::Ipv4Addr;

use super::lookup::Listing;
use super::model::{FloatingIp, Time};
use super::ports::PlannedNic;
use super::quota::Usage;
use super::seed::PUBLIC_V4_NET;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

impl Core {
    /// `addFloatingIp`: a new NIC on the pool network carrying the user's floating IP.
    pub fn attach_floating_ip(&mut self, user: &str, server: u64, address: &str) -> ApiResult<()> {
        let fip = self
            .state
            .floating_ips
            .values()
            .find(|f| f.user_id == user && !f.deleted && f.address == address)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Floating IP '{address}' not found")))?;
        if fip.port_id.is_some() {
            return Err(ApiError::Conflict(format!(
                "Floating IP '{address}' already in use"
            )));
        }
        let plan = vec![PlannedNic::floating(fip.network_id, fip.id, fip.address)];
        let now = self.now;
        let ids = self.create_nics(user, server, plan, now);
        if let Some(s) = self.state.servers.get_mut(&server) {
            s.ports.extend(ids);
            s.updated = now;
        }
        Ok(())
    }

    /// `removeFloatingIp`: deletes the NIC that carries it.
    pub fn detach_floating_ip(&mut self, user: &str, server: u64, address: &str) -> ApiResult<()> {
        let port = self
            .state
            .ports
            .values()
            .find(|p| {
                p.user_id == user
                    && !p.deleted
                    && p.device_id == Some(server)
                    && p.floating_ip.is_some()
                    && p.ipv4.as_deref() == Some(address)
            })
            .map(|p| p.id)
            .ok_or_else(|| {
                ApiError::bad(format!(
                    "Floating IP '{address}' is not attached to server {server}"
                ))
            })?;
        self.remove_port(port);
        Ok(())
    }
    /// Floating IPs of a user; with `since`, changed since (deleted included).
    pub fn floating_ips_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> Listing<'a, FloatingIp> {
        Listing::new(&self.state.floating_ips, user, since, |f, u| f.user_id == u)
    }

    /// A floating IP of the user: api/util.py `get_floating_ip_by_id`'s 404 otherwise.
    pub fn floating_ip(&self, user: &str, id: u64) -> ApiResult<&FloatingIp> {
        self.state
            .floating_ips
            .get(&id)
            .filter(|f| f.user_id == user && !f.deleted)
            .ok_or_else(|| ApiError::not_found(format!("Floating IP with ID {id} does not exist.")))
    }

    /// Whether `address` lies in one of the IPv4 pools of `network`'s subnets.
    fn in_pools(&self, network: u64, address: &str) -> bool {
        let Ok(a) = address.parse::<Ipv4Addr>() else {
            return false;
        };
        self.state.networks.get(&network).is_some_and(|n| {
            n.subnets
                .iter()
                .flat_map(|s| s.pools.iter())
                .any(|(lo, hi)| {
                    matches!((lo.parse::<Ipv4Addr>(), hi.parse::<Ipv4Addr>()),
                    (Ok(lo), Ok(hi)) if lo <= a && a <= hi)
                })
        })
    }

    /// `POST /floatingips` (and compute's `os-floating-ips`): logic/ips.py
    /// `create_floating_ip` — the network (404, deleted 400, not a pool 409), the address
    /// (`allocate_ip`: outside the pools 400, taken 409, none left 409), then the quota
    /// commission.
    pub fn create_floating_ip(
        &mut self,
        user: &str,
        network: Option<u64>,
        address: Option<String>,
        project: Option<String>,
        shared_to_project: bool,
    ) -> ApiResult<u64> {
        let given = network.is_some();
        let network = network.unwrap_or(PUBLIC_V4_NET);
        if given {
            let net = self.network(user, network)?;
            if net.deleted {
                return Err(ApiError::bad("Network has been deleted."));
            }
            if !net.floating_ip_pool {
                return Err(ApiError::Conflict(format!(
                    "Cannot allocate floating IP. Network {network} is not a floating IP pool."
                )));
            }
        }
        let address = match address {
            Some(a) => {
                if !self.in_pools(network, &a) {
                    return Err(ApiError::bad(format!(
                        "Address {a} does not belong to network {network}"
                    )));
                }
                if self
                    .state
                    .floating_ips
                    .values()
                    .any(|f| !f.deleted && f.address == a)
                    || self
                        .state
                        .ports
                        .values()
                        .any(|p| !p.deleted && p.ipv4.as_deref() == Some(a.as_str()))
                {
                    return Err(ApiError::Conflict(format!(
                        "IP address {a} is already used."
                    )));
                }
                a
            }
            None => self.alloc_public_v4().ok_or_else(|| {
                ApiError::Conflict(if given {
                    format!("No more IP addresses available on network {network}")
                } else {
                    "Cannot allocate a floating IP address.".into()
                })
            })?,
        };
        let project = project.unwrap_or_else(|| user.to_string());
        self.check_quota(
            &project,
            Usage {
                floating_ips: 1,
                ..Default::default()
            },
        )?;
        let id = self.state.next_fip_id;
        self.state.next_fip_id += 1;
        let now = self.now;
        self.state.floating_ips.insert(
            id,
            FloatingIp {
                id,
                address,
                network_id: network,
                user_id: user.to_string(),
                project,
                shared_to_project,
                port_id: None,
                created: now,
                updated: now,
                deleted: false,
            },
        );
        Ok(id)
    }

    /// `DELETE /floatingips/<id>`: logic/ips.py `delete_floating_ip` — 409 while in use
    /// (`validate_ip_action`), then the row is deleted, so no list shows it again.
    pub fn delete_floating_ip(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let f = self.floating_ip(user, id)?;
        if let Some(pid) = f.port_id {
            let server = self.state.ports.get(&pid).and_then(|p| p.device_id);
            return Err(ApiError::Conflict(match server {
                Some(s) => format!("IP '{id}' is used by server '{s}'"),
                None => format!("IP '{id}' is used by port '{pid}'"),
            }));
        }
        self.state.floating_ips.remove(&id);
        Ok(())
    }

    /// `POST /floatingips/<id>/action` `reassign`: logic/ips.py `reassign_floating_ip` —
    /// found (`get_floating_ip_by_id`), the owner's (the simulator shares nothing, so a
    /// floating IP a user sees is one they own), `validate_ip_action("REASSIGN")` passes in
    /// any state, attached or not; to the same project only `shared_to_project` is set
    /// (always false here), to another one the project takes the quota
    /// (`issue_and_accept_commission`, 413 when it cannot).
    pub fn reassign_floating_ip(&mut self, user: &str, id: u64, project: String) -> ApiResult<()> {
        let f = self.floating_ip(user, id)?;
        if f.project != project {
            self.check_quota(
                &project,
                Usage {
                    floating_ips: 1,
                    ..Default::default()
                },
            )?;
        }
        let now = self.now;
        if let Some(f) = self.state.floating_ips.get_mut(&id)
            && (f.project != project || f.shared_to_project)
        {
            f.project = project;
            f.shared_to_project = false;
            f.updated = now;
        }
        Ok(())
    }
}
