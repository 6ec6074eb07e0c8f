//! Floating IPs: public addresses a user reserves (quota `cyclades.floating_ip`) and
//! attaches to a server as an extra NIC on the pool network.

use super::lookup::{Listing, find};
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

    /// A floating IP of the user, else 404.
    pub fn floating_ip(&self, user: &str, id: u64) -> ApiResult<&FloatingIp> {
        find(&self.state.floating_ips, &id, "Floating IP", |f| {
            f.user_id == user && !f.deleted
        })
    }

    /// `POST /floatingips`: reserves an address from the pool (quota `cyclades.floating_ip`).
    pub fn create_floating_ip(
        &mut self,
        user: &str,
        network: Option<u64>,
        address: Option<String>,
        project: Option<String>,
    ) -> ApiResult<u64> {
        let network = network.unwrap_or(PUBLIC_V4_NET);
        let net = self.network(user, network)?;
        if !net.floating_ip_pool {
            return Err(ApiError::Conflict(format!(
                "Network '{network}' is not a floating IP pool"
            )));
        }
        let project = project.unwrap_or_else(|| user.to_string());
        self.check_quota(
            &project,
            Usage {
                floating_ips: 1,
                ..Default::default()
            },
        )?;
        let address = match address {
            Some(a) => {
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
                        "IP address '{a}' is already in use"
                    )));
                }
                a
            }
            None => self.alloc_public_v4().ok_or_else(|| {
                ApiError::Conflict(format!("No more free IP addresses in network '{network}'"))
            })?,
        };
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
                port_id: None,
                created: now,
                updated: now,
                deleted: false,
            },
        );
        Ok(id)
    }

    /// `DELETE /floatingips/<id>`: 409 while attached.
    pub fn delete_floating_ip(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let f = self.floating_ip(user, id)?;
        if let Some(pid) = f.port_id {
            let server = self.state.ports.get(&pid).and_then(|p| p.device_id);
            return Err(ApiError::Conflict(format!(
                "Floating IP '{}' is used by server '{}'",
                f.address,
                server.map(|s| s.to_string()).unwrap_or_default()
            )));
        }
        let now = self.now;
        if let Some(f) = self.state.floating_ips.get_mut(&id) {
            f.deleted = true;
            f.updated = now;
        }
        Ok(())
    }
}
