//! Synnefo records → the connector's WIT records, and the status mappings.

use std::collections::BTreeMap;

use crate::protocol;
use crate::wit::{Disk, DiskState, Flavor, Image, ImageState, Tag, Vm, VmState};

/// Server metadata keys copied from the image at creation (like kamaki); not user tags.
pub const IMAGE_META_KEYS: [&str; 2] = ["OS", "USERS"];

pub fn flavor(f: &protocol::Flavor) -> Flavor {
    Flavor {
        id: f.id.clone(),
        name: f.name.clone(),
        cpus: f.vcpus,
        ram_mb: f.ram,
        disk_gb: f.disk,
        disk_template: f.disk_template.clone(),
        allow_create: f.allow_create,
    }
}

/// Synnefo server `status` and `SNF:task_state` → vm-state.
pub fn vm_state(status: &str, task: &str) -> VmState {
    match status.to_ascii_uppercase().as_str() {
        "BUILD" => VmState::Pending,
        "ACTIVE" => VmState::Running,
        "STOPPED" if task.eq_ignore_ascii_case("RESIZING") => VmState::Resizing,
        "STOPPED" => VmState::Stopped,
        "REBOOT" => VmState::Rebooting,
        "RESIZE" => VmState::Resizing,
        "ERROR" => VmState::Failed,
        "DELETED" => VmState::Terminated,
        _ => VmState::Unknown,
    }
}

pub fn vm(s: &protocol::Server) -> Vm {
    let (ipv4, ipv6) = addresses(s);
    Vm {
        id: s.id.clone(),
        name: s.name.clone(),
        state: vm_state(&s.status, &s.task_state),
        cloud_status: s.status.clone(),
        status_reason: s.diagnostics.first().map(|d| match d.details.as_str() {
            "" => d.message.clone(),
            details => format!("{}: {details}", d.message),
        }),
        task: Some(s.task_state.clone()).filter(|t| !t.is_empty()),
        progress: s.progress,
        ipv4,
        ipv6,
        flavor: s.flavor.clone(),
        image: s.image.clone(),
        tags: user_tags(&s.metadata),
        disk_ids: s.volumes.clone(),
        created: s.created.clone(),
    }
}

/// IPs from the active NICs (`attachments`), else from `addresses`; no duplicates.
fn addresses(s: &protocol::Server) -> (Vec<String>, Vec<String>) {
    let mut v4: Vec<String> = Vec::new();
    let mut v6: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, ip: &str| {
        if !ip.is_empty() && !list.iter().any(|x| x == ip) {
            list.push(ip.to_string());
        }
    };
    for nic in &s.attachments {
        push(&mut v4, &nic.ipv4);
        push(&mut v6, &nic.ipv6);
    }
    if v4.is_empty() && v6.is_empty() {
        for addr in s.addresses.iter().flat_map(|(_, list)| list) {
            match addr.version {
                4 => push(&mut v4, &addr.addr),
                6 => push(&mut v6, &addr.addr),
                _ if addr.addr.contains(':') => push(&mut v6, &addr.addr),
                _ => push(&mut v4, &addr.addr),
            }
        }
    }
    (v4, v6)
}

/// Server metadata without the keys copied from the image.
pub fn user_tags(metadata: &BTreeMap<String, String>) -> Vec<Tag> {
    metadata
        .iter()
        .filter(|(k, _)| !IMAGE_META_KEYS.contains(&k.as_str()))
        .map(to_tag)
        .collect()
}

/// A metadata or property entry as a WIT tag.
fn to_tag((key, value): (&String, &String)) -> Tag {
    Tag {
        key: key.clone(),
        value: value.clone(),
    }
}

/// Whether the server carries every tag (same key and value).
pub fn has_tags(s: &protocol::Server, tags: &[Tag]) -> bool {
    tags.iter()
        .all(|t| s.metadata.get(&t.key).is_some_and(|v| *v == t.value))
}

pub fn image_state(status: &str) -> ImageState {
    match status.to_ascii_uppercase().as_str() {
        "ACTIVE" | "AVAILABLE" => ImageState::Available,
        "SAVING" | "QUEUED" | "CREATING" => ImageState::Saving,
        "ERROR" | "KILLED" => ImageState::Failed,
        "DELETED" => ImageState::Deleted,
        _ => ImageState::Unknown,
    }
}

/// All of an image's properties (compute `metadata` and Plankton `properties`).
pub fn image_properties(i: &protocol::Image) -> BTreeMap<String, String> {
    let mut all = i.properties.clone();
    all.extend(i.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// An image property by its conventional upper-case name (`OS`, `USERS`, `OSFAMILY`). Images
/// registered through Plankton have their property names lowercased
/// (snf-cyclades-app/synnefo/plankton/views.py `_get_image_headers`), the ~Okeanos images
/// carry them upper-case: the exact name wins, else any case.
pub fn property<'a>(props: &'a BTreeMap<String, String>, key: &str) -> Option<&'a String> {
    props
        .get(key)
        .or_else(|| {
            props
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_empty())
}

pub fn image(i: &protocol::Image) -> Image {
    let props = image_properties(i);
    let get = |k: &str| property(&props, k).cloned();
    Image {
        id: i.id.clone(),
        name: i.name.clone(),
        state: image_state(&i.status),
        progress: i.progress,
        os: get("OS"),
        users: get("USERS"),
        public: i.public.or(i.is_public).unwrap_or(false),
        is_snapshot: i.is_snapshot.unwrap_or(false),
        size_bytes: i.size,
        properties: props.iter().map(to_tag).collect(),
    }
}

/// A snapshot just created: it is an image (listed with `is_snapshot`) while being saved.
pub fn snapshot_image(s: &protocol::Snapshot) -> Image {
    let get = |k: &str| property(&s.metadata, k).cloned();
    Image {
        id: s.id.clone(),
        name: s.display_name.clone(),
        state: if s.status.is_empty() {
            ImageState::Saving
        } else {
            image_state(&s.status)
        },
        progress: s.progress,
        os: get("OS"),
        users: get("USERS"),
        public: false,
        is_snapshot: true,
        size_bytes: s.size.map(|gb| gb << 30),
        properties: s.metadata.iter().map(to_tag).collect(),
    }
}

pub fn disk_state(status: &str) -> DiskState {
    let s = status.to_ascii_lowercase().replace('-', "_");
    match s.as_str() {
        "creating" => DiskState::Creating,
        "available" => DiskState::Available,
        "attaching" => DiskState::Attaching,
        "in_use" => DiskState::InUse,
        "detaching" => DiskState::Detaching,
        "deleting" => DiskState::Deleting,
        "deleted" => DiskState::Deleted,
        s if s.starts_with("error") => DiskState::Failed,
        _ => DiskState::Unknown,
    }
}

pub fn disk(v: &protocol::Volume) -> Disk {
    let attachment = v.attachments.iter().find(|a| a.server_id.is_some());
    Disk {
        id: v.id.clone(),
        name: v.display_name.clone(),
        size_gb: v.size.unwrap_or(0),
        state: disk_state(&v.status),
        vm_id: attachment.and_then(|a| a.server_id.clone()),
        device_index: attachment.and_then(|a| a.device_index),
        delete_on_termination: v.delete_on_termination.unwrap_or(false),
    }
}

/// Whether a volume is attached to the server.
pub fn attached_to(v: &protocol::Volume, server_id: &str) -> bool {
    v.attachments
        .iter()
        .any(|a| a.server_id.as_deref() == Some(server_id))
}

#[cfg(test)]
mod tests;
