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

#[derive(Serialize)]
struct Attachment<'a> {
    id: String,
    network_id: String,
    mac_address: &'a str,
    ipv4: &'a str,
    ipv6: &'a str,
    #[serde(rename = "OS-EXT-IPS:type")]
    ip_type: &'static str,
    #[serde(rename = "firewallProfile")]
    firewall_profile: &'static str,
}

#[derive(Serialize)]
struct Address<'a> {
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
struct Diagnostic {
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
    metadata: &'a BTreeMap<String, String>,
    attachments: Vec<Attachment<'a>>,
    addresses: BTreeMap<String, Vec<Address<'a>>>,
    volumes: Vec<u64>,
    key_name: Option<&'a str>,
    suspended: bool,
    deleted: bool,
    #[serde(rename = "SNF:fqdn")]
    fqdn: String,
    #[serde(rename = "hostId")]
    host_id: &'static str,
    security_groups: [SecurityGroup; 1],
    config_drive: &'static str,
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
    let mut attachments = Vec::new();
    let mut addresses: BTreeMap<String, Vec<Address<'a>>> = BTreeMap::new();
    if !s.is_deleted() {
        for (i, pid) in s.ports.iter().enumerate() {
            let Some(p) = c.state.ports.get(pid) else {
                continue;
            };
            if p.deleted || p.status != "ACTIVE" {
                continue;
            }
            let ip_type = if p.floating_ip.is_some() {
                "floating"
            } else {
                "fixed"
            };
            attachments.push(Attachment {
                id: format!("nic-{}-{i}", s.id),
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
    }
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
        metadata: &s.metadata,
        attachments,
        addresses,
        volumes: volumes.into_iter().map(|(_, v)| v).collect(),
        key_name: s.key_name.as_deref(),
        suspended: s.suspended,
        deleted: s.is_deleted(),
        fqdn: format!("snf-{}.vm.okeanos.grnet.gr", s.id),
        host_id: "",
        security_groups: [SecurityGroup { name: "default" }],
        config_drive: "",
        links: links(base, COMPUTE, "servers", &s.id),
        port_forwarding: BTreeMap::new(),
        diagnostics: match s.status {
            ServerStatus::Error => vec![Diagnostic {
                source: "image-helper",
                created: iso(&s.updated),
                message: "Image customization failed",
                details: "the simulator failed this build as it was told to",
                level: "ERROR",
            }],
            _ => Vec::new(),
        },
        admin_pass,
    }
}
