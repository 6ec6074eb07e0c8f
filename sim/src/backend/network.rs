//! Network (Cyclades network service): networks, ports (NICs), floating IPs, and the
//! address pools that feed server NICs.

use super::Core;
use super::compute::NicSpec;
use super::model::{FloatingIp, Network, Port, Subnet, Time};
use super::quota::Usage;
use super::seed::{PUBLIC_V4_NET, PUBLIC_V6_NET};
use crate::error::{ApiError, ApiResult};

/// A NIC decided on but not yet created.
#[derive(Debug, Clone)]
pub struct PlannedNic {
    network: u64,
    ipv4: Option<String>,
    want_ipv6: bool,
    floating_ip: Option<u64>,
    existing_port: Option<u64>,
}

const POOL_HOSTS: u64 = 16 * 254;
/// Network types accepted by `POST /networks`.
pub const NETWORK_TYPES: [&str; 4] = ["MAC_FILTERED", "IP_LESS_ROUTED", "PHYSICAL_VLAN", "CUSTOM"];

fn mac_for(port_id: u64) -> String {
    let b = port_id.to_be_bytes();
    format!("aa:00:00:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7])
}

fn ipv6_for(port_id: u64) -> String {
    let b = port_id.to_be_bytes();
    format!(
        "2001:648:2ffc:1225:a800:ff:fe{:02x}:{:02x}{:02x}",
        b[5], b[6], b[7]
    )
}

impl Core {
    /// Next address of the public IPv4 pool, `None` when exhausted.
    fn alloc_public_v4(&mut self) -> Option<String> {
        let n = self.state.next_public_host;
        if n >= POOL_HOSTS {
            return None;
        }
        self.state.next_public_host += 1;
        Some(format!("83.212.{}.{}", 96 + n / 254, n % 254 + 1))
    }

    /// A network the user can see (public or own), else 404.
    pub fn network(&self, user: &str, id: u64) -> ApiResult<&Network> {
        self.state
            .networks
            .get(&id)
            .filter(|n| n.public || n.user_id.as_deref() == Some(user))
            .ok_or_else(|| ApiError::not_found(format!("Network {id} not found")))
    }

    /// Networks the user can see; with `since`, those changed since (deleted included).
    pub fn networks_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> impl Iterator<Item = &'a Network> + 'a {
        self.state.networks.values().filter(move |n| {
            (n.public || n.user_id.as_deref() == Some(user))
                && match since {
                    Some(t) => n.updated >= t,
                    None => !n.deleted,
                }
        })
    }

    /// Validates the `networks` of a server create, without writing anything.
    pub fn plan_nics(
        &mut self,
        user: &str,
        _server: u64,
        specs: Option<&[NicSpec]>,
    ) -> ApiResult<Vec<PlannedNic>> {
        let Some(specs) = specs else {
            return Ok(vec![
                PlannedNic {
                    network: PUBLIC_V4_NET,
                    ipv4: None,
                    want_ipv6: false,
                    floating_ip: None,
                    existing_port: None,
                },
                PlannedNic {
                    network: PUBLIC_V6_NET,
                    ipv4: None,
                    want_ipv6: true,
                    floating_ip: None,
                    existing_port: None,
                },
            ]);
        };
        let mut out: Vec<PlannedNic> = Vec::new();
        for spec in specs {
            match spec {
                NicSpec::Port(pid) => {
                    let p = self
                        .state
                        .ports
                        .get(pid)
                        .filter(|p| p.user_id == user && !p.deleted)
                        .ok_or_else(|| ApiError::not_found(format!("Port {pid} not found")))?;
                    if p.device_id.is_some() || out.iter().any(|o| o.existing_port == Some(*pid)) {
                        return Err(ApiError::Conflict(format!(
                            "Port '{pid}' is already in use"
                        )));
                    }
                    out.push(PlannedNic {
                        network: p.network_id,
                        ipv4: p.ipv4.clone(),
                        want_ipv6: false,
                        floating_ip: p.floating_ip,
                        existing_port: Some(*pid),
                    });
                }
                NicSpec::Network { network, fixed_ip } => {
                    let net = self.network(user, *network)?.clone();
                    if net.deleted {
                        return Err(ApiError::bad(format!("Network '{network}' is deleted")));
                    }
                    if net.floating_ip_pool {
                        let taken: Vec<u64> = out.iter().filter_map(|o| o.floating_ip).collect();
                        let fip = self
                            .state
                            .floating_ips
                            .values()
                            .filter(|f| {
                                f.user_id == user
                                    && !f.deleted
                                    && f.network_id == *network
                                    && !taken.contains(&f.id)
                            })
                            .find(|f| match fixed_ip {
                                Some(ip) => &f.address == ip,
                                None => f.port_id.is_none(),
                            });
                        let fip = match (fip, fixed_ip) {
                            (Some(f), Some(ip)) if f.port_id.is_some() => {
                                return Err(ApiError::Conflict(format!(
                                    "IP address '{ip}' is already in use"
                                )));
                            }
                            (Some(f), _) => f.clone(),
                            (None, Some(ip)) => {
                                return Err(ApiError::Conflict(format!(
                                    "Address '{ip}' is not a floating IP of this user"
                                )));
                            }
                            (None, None) => {
                                return Err(ApiError::Conflict(format!(
                                    "Cannot find an unused floating IP to connect server to network '{network}'."
                                )));
                            }
                        };
                        out.push(PlannedNic {
                            network: *network,
                            ipv4: Some(fip.address.clone()),
                            want_ipv6: false,
                            floating_ip: Some(fip.id),
                            existing_port: None,
                        });
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
                        out.push(PlannedNic {
                            network: *network,
                            ipv4,
                            want_ipv6: has_v6,
                            floating_ip: None,
                            existing_port: None,
                        });
                    }
                }
            }
        }
        Ok(out)
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
        let plan = vec![PlannedNic {
            network: fip.network_id,
            ipv4: Some(fip.address.clone()),
            want_ipv6: false,
            floating_ip: Some(fip.id),
            existing_port: None,
        }];
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

    fn remove_port(&mut self, pid: u64) {
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

    /// `POST /networks`.
    pub fn create_network(
        &mut self,
        user: &str,
        name: String,
        kind: String,
        project: Option<String>,
    ) -> ApiResult<u64> {
        if !NETWORK_TYPES.contains(&kind.as_str()) {
            return Err(ApiError::bad(format!("Invalid network type '{kind}'")));
        }
        let project = project.unwrap_or_else(|| user.to_string());
        self.check_quota(
            &project,
            Usage {
                private_networks: 1,
                ..Default::default()
            },
        )?;
        let id = self.state.next_network_id;
        self.state.next_network_id += 1;
        let now = self.now;
        self.state.networks.insert(
            id,
            Network {
                id,
                name,
                user_id: Some(user.to_string()),
                project: Some(project),
                kind,
                public: false,
                floating_ip_pool: false,
                subnets: vec![Subnet {
                    id: 1000 + id,
                    cidr: format!("10.{}.{}.0/24", (id / 256) % 256, id % 256),
                    ip_version: 4,
                    gateway: None,
                }],
                created: now,
                updated: now,
                deleted: false,
            },
        );
        Ok(id)
    }

    /// `PUT /networks/<id>` (rename).
    pub fn rename_network(&mut self, user: &str, id: u64, name: String) -> ApiResult<()> {
        let now = self.now;
        let net = self.network(user, id)?;
        if net.public {
            return Err(ApiError::Forbidden(
                "Cannot rename a public network.".into(),
            ));
        }
        if let Some(n) = self.state.networks.get_mut(&id) {
            n.name = name;
            n.updated = now;
        }
        Ok(())
    }

    /// `DELETE /networks/<id>`: public → 403, with ports → 409.
    pub fn delete_network(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let net = self.network(user, id)?;
        if net.public {
            return Err(ApiError::Forbidden(
                "Cannot delete a public network.".into(),
            ));
        }
        if net.deleted {
            return Err(ApiError::bad(format!("Network '{id}' has been deleted.")));
        }
        if self
            .state
            .ports
            .values()
            .any(|p| p.network_id == id && !p.deleted)
        {
            return Err(ApiError::Conflict(
                "Cannot delete network: there are ports still configured on it".into(),
            ));
        }
        let now = self.now;
        if let Some(n) = self.state.networks.get_mut(&id) {
            n.deleted = true;
            n.updated = now;
        }
        Ok(())
    }

    /// A port of the user, else 404.
    pub fn port(&self, user: &str, id: u64) -> ApiResult<&Port> {
        self.state
            .ports
            .get(&id)
            .filter(|p| p.user_id == user && !p.deleted)
            .ok_or_else(|| ApiError::not_found(format!("Port {id} not found")))
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

    /// `DELETE /ports/<id>`.
    pub fn delete_port(&mut self, user: &str, id: u64) -> ApiResult<()> {
        self.port(user, id)?;
        self.remove_port(id);
        Ok(())
    }

    /// Floating IPs of a user; with `since`, changed since (deleted included).
    pub fn floating_ips_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> impl Iterator<Item = &'a FloatingIp> + 'a {
        self.state.floating_ips.values().filter(move |f| {
            f.user_id == user
                && match since {
                    Some(t) => f.updated >= t,
                    None => !f.deleted,
                }
        })
    }

    /// A floating IP of the user, else 404.
    pub fn floating_ip(&self, user: &str, id: u64) -> ApiResult<&FloatingIp> {
        self.state
            .floating_ips
            .get(&id)
            .filter(|f| f.user_id == user && !f.deleted)
            .ok_or_else(|| ApiError::not_found(format!("Floating IP {id} not found")))
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
