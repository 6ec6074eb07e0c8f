//! The server record as Synnefo renders it (`GET /servers/<id>`, `servers/detail`,
//! the reply to a create): NICs as attachments and addresses, volumes in disk order.
//! Serialized straight from the records with borrowed fields, because pollers ask for
//! it far more often than for anything else.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::model::{Server, ServerStatus};
use crate::backend::world::Core;
use crate::routes::paths::COMPUTE;
use crate::routes::render::{Link, iso, links, progress};

/// One active NIC (`api/servers.py` `nic_to_attachments`): its `id` is the NIC's, which
/// is the port's id in the network API, a JSON integer.
#[derive(Serialize)]
pub struct Attachment<'a> {
    id: u64,
    network_id: String,
    mac_address: &'a str,
    ipv4: &'a str,
    ipv6: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    ip_type: &'static str,
    #[serde(rename = "firewallProfile")]
    firewall_profile: &'static str,
}

/// One entry of `addresses.<network>` (`attachments_to_addresses`).
#[derive(Serialize)]
pub struct Address<'a> {
    version: u8,
    addr: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    ip_type: &'static str,
}

#[derive(Serialize)]
struct IdRef<T: Serialize> {
    id: T,
    links: [Link; 2],
}

#[derive(Serialize)]
struct SecurityGroup {
    name: &'static str,
}

/// One entry of a server's `diagnostics` (Synnefo `api/servers.py` `diagnostics_to_dict`):
/// the latest is how a failed build tells its reason.
#[derive(Serialize)]
pub struct Diagnostic {
    source: &'static str,
    created: String,
    message: &'static str,
    details: &'static str,
    level: &'static str,
}

/// The serialized server record.
#[derive(Serialize)]
pub struct ServerView<'a> {
    id: u64,
    name: &'a str,
    user_id: &'a str,
    tenant_id: &'a str,
    status: &'static str,
    #[serde(rename = "SNF:task_state")]
    task_state: &'static str,
    progress: u8,
    created: String,
    updated: String,
    flavor: IdRef<u64>,
    image: IdRef<&'a str>,
    shared_to_project: bool,
    metadata: &'a BTreeMap<String, String>,
    tags: [&'static str; 0],
    attachments: Vec<Attachment<'a>>,
    addresses: BTreeMap<String, Vec<Address<'a>>>,
    volumes: Vec<u64>,
    key_name: Option<&'a str>,
    #[serde(rename = "SNF:key_names")]
    key_names: Vec<&'a str>,
    suspended: bool,
    deleted: bool,
    #[serde(rename = "SNF:fqdn")]
    fqdn: String,
    #[serde(rename = "hostId")]
    host_id: &'static str,
    security_groups: [SecurityGroup; 1],
    config_drive: &'static str,
    #[serde(rename = "accessIPv4")]
    access_ipv4: &'static str,
    #[serde(rename = "accessIPv6")]
    access_ipv6: &'static str,
    #[serde(rename = "SNF:rescue")]
    rescue: bool,
    links: [Link; 2],
    #[serde(rename = "SNF:port_forwarding")]
    port_forwarding: BTreeMap<String, String>,
    diagnostics: Vec<Diagnostic>,
    #[serde(rename = "adminPass", skip_serializing_if = "Option::is_none")]
    admin_pass: Option<&'a str>,
}

/// The view of `s`; `admin_pass` only in the reply to its creation.
pub fn server_view<'a>(
    c: &'a Core,
    s: &'a Server,
    base: &str,
    admin_pass: Option<&'a str>,
) -> ServerView<'a> {
    let progress = match (s.status, s.task) {
        (ServerStatus::Build, Some(t)) => progress(c.now, t.started, t.due),
        (ServerStatus::Build, None) | (ServerStatus::Error, _) => 0,
        _ => 100,
    };
    let (attachments, addresses) = if s.is_deleted() {
        (Vec::new(), BTreeMap::new())
    } else {
        nics(c, s, None)
    };
    let mut volumes: Vec<(u32, u64)> = s
        .volumes
        .iter()
        .filter_map(|v| c.state.volumes.get(v))
        .filter(|v| v.server_id == Some(s.id) || s.is_deleted())
        .map(|v| (v.index.unwrap_or(u32::MAX), v.id))
        .collect();
    volumes.sort();
    ServerView {
        id: s.id,
        name: &s.name,
        user_id: &s.user_id,
        tenant_id: &s.project,
        status: s.status.as_str(),
        task_state: s.task.map_or("", |t| t.kind.task_state()),
        progress,
        created: iso(&s.created),
        updated: iso(&s.updated),
        flavor: IdRef {
            id: s.flavor_id,
            links: links(base, COMPUTE, "flavors", &s.flavor_id),
        },
        image: IdRef {
            id: &s.image_id,
            links: links(base, COMPUTE, "images", &s.image_id),
        },
        shared_to_project: false,
        metadata: &s.metadata,
        tags: [],
        attachments,
        addresses,
        volumes: volumes.into_iter().map(|(_, v)| v).collect(),
        key_name: s.key_name.as_deref(),
        key_names: s.key_name.as_deref().into_iter().collect(),
        suspended: s.suspended,
        deleted: s.is_deleted(),
        fqdn: format!("snf-{}.vm.okeanos.grnet.gr", s.id),
        host_id: "",
        security_groups: [SecurityGroup { name: "default" }],
        config_drive: "",
        access_ipv4: "",
        access_ipv6: "",
        rescue: false,
        links: links(base, COMPUTE, "servers", &s.id),
        port_forwarding: BTreeMap::new(),
        diagnostics: diagnostics(s),
        admin_pass,
    }
}

/// The server's active NICs (on `network` only, when given), as `attachments` and as
/// `addresses` keyed by network id: `api/servers.py` `nic_to_attachments` and
/// `attachments_to_addresses`, shared by the server view and `/servers/<id>/ips`.
pub fn nics<'a>(
    c: &'a Core,
    s: &Server,
    network: Option<u64>,
) -> (Vec<Attachment<'a>>, BTreeMap<String, Vec<Address<'a>>>) {
    let mut attachments = Vec::new();
    let mut addresses: BTreeMap<String, Vec<Address<'a>>> = BTreeMap::new();
    let mut ports: Vec<_> = s
        .ports
        .iter()
        .filter_map(|pid| c.state.ports.get(pid))
        .filter(|p| !p.deleted && p.status == "ACTIVE")
        .filter(|p| network.is_none_or(|n| p.network_id == n))
        .collect();
    ports.sort_by_key(|p| p.id);
    for p in ports {
        let ip_type = if p.floating_ip.is_some() {
            "floating"
        } else {
            "fixed"
        };
        attachments.push(Attachment {
            id: p.id,
            network_id: p.network_id.to_string(),
            mac_address: &p.mac,
            ipv4: p.ipv4.as_deref().unwrap_or(""),
            ipv6: p.ipv6.as_deref().unwrap_or(""),
            ip_type,
            firewall_profile: "DISABLED",
        });
        let entry = addresses.entry(p.network_id.to_string()).or_default();
        if let Some(a) = &p.ipv4 {
            entry.push(Address {
                version: 4,
                addr: a,
                ip_type,
            });
        }
        if let Some(a) = &p.ipv6 {
            entry.push(Address {
                version: 6,
                addr: a,
                ip_type: "fixed",
            });
        }
    }
    (attachments, addresses)
}

/// A server's diagnostics: the simulator writes one when it fails a build.
pub fn diagnostics(s: &Server) -> Vec<Diagnostic> {
    match s.status {
        ServerStatus::Error => vec![Diagnostic {
            source: "image-helper",
            created: iso(&s.updated),
            message: "Image customization failed",
            details: "the simulator failed this build as it was told to",
            level: "ERROR",
        }],
        _ => Vec::new(),
    }
}
