//! Ports (NICs): planned and created with a server, or on their own (`POST /ports`),
//! and the address pools that feed them.

use super::lookup::find;
use super::model::{Port, Time};
use super::seed::{PUBLIC_V4_NET, PUBLIC_V6_NET};
use super::server_create::NicSpec;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// A NIC decided on but not yet created.
#[derive(Debug, Clone)]
pub struct PlannedNic {
    /// Network id.
    pub(super) network: u64,
    /// Requested (or floating) IPv4 address; `None` picks one from the subnet.
    pub(super) ipv4: Option<String>,
    /// Gets an IPv6 address too.
    pub(super) want_ipv6: bool,
    /// The floating IP it carries.
    pub(super) floating_ip: Option<u64>,
    /// An existing free port of the user, plugged in rather than created.
    pub(super) existing_port: Option<u64>,
}

impl PlannedNic {
    /// A new NIC on `network`, with nothing requested.
    fn on(network: u64) -> Self {
        PlannedNic {
            network,
            ipv4: None,
            want_ipv6: false,
            floating_ip: None,
            existing_port: None,
        }
    }

    /// A new NIC carrying the floating IP `id` with address `address`.
    pub(super) fn floating(network: u64, id: u64, address: String) -> Self {
        PlannedNic {
            ipv4: Some(address),
            floating_ip: Some(id),
            ..PlannedNic::on(network)
        }
    }
}

/// Addresses in the public IPv4 pool (16 /24s).
const POOL_HOSTS: u64 = 16 * 254;

/// MACs derive from the port id: unique and stable across restarts.
fn mac_for(port_id: u64) -> String {
    let b = port_id.to_be_bytes();
    format!("aa:00:00:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7])
}

/// SLAAC-like IPv6 address of a port on the public IPv6 network.
fn ipv6_for(port_id: u64) -> String {
    let b = port_id.to_be_bytes();
    format!(
        "2001:648:2ffc:1225:a800:ff:fe{:02x}:{:02x}{:02x}",
        b[5], b[6], b[7]
    )
}

impl Core {
    /// Next address of the public IPv4 pool, `None` when exhausted.
    pub(super) fn alloc_public_v4(&mut self) -> Option<String> {
        let n = self.state.next_public_host;
        if n >= POOL_HOSTS {
            return None;
        }
        self.state.next_public_host += 1;
        Some(format!("83.212.{}.{}", 96 + n / 254, n % 254 + 1))
    }

    /// Validates the `networks` of a server create, without writing anything. Without
    /// `networks`, a server gets the public IPv4 and IPv6 networks.
    pub fn plan_nics(
        &mut self,
        user: &str,
        _server: u64,
        specs: Option<&[NicSpec]>,
    ) -> ApiResult<Vec<PlannedNic>> {
        let Some(specs) = specs else {
            return Ok(vec![
                PlannedNic::on(PUBLIC_V4_NET),
                PlannedNic {
                    want_ipv6: true,
                    ..PlannedNic::on(PUBLIC_V6_NET)
                },
            ]);
        };
        let mut out: Vec<PlannedNic> = Vec::new();
        for spec in specs {
            let nic = match spec {
                NicSpec::Port(pid) => self.plan_port_nic(user, *pid, &out)?,
                NicSpec::Network { network, fixed_ip } => {
                    let net = self.network(user, *network)?.clone();
                    if net.deleted {
                        return Err(ApiError::bad(format!("Network '{network}' is deleted")));
                    }
                    if net.floating_ip_pool {
                        self.plan_floating_nic(user, *network, fixed_ip.as_deref(), &out)?
                    } else {
                        let has_v4 = net.subnets.iter().any(|s| s.ip_version == 4);
                        let has_v6 = net.subnets.iter().any(|s| s.ip_version == 6);
                        let ipv4 = match fixed_ip {
                            Some(ip) if has_v4 => Some(ip.clone()),
                            Some(ip) => {
                                return Err(ApiError::bad(format!(
                                    "Network '{network}' has no IPv4 subnet for address '{ip}'"
                                )));
                            }
                            None => None,
                        };
                        PlannedNic {
                            ipv4,
                            want_ipv6: has_v6,
                            ..PlannedNic::on(*network)
                        }
                    }
                }
            };
            out.push(nic);
        }
        Ok(out)
    }

    /// An existing port of the user, free and not named twice in the same request.
    fn plan_port_nic(&self, user: &str, pid: u64, planned: &[PlannedNic]) -> ApiResult<PlannedNic> {
        let p = self.port(user, pid)?;
        if p.device_id.is_some() || planned.iter().any(|o| o.existing_port == Some(pid)) {
            return Err(ApiError::Conflict(format!(
                "Port '{pid}' is already in use"
            )));
        }
        Ok(PlannedNic {
            ipv4: p.ipv4.clone(),
            floating_ip: p.floating_ip,
            existing_port: Some(pid),
            ..PlannedNic::on(p.network_id)
        })
    }

    /// A NIC on the floating IP pool needs a floating IP of the user: the one asked for
    /// (409 when taken or not the user's), else any free one (409 when there is none).
    fn plan_floating_nic(
        &self,
        user: &str,
        network: u64,
        fixed_ip: Option<&str>,
        planned: &[PlannedNic],
    ) -> ApiResult<PlannedNic> {
        let taken: Vec<u64> = planned.iter().filter_map(|o| o.floating_ip).collect();
        let fip = self
            .state
            .floating_ips
            .values()
            .filter(|f| {
                f.user_id == user && !f.deleted && f.network_id == network && !taken.contains(&f.id)
            })
            .find(|f| match fixed_ip {
                Some(ip) => f.address == ip,
                None => f.port_id.is_none(),
            });
        match (fip, fixed_ip) {
            (Some(f), Some(ip)) if f.port_id.is_some() => Err(ApiError::Conflict(format!(
                "IP address '{ip}' is already in use"
            ))),
            (Some(f), _) => Ok(PlannedNic::floating(network, f.id, f.address.clone())),
            (None, Some(ip)) => Err(ApiError::Conflict(format!(
                "Address '{ip}' is not a floating IP of this user"
            ))),
            (None, None) => Err(ApiError::Conflict(format!(
                "Cannot find an unused floating IP to connect server to network '{network}'."
            ))),
        }
    }

    /// Creates the planned NICs of a new server; they become ACTIVE at `due`.
    pub fn create_nics(
        &mut self,
        user: &str,
        server: u64,
        planned: Vec<PlannedNic>,
        due: Time,
    ) -> Vec<u64> {
        let now = self.now;
        let mut ids = Vec::new();
        for p in planned {
            if let Some(pid) = p.existing_port {
                if let Some(port) = self.state.ports.get_mut(&pid) {
                    port.device_id = Some(server);
                    port.status = "BUILD".into();
                    port.due = Some(due);
                    port.updated = now;
                }
                ids.push(pid);
                continue;
            }
            let id = self.state.next_port_id;
            self.state.next_port_id += 1;
            let mut ipv4 = p.ipv4.clone();
            if ipv4.is_none() && p.network == PUBLIC_V4_NET {
                ipv4 = self.alloc_public_v4();
            } else if ipv4.is_none()
                && let Some(net) = self.state.networks.get(&p.network)
                && !net.public
                && let Some(sub) = net.subnets.iter().find(|s| s.ip_version == 4)
                && let Some(prefix) = sub.cidr.rsplit_once('.').map(|(a, _)| a.to_string())
            {
                let n = self
                    .state
                    .ports
                    .values()
                    .filter(|x| x.network_id == p.network)
                    .count();
                ipv4 = Some(format!("{prefix}.{}", n + 2));
            }
            self.state.ports.insert(
                id,
                Port {
                    id,
                    name: String::new(),
                    network_id: p.network,
                    device_id: Some(server),
                    user_id: user.to_string(),
                    mac: mac_for(id),
                    ipv4,
                    ipv6: p.want_ipv6.then(|| ipv6_for(id)),
                    floating_ip: p.floating_ip,
                    status: "BUILD".into(),
                    due: Some(due),
                    created: now,
                    updated: now,
                    deleted: false,
                    deleting: false,
                },
            );
            if let Some(fid) = p.floating_ip
                && let Some(f) = self.state.floating_ips.get_mut(&fid)
            {
                f.port_id = Some(id);
                f.updated = now;
            }
            ids.push(id);
        }
        ids
    }

    /// Deletes a port: its floating IP is freed and its server forgets it.
    pub(super) fn remove_port(&mut self, pid: u64) {
        let now = self.now;
        let Some(p) = self.state.ports.get_mut(&pid) else {
            return;
        };
        p.deleted = true;
        p.status = "DELETED".into();
        p.updated = now;
        p.due = None;
        let (fip, dev) = (p.floating_ip.take(), p.device_id);
        if let Some(fid) = fip
            && let Some(f) = self.state.floating_ips.get_mut(&fid)
        {
            f.port_id = None;
            f.updated = now;
        }
        if let Some(sid) = dev
            && let Some(s) = self.state.servers.get_mut(&sid)
        {
            s.ports.retain(|x| *x != pid);
            s.updated = now;
        }
    }

    /// A port of the user, else 404.
    pub fn port(&self, user: &str, id: u64) -> ApiResult<&Port> {
        find(&self.state.ports, &id, "Port", |p| {
            p.user_id == user && !p.deleted
        })
    }

    /// Ports of a user.
    pub fn ports_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Port> + 'a {
        self.state
            .ports
            .values()
            .filter(move |p| p.user_id == user && !p.deleted)
    }

    /// `POST /ports`: on the pool network a floating IP is required; with a `device_id`
    /// the port goes BUILD → ACTIVE, else stays DOWN.
    pub fn create_port(
        &mut self,
        user: &str,
        network: u64,
        device: Option<u64>,
        fixed_ip: Option<String>,
        name: String,
    ) -> ApiResult<u64> {
        let net = self.network(user, network)?.clone();
        if net.deleted {
            return Err(ApiError::bad(format!(
                "Network '{network}' has been deleted."
            )));
        }
        if let Some(sid) = device {
            let s = self.server(user, sid)?.clone();
            self.validate_action(&s, "CONNECT")?;
        }
        if net.floating_ip_pool && fixed_ip.is_none() {
            return Err(ApiError::bad(
                "A floating IP address is required to create a port on a public network",
            ));
        }
        let spec = NicSpec::Network { network, fixed_ip };
        let sid = device.unwrap_or(0);
        let plan = self.plan_nics(user, sid, Some(std::slice::from_ref(&spec)))?;
        let due = self.due(self.settings.timings.volume);
        let now = self.now;
        let ids = self.create_nics(user, sid, plan, due);
        for pid in &ids {
            if let Some(p) = self.state.ports.get_mut(pid) {
                p.name = name.clone();
                if device.is_none() {
                    p.device_id = None;
                    p.status = "DOWN".into();
                    p.due = None;
                }
            }
        }
        if let Some(sid) = device
            && let Some(s) = self.state.servers.get_mut(&sid)
        {
            s.ports.extend(ids.iter().copied());
            s.updated = now;
        }
        ids.first()
            .copied()
            .ok_or_else(|| ApiError::Internal("no port created".into()))
    }

    /// `DELETE /ports/<id>` (logic/servers.py `delete_port`, `_delete_port`): a port on a
    /// live server is removed by a job, and stays readable until that job completes; a
    /// port on no server (or a deleted one) goes at once.
    pub fn delete_port(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let p = self.port(user, id)?;
        let live = p
            .device_id
            .and_then(|s| self.state.servers.get(&s))
            .is_some_and(|s| !s.is_deleted());
        if !live {
            self.remove_port(id);
            return Ok(());
        }
        let due = self.due(self.settings.timings.volume);
        let now = self.now;
        if let Some(p) = self.state.ports.get_mut(&id) {
            p.deleting = true;
            p.due = Some(due);
            p.updated = now;
        }
        Ok(())
    }
}
