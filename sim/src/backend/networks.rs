//! Networks (Cyclades network service): the public ones of the seed and the private
//! ones users create — with no subnet, as `logic/networks.py` `create` makes them — and
//! the subnets users add to them (`logic/subnets.py` `_create_subnet`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::lookup::listed;
use super::model::{Network, Subnet, Time};
use super::quota::Usage;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// Network types accepted by `POST /networks`.
pub const NETWORK_TYPES: [&str; 4] = ["MAC_FILTERED", "IP_LESS_ROUTED", "PHYSICAL_VLAN", "CUSTOM"];

/// app_settings/default/api.py `API_ENABLED_NETWORK_FLAVORS`: what users may create.
pub const ENABLED_NETWORK_TYPES: [&str; 1] = ["MAC_FILTERED"];

/// db/models.py `Network.NETWORK_NAME_LENGTH`, checked by logic/utils.py
/// `check_name_length` in characters.
const NETWORK_NAME_LENGTH: usize = 128;

fn check_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > NETWORK_NAME_LENGTH {
        return Err(ApiError::bad("Network name is too long"));
    }
    Ok(())
}

/// Public networks are everybody's; a private one only its creator's.
fn visible(n: &Network, user: &str) -> bool {
    n.public || n.user_id.as_deref() == Some(user)
}

impl Core {
    /// A network the user can see (public or own): api/util.py `get_network`'s
    /// "Network <id> not found." otherwise.
    pub fn network(&self, user: &str, id: u64) -> ApiResult<&Network> {
        self.state
            .networks
            .get(&id)
            .filter(|n| visible(n, user))
            .ok_or_else(|| ApiError::not_found(format!("Network {id} not found.")))
    }

    /// api/util.py `get_network(..., non_deleted=True)`.
    fn live_network(&self, user: &str, id: u64) -> ApiResult<&Network> {
        let n = self.network(user, id)?;
        if n.deleted {
            return Err(ApiError::bad("Network has been deleted."));
        }
        Ok(n)
    }

    /// Networks the user can see; with `since`, those changed since (deleted included).
    pub fn networks_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> impl Iterator<Item = &'a Network> + 'a {
        self.state
            .networks
            .values()
            .filter(move |n| visible(n, user) && listed(*n, since))
    }

    /// `POST /networks`: api/networks.py `create_network` (the type must be one of
    /// `Network.FLAVORS`, 400, and one of `API_ENABLED_NETWORK_FLAVORS` — only
    /// `MAC_FILTERED` by default —, 403), then logic/networks.py `create` (name length),
    /// then the quota commission.
    pub fn create_network(
        &mut self,
        user: &str,
        name: String,
        kind: String,
        project: Option<String>,
        shared_to_project: bool,
    ) -> ApiResult<u64> {
        if !NETWORK_TYPES.contains(&kind.as_str()) {
            return Err(ApiError::bad(format!("Invalid network type '{kind}'")));
        }
        if !ENABLED_NETWORK_TYPES.contains(&kind.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "Cannot create network of type '{kind}'."
            )));
        }
        check_name(&name)?;
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
                shared_to_project,
                project: Some(project),
                kind,
                public: false,
                floating_ip_pool: false,
                subnets: Vec::new(),
                created: now,
                updated: now,
                deleted: false,
            },
        );
        Ok(id)
    }

    /// `PUT /networks/<id>`: logic/networks.py `rename` — not deleted, not public, then
    /// the name length.
    pub fn rename_network(&mut self, user: &str, id: u64, name: String) -> ApiResult<()> {
        let now = self.now;
        let net = self.live_network(user, id)?;
        if net.public {
            return Err(ApiError::Forbidden(
                "Cannot rename the public network.".into(),
            ));
        }
        check_name(&name)?;
        if let Some(n) = self.state.networks.get_mut(&id) {
            n.name = name;
            n.updated = now;
        }
        Ok(())
    }

    /// `DELETE /networks/<id>`: logic/networks.py `delete` — not deleted (400), not
    /// public (403), no ports (409).
    pub fn delete_network(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let net = self.live_network(user, id)?;
        if net.public {
            return Err(ApiError::Forbidden(
                "Cannot delete the public network.".into(),
            ));
        }
        if self
            .state
            .ports
            .values()
            .any(|p| p.network_id == id && !p.deleted)
        {
            return Err(ApiError::Conflict(format!(
                "Cannot delete network. There are ports still configured on network network {id}"
            )));
        }
        let now = self.now;
        if let Some(n) = self.state.networks.get_mut(&id) {
            n.deleted = true;
            n.updated = now;
        }
        Ok(())
    }

    /// `POST /subnets` after the API's own checks (`api/subnets.py` `create_subnet`), in
    /// the order of `logic/subnets.py` `_create_subnet`.
    pub fn create_subnet(&mut self, user: &str, req: CreateSubnet) -> ApiResult<u64> {
        let net_id: u64 = req
            .network_id
            .parse()
            .map_err(|_| ApiError::bad("Malformed network ID"))?;
        let net = self
            .state
            .networks
            .get(&net_id)
            .ok_or_else(|| ApiError::not_found("No network found with that ID"))?;
        if net.deleted {
            return Err(ApiError::bad("Network has been deleted"));
        }
        if net.user_id.as_deref() != Some(user) {
            return Err(ApiError::Forbidden("Forbidden operation".into()));
        }
        if req.ip_version != 4 && req.ip_version != 6 {
            return Err(ApiError::bad("Malformed IP version type"));
        }
        if net.subnets.iter().any(|s| s.ip_version == req.ip_version) {
            return Err(ApiError::bad(
                "Only one subnet of IPv4/IPv6 per network is allowed",
            ));
        }
        if self
            .state
            .ports
            .values()
            .any(|p| p.network_id == net_id && !p.deleted)
        {
            return Err(ApiError::bad(format!(
                "Cannot create subnet in network {net_id}, VMs are already connected to this network"
            )));
        }
        let pools = if req.ip_version == 6 {
            check_v6(&req.cidr, req.gateway.as_deref())?;
            if req.pools.is_some() {
                return Err(ApiError::Conflict(
                    "Can't allocate an IP Pool in IPv6".into(),
                ));
            }
            Vec::new()
        } else {
            let (base, prefix) = check_v4(&req.cidr, req.gateway.as_deref())?;
            v4_pools(base, prefix, req.gateway.as_deref(), req.pools)?
        };
        if req.name.chars().count() > SUBNET_NAME_LENGTH {
            return Err(ApiError::bad("Subnet name is too long"));
        }
        let id = self.next_subnet_id();
        let now = self.now;
        if let Some(n) = self.state.networks.get_mut(&net_id) {
            n.subnets.push(Subnet {
                id,
                cidr: req.cidr,
                ip_version: req.ip_version,
                gateway: req.gateway,
                name: req.name,
                dhcp: req.dhcp,
                pools: pools
                    .into_iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                user_id: Some(user.to_string()),
            });
            n.updated = now;
        }
        Ok(id)
    }

    fn next_subnet_id(&self) -> u64 {
        let max = self
            .state
            .networks
            .values()
            .flat_map(|n| &n.subnets)
            .map(|s| s.id)
            .max();
        max.map_or(1, |m| m + 1)
    }
}

/// `Subnet.SUBNET_NAME_LENGTH` (`db/models.py`).
pub const SUBNET_NAME_LENGTH: usize = 128;
/// `MAX_CIDR_BLOCK`, Cyclades' default setting: the largest IPv4 subnet is a /22.
pub const MAX_CIDR_BLOCK: u8 = 22;

/// A subnet to create, as the API parsed it.
#[derive(Debug, Clone)]
pub struct CreateSubnet {
    /// `network_id` as given (a string or a number's text).
    pub network_id: String,
    /// `cidr`.
    pub cidr: String,
    /// `name` (`""` when absent).
    pub name: String,
    /// `ip_version` (4 by default).
    pub ip_version: u8,
    /// `gateway_ip`: absent gives the first host, `null` none.
    pub gateway: Option<String>,
    /// `enable_dhcp`.
    pub dhcp: bool,
    /// `allocation_pools`, parsed.
    pub pools: Option<Vec<(Ipv4Addr, Ipv4Addr)>>,
}

fn parse_net<A: std::str::FromStr>(cidr: &str) -> Option<(A, u8)> {
    let (a, p) = cidr.split_once('/')?;
    Some((a.parse().ok()?, p.parse().ok()?))
}

/// `validate_subnet_params` for IPv4: a strict network (no host bits), /22–/29, and a
/// gateway inside it.
fn check_v4(cidr: &str, gateway: Option<&str>) -> ApiResult<(u32, u8)> {
    let bad = || ApiError::bad("Invalid network IPv4 subnet");
    let (addr, prefix) = parse_net::<Ipv4Addr>(cidr).ok_or_else(bad)?;
    if prefix > 32 {
        return Err(bad());
    }
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let base = u32::from(addr);
    if base & !mask != 0 {
        return Err(bad());
    }
    if !(MAX_CIDR_BLOCK..=29).contains(&prefix) {
        return Err(ApiError::OverLimit {
            message: "Unsupported network size".into(),
            details: format!("Netmask must be in range: [{MAX_CIDR_BLOCK}, 29]"),
        });
    }
    if let Some(g) = gateway.filter(|g| !g.is_empty()) {
        let g: Ipv4Addr = g
            .parse()
            .map_err(|_| ApiError::bad("Invalid network IPv4 gateway"))?;
        if u32::from(g) & mask != base {
            return Err(ApiError::bad("Invalid network IPv4 gateway"));
        }
    }
    Ok((base, prefix))
}

/// `validate_subnet_params` for IPv6: a strict /64 and a gateway inside it.
fn check_v6(cidr: &str, gateway: Option<&str>) -> ApiResult<()> {
    let bad = || ApiError::bad("Invalid network IPv6 subnet");
    let (addr, prefix) = parse_net::<Ipv6Addr>(cidr).ok_or_else(bad)?;
    if prefix > 128 {
        return Err(bad());
    }
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    let base = u128::from(addr);
    if base & !mask != 0 {
        return Err(bad());
    }
    if prefix != 64 {
        return Err(ApiError::bad(
            "Unsupported IPv6 subnet size. Network netmask must be /64",
        ));
    }
    if let Some(g) = gateway.filter(|g| !g.is_empty()) {
        let g: Ipv6Addr = g
            .parse()
            .map_err(|_| ApiError::bad("Invalid network IPv6 gateway"))?;
        if u128::from(g) & mask != base {
            return Err(ApiError::bad("Invalid network IPv6 gateway"));
        }
    }
    Ok(())
}

/// The IPv4 pools: the given ones, else the hosts around the gateway; then
/// `validate_pools` (409s).
fn v4_pools(
    base: u32,
    prefix: u8,
    gateway: Option<&str>,
    given: Option<Vec<(Ipv4Addr, Ipv4Addr)>>,
) -> ApiResult<Vec<(Ipv4Addr, Ipv4Addr)>> {
    let network = base;
    let broadcast = base | (u32::MAX >> prefix);
    let gw: Option<u32> = gateway
        .and_then(|g| g.parse::<Ipv4Addr>().ok())
        .map(u32::from);
    let pools: Vec<(u32, u32)> = match given {
        Some(p) => p
            .into_iter()
            .map(|(a, b)| (u32::from(a), u32::from(b)))
            .collect(),
        None => match gw {
            Some(g) if g - network == 1 => vec![(g + 1, broadcast - 1)],
            Some(g) if broadcast - g == 1 => vec![(network + 1, g - 1)],
            Some(g) => vec![(network + 1, g - 1), (g + 1, broadcast - 1)],
            None => vec![(network + 1, broadcast - 1)],
        },
    };
    if let (Some(first), Some(last)) = (pools.first(), pools.last()) {
        if first.0 <= network || last.1 >= broadcast {
            return Err(ApiError::Conflict("IP Pool out of bounds".into()));
        }
        for &(start, end) in &pools {
            if start > end {
                return Err(ApiError::Conflict("Invalid IP pool range".into()));
            }
            if gw.is_some_and(|g| !(g < start || g > end)) {
                return Err(ApiError::Conflict("Gateway cannot be in pool range".into()));
            }
        }
        let mut end = network;
        for &(start, stop) in &pools {
            if end >= start {
                return Err(ApiError::Conflict("IP Pool range conflict".into()));
            }
            end = stop;
        }
    }
    Ok(pools
        .into_iter()
        .map(|(a, b)| (Ipv4Addr::from(a), Ipv4Addr::from(b)))
        .collect())
}
