//! Networks (Cyclades network service): the public ones of the seed and the private
//! ones users create, each with one subnet.

use super::lookup::{find, listed};
use super::model::{Network, Subnet, Time};
use super::quota::Usage;
use super::world::Core;
use crate::error::{ApiError, ApiResult};

/// Network types accepted by `POST /networks`.
pub const NETWORK_TYPES: [&str; 4] = ["MAC_FILTERED", "IP_LESS_ROUTED", "PHYSICAL_VLAN", "CUSTOM"];

/// Public networks are everybody's; a private one only its creator's.
fn visible(n: &Network, user: &str) -> bool {
    n.public || n.user_id.as_deref() == Some(user)
}

impl Core {
    /// A network the user can see (public or own), else 404.
    pub fn network(&self, user: &str, id: u64) -> ApiResult<&Network> {
        find(&self.state.networks, &id, "Network", |n| visible(n, user))
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
}
