//! Compute (Cyclades): servers, their actions, metadata, volume attachments, key pairs.

use std::collections::BTreeMap;

use base64::Engine;
use rand::Rng;

use super::Core;
use super::model::{
    ImageStatus, Keypair, Server, ServerStatus, Task, TaskKind, Volume, VolumeStatus,
};
use super::quota::Usage;
use super::seed::{MAX_DISKS, PUBLIC_V4_NET, PUBLIC_V6_NET};
use crate::error::{ApiError, ApiResult};

/// One `personality` entry.
#[derive(Debug, Clone, Default)]
pub struct Personality {
    /// Target path.
    pub path: String,
    /// Base64 contents.
    pub contents: String,
}

/// One `networks` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicSpec {
    /// `{"uuid": net, "fixed_ip": ip?}`.
    Network {
        /// Network id.
        network: u64,
        /// Requested address.
        fixed_ip: Option<String>,
    },
    /// `{"port": id}`.
    Port(u64),
}

/// One `block_device_mapping_v2` entry.
#[derive(Debug, Clone, Default)]
pub struct BlockDevice {
    /// image, snapshot, volume or blank.
    pub source_type: String,
    /// Source id.
    pub uuid: Option<String>,
    /// GiB.
    pub volume_size: Option<u64>,
    /// Deleted with the server (default true except for `source_type: volume`).
    pub delete_on_termination: Option<bool>,
}

/// A parsed `POST /servers` body.
#[derive(Debug, Clone, Default)]
pub struct CreateServer {
    /// Name.
    pub name: String,
    /// Image or snapshot uuid.
    pub image_ref: String,
    /// Flavor id.
    pub flavor_ref: u64,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Files to inject.
    pub personality: Vec<Personality>,
    /// `None` when absent (default NICs), `Some(vec![])` for no NICs.
    pub networks: Option<Vec<NicSpec>>,
    /// Project to charge.
    pub project: Option<String>,
    /// Key pair.
    pub key_name: Option<String>,
    /// `SNF:key_names`.
    pub key_names: Vec<String>,
    /// Requested password.
    pub admin_pass: Option<String>,
    /// Base64 user data.
    pub user_data: Option<String>,
    /// Block device mapping.
    pub block_devices: Vec<BlockDevice>,
}

/// A server action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `shutdown`.
    Shutdown,
    /// `reboot`.
    Reboot,
    /// `resize`.
    Resize(u64),
    /// `console`.
    Console(String),
    /// `addFloatingIp`.
    AddFloatingIp(String),
    /// `removeFloatingIp`.
    RemoveFloatingIp(String),
}

/// A console grant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Console {
    /// Always `vnc`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// One-time password.
    pub password: String,
}

const MAX_PERSONALITY: usize = 5;
const MAX_PERSONALITY_SIZE: usize = 10240;
const MAX_METADATA: usize = 10;

fn random_password() -> String {
    let mut rng = rand::rng();
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut p: String = (0..9)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    // Guarantee the mix Synnefo demands.
    p.insert(rng.random_range(0..p.len()), 'A');
    p.push('a');
    p.push('7');
    p
}

/// `adminPass` strength rule: ≥ 10 chars with upper, lower and digit.
pub fn strong_password(p: &str) -> bool {
    p.chars().count() >= 10
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
}

/// Validates server metadata limits (count, key and value lengths).
pub fn check_metadata(meta: &BTreeMap<String, String>) -> ApiResult<()> {
    if meta.len() > MAX_METADATA {
        return Err(ApiError::bad(format!(
            "Maximum number of metadata items is {MAX_METADATA}"
        )));
    }
    for (k, v) in meta {
        if k.is_empty() || k.chars().count() > 64 {
            return Err(ApiError::bad(
                "Malformed metadata key: must be 1 to 64 characters",
            ));
        }
        if v.chars().count() > 255 {
            return Err(ApiError::bad(
                "Metadata value is too long: at most 255 characters",
            ));
        }
    }
    Ok(())
}

impl Core {
    /// A server of `user` (deleted ones included), else 404.
    pub fn server(&self, user: &str, id: u64) -> ApiResult<&Server> {
        self.state
            .servers
            .get(&id)
            .filter(|s| s.user_id == user)
            .ok_or_else(|| ApiError::not_found(format!("Server {id} not found")))
    }

    fn server_mut(&mut self, user: &str, id: u64) -> ApiResult<&mut Server> {
        self.state
            .servers
            .get_mut(&id)
            .filter(|s| s.user_id == user)
            .ok_or_else(|| ApiError::not_found(format!("Server {id} not found")))
    }

    /// Synnefo's `validate_server_action` ladder.
    pub fn validate_action(&self, s: &Server, action: &str) -> ApiResult<()> {
        if s.is_deleted() {
            return Err(ApiError::bad(format!(
                "Server '{}' has been deleted.",
                s.id
            )));
        }
        if action == "DESTROY" {
            return Ok(());
        }
        if s.suspended {
            return Err(ApiError::Forbidden("Administratively Suspended VM".into()));
        }
        if let Some(t) = s.task {
            if t.kind == TaskKind::Build {
                return Err(ApiError::BuildInProgress(format!(
                    "Server '{}' is being built.",
                    s.id
                )));
            }
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while there is a pending '{}'.",
                t.kind.action()
            )));
        }
        let op = s.status.operstate();
        if op == "ERROR" {
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while server is in 'ERROR' state."
            )));
        }
        if op == "BUILD" {
            return Err(ApiError::BuildInProgress(format!(
                "Server '{}' is being built.",
                s.id
            )));
        }
        let wrong = (action == "START" && op != "STOPPED")
            || (action == "STOP" && op != "STARTED")
            || (action == "RESIZE" && op != "STOPPED");
        if wrong {
            return Err(ApiError::bad(format!(
                "Cannot perform '{action}' action while server is in '{op}' state."
            )));
        }
        Ok(())
    }

    /// Servers of `user` for lists: non-deleted, or changed since `since` (deleted included).
    pub fn servers_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<super::model::Time>,
    ) -> impl Iterator<Item = &'a Server> + 'a {
        self.state.servers.values().filter(move |s| {
            s.user_id == user
                && match since {
                    Some(t) => s.updated >= t,
                    None => !s.is_deleted(),
                }
        })
    }

    fn pick_fail_build(&mut self, name: &str) -> bool {
        if self.settings.fail_builds > 0 {
            self.settings.fail_builds -= 1;
            return true;
        }
        self.settings
            .fail_build_names
            .iter()
            .any(|p| !p.is_empty() && name.contains(p.as_str()))
    }

    /// `POST /servers`: validates everything of the §2 table, charges quota, creates the
    /// server with its volumes and NICs in BUILD. Returns the id and the admin password.
    pub fn create_server(&mut self, user: &str, req: CreateServer) -> ApiResult<(u64, String)> {
        if req.name.chars().count() > 255 {
            return Err(ApiError::bad("Server name is too long"));
        }
        check_metadata(&req.metadata)?;
        if req.personality.len() > MAX_PERSONALITY {
            return Err(ApiError::OverLimit {
                message: "Maximum number of personalities exceeded".into(),
                details: String::new(),
            });
        }
        for p in &req.personality {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(p.contents.as_bytes())
                .map_err(|_| ApiError::bad("Personality contents are not valid base64"))?;
            if decoded.len() > MAX_PERSONALITY_SIZE {
                return Err(ApiError::OverLimit {
                    message: "Personality file size exceeded".into(),
                    details: String::new(),
                });
            }
            if p.path.is_empty() {
                return Err(ApiError::bad("Malformed personality: path is required"));
            }
        }
        if let Some(ud) = &req.user_data
            && base64::engine::general_purpose::STANDARD
                .decode(ud.as_bytes())
                .is_err()
        {
            return Err(ApiError::bad("User data is not valid base64"));
        }
        if let Some(p) = &req.admin_pass
            && !strong_password(p)
        {
            return Err(ApiError::bad(
                "Invalid adminPass: it must be at least 10 characters long and contain upper-case, lower-case letters and digits",
            ));
        }
        if req.key_name.is_some() && !req.key_names.is_empty() {
            return Err(ApiError::bad(
                "Only one of 'key_name' and 'SNF:key_names' can be used",
            ));
        }
        let flavor = self
            .flavor(req.flavor_ref)
            .filter(|f| !f.deleted)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Flavor {} not found", req.flavor_ref)))?;
        let image = self.usable_image(user, &req.image_ref)?.clone();
        for k in req.key_name.iter().chain(req.key_names.iter()) {
            if !self
                .state
                .keypairs
                .iter()
                .any(|kp| kp.user_id == user && &kp.name == k)
            {
                return Err(ApiError::not_found(format!("Keypair {k} not found")));
            }
        }
        if !flavor.allow_create {
            return Err(ApiError::Forbidden(format!(
                "Cannot create server with flavor: {}",
                flavor.id
            )));
        }

        // Block devices: the first is the root volume; the rest extra disks.
        struct NewVol {
            size: u64,
            image_id: Option<String>,
            snapshot_id: Option<String>,
            existing: Option<u64>,
            delete_on_termination: bool,
        }
        let mut vols: Vec<NewVol> = Vec::new();
        let root_src_snapshot = image.snapshot.is_some();
        if req.block_devices.is_empty() {
            vols.push(NewVol {
                size: flavor.disk,
                image_id: (!root_src_snapshot).then(|| image.id.clone()),
                snapshot_id: root_src_snapshot.then(|| image.id.clone()),
                existing: None,
                delete_on_termination: true,
            });
        }
        for (i, bd) in req.block_devices.iter().enumerate() {
            let st = bd.source_type.as_str();
            if i == 0 {
                if st != "image" && st != "snapshot" {
                    return Err(ApiError::bad(format!(
                        "Invalid block device mapping: the root volume cannot have source_type '{st}'"
                    )));
                }
                let src = bd.uuid.clone().unwrap_or_else(|| image.id.clone());
                let root_img = self.usable_image(user, &src)?.clone();
                let size = bd.volume_size.unwrap_or(flavor.disk);
                if size == 0 || size > 1024 {
                    return Err(ApiError::bad(format!("Invalid volume size: {size}")));
                }
                let snap = root_img.snapshot.is_some();
                vols.push(NewVol {
                    size,
                    image_id: (!snap).then(|| root_img.id.clone()),
                    snapshot_id: snap.then(|| root_img.id.clone()),
                    existing: None,
                    delete_on_termination: bd.delete_on_termination.unwrap_or(true),
                });
                continue;
            }
            match st {
                "blank" => {
                    let size = bd.volume_size.ok_or_else(|| {
                        ApiError::bad("Invalid block device mapping: 'volume_size' is required for blank volumes")
                    })?;
                    if size == 0 || size > 200 {
                        return Err(ApiError::bad(format!("Invalid volume size: {size}")));
                    }
                    vols.push(NewVol {
                        size,
                        image_id: None,
                        snapshot_id: None,
                        existing: None,
                        delete_on_termination: bd.delete_on_termination.unwrap_or(true),
                    });
                }
                "image" | "snapshot" => {
                    let src = bd.uuid.clone().ok_or_else(|| {
                        ApiError::bad("Invalid block device mapping: 'uuid' is required")
                    })?;
                    let img = self.usable_image(user, &src)?.clone();
                    let snap = img.snapshot.is_some();
                    let size = bd.volume_size.unwrap_or(flavor.disk);
                    if size == 0 || size > 1024 {
                        return Err(ApiError::bad(format!("Invalid volume size: {size}")));
                    }
                    vols.push(NewVol {
                        size,
                        image_id: (!snap).then(|| img.id.clone()),
                        snapshot_id: snap.then(|| img.id.clone()),
                        existing: None,
                        delete_on_termination: bd.delete_on_termination.unwrap_or(true),
                    });
                }
                "volume" => {
                    let vid = bd
                        .uuid
                        .as_deref()
                        .and_then(|u| u.parse::<u64>().ok())
                        .ok_or_else(|| {
                            ApiError::bad("Invalid block device mapping: bad volume uuid")
                        })?;
                    let v = self
                        .volume(user, vid)
                        .map_err(|_| ApiError::bad(format!("Volume {vid} not found")))?;
                    if v.status != VolumeStatus::Available {
                        return Err(ApiError::bad(format!(
                            "Cannot use volume while it is in '{}' status",
                            v.status.as_str()
                        )));
                    }
                    if v.volume_type != flavor.volume_type {
                        return Err(ApiError::bad(format!(
                            "Volume type of volume {vid} does not match the flavor's"
                        )));
                    }
                    vols.push(NewVol {
                        size: v.size,
                        image_id: None,
                        snapshot_id: None,
                        existing: Some(vid),
                        delete_on_termination: bd.delete_on_termination.unwrap_or(false),
                    });
                }
                other => {
                    return Err(ApiError::bad(format!(
                        "Invalid block device mapping: unknown source_type '{other}'"
                    )));
                }
            }
        }
        if vols.len() > MAX_DISKS {
            return Err(ApiError::bad(format!(
                "Maximum number of disks ({MAX_DISKS}) exceeded"
            )));
        }

        let project = req.project.clone().unwrap_or_else(|| user.to_string());
        let new_disk: u64 = vols
            .iter()
            .filter(|v| v.existing.is_none())
            .map(|v| v.size)
            .sum();
        self.check_quota(
            &project,
            Usage {
                vms: 1,
                total_cpu: flavor.vcpus,
                cpu: flavor.vcpus,
                total_ram: flavor.ram,
                ram: flavor.ram,
                disk: new_disk,
                ..Default::default()
            },
        )?;

        let now = self.now;
        let due = self.due(self.settings.timings.build);
        let id = self.state.next_server_id;
        // NICs are validated (and may fail) before anything is written.
        let ports = self.plan_nics(user, id, req.networks.as_deref())?;
        self.state.next_server_id += 1;
        let port_ids = self.create_nics(user, id, ports, due);

        let mut volume_ids = Vec::new();
        for (index, nv) in vols.into_iter().enumerate() {
            if let Some(vid) = nv.existing {
                if let Some(v) = self.state.volumes.get_mut(&vid) {
                    v.server_id = Some(id);
                    v.index = Some(index as u32);
                    v.status = VolumeStatus::Attaching;
                    v.next_status = Some(VolumeStatus::InUse);
                    v.due = Some(due);
                    v.delete_on_termination = nv.delete_on_termination;
                    v.updated = now;
                }
                volume_ids.push(vid);
                continue;
            }
            let vid = self.state.next_volume_id;
            self.state.next_volume_id += 1;
            self.state.volumes.insert(
                vid,
                Volume {
                    id: vid,
                    name: String::new(),
                    description: String::new(),
                    size: nv.size,
                    user_id: user.to_string(),
                    project: project.clone(),
                    volume_type: flavor.volume_type,
                    status: VolumeStatus::Creating,
                    next_status: Some(VolumeStatus::InUse),
                    due: Some(due),
                    server_id: Some(id),
                    index: Some(index as u32),
                    image_id: nv.image_id,
                    snapshot_id: nv.snapshot_id,
                    delete_on_termination: nv.delete_on_termination,
                    created: now,
                    updated: now,
                    metadata: BTreeMap::new(),
                },
            );
            volume_ids.push(vid);
        }

        let fail_build = self.pick_fail_build(&req.name);
        let admin_pass = req.admin_pass.clone().unwrap_or_else(random_password);
        let key_name = req
            .key_name
            .clone()
            .or_else(|| req.key_names.first().cloned());
        self.state.servers.insert(
            id,
            Server {
                id,
                name: req.name,
                user_id: user.to_string(),
                project,
                flavor_id: flavor.id,
                image_id: image.id,
                status: ServerStatus::Build,
                task: Some(Task {
                    kind: TaskKind::Build,
                    started: now,
                    due,
                }),
                created: now,
                updated: now,
                metadata: req.metadata,
                key_name,
                suspended: false,
                volumes: volume_ids,
                ports: port_ids,
                fail_build,
            },
        );
        Ok((id, admin_pass))
    }

    /// An image the user may boot from: public, owned or shared, and ACTIVE.
    pub fn usable_image(&self, user: &str, id: &str) -> ApiResult<&super::model::Image> {
        let img = self
            .image(user, id)
            .map_err(|_| ApiError::not_found(format!("Image {id} not found")))?;
        if img.status != ImageStatus::Active {
            return Err(ApiError::bad(format!(
                "Image {id} is not available (status {:?})",
                img.status
            )));
        }
        Ok(img)
    }

    /// `PUT /servers/<id>` rename.
    pub fn rename_server(&mut self, user: &str, id: u64, name: String) -> ApiResult<()> {
        if name.chars().count() > 255 {
            return Err(ApiError::bad("Server name is too long"));
        }
        let now = self.now;
        let s = self.server_mut(user, id)?;
        if s.is_deleted() {
            return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
        }
        s.name = name;
        s.updated = now;
        Ok(())
    }

    /// `DELETE /servers/<id>`: allowed in any state; completes after `timings.delete`.
    pub fn delete_server(&mut self, user: &str, id: u64) -> ApiResult<()> {
        let s = self.server(user, id)?;
        self.validate_action(s, "DESTROY")?;
        if s.task.is_some_and(|t| t.kind == TaskKind::Destroy) {
            return Ok(());
        }
        let now = self.now;
        let due = self.due(self.settings.timings.delete);
        let vols = s.volumes.clone();
        for vid in vols {
            if let Some(v) = self.state.volumes.get_mut(&vid)
                && v.server_id == Some(id)
                && v.delete_on_termination
                && v.status != VolumeStatus::Deleted
            {
                v.status = VolumeStatus::Deleting;
                v.next_status = Some(VolumeStatus::Deleted);
                v.due = Some(due);
                v.updated = now;
            }
        }
        let s = self.server_mut(user, id)?;
        s.task = Some(Task {
            kind: TaskKind::Destroy,
            started: now,
            due,
        });
        s.updated = now;
        Ok(())
    }

    fn set_task(&mut self, id: u64, kind: TaskKind, d: std::time::Duration) {
        let now = self.now;
        let due = self.due(d);
        if let Some(s) = self.state.servers.get_mut(&id) {
            s.task = Some(Task {
                kind,
                started: now,
                due,
            });
            s.updated = now;
        }
    }

    /// `POST /servers/<id>/action`.
    pub fn server_action(
        &mut self,
        user: &str,
        id: u64,
        action: Action,
    ) -> ApiResult<Option<Console>> {
        let s = self.server(user, id)?.clone();
        let t = self.settings.timings;
        match action {
            Action::Start => {
                self.validate_action(&s, "START")?;
                let f = self.flavor(s.flavor_id).cloned();
                if let Some(f) = f {
                    self.check_quota(
                        &s.project,
                        Usage {
                            cpu: f.vcpus,
                            ram: f.ram,
                            ..Default::default()
                        },
                    )?;
                }
                self.set_task(id, TaskKind::Start, t.start);
            }
            Action::Shutdown => {
                self.validate_action(&s, "STOP")?;
                self.set_task(id, TaskKind::Stop, t.stop);
            }
            Action::Reboot => {
                self.validate_action(&s, "REBOOT")?;
                self.set_task(id, TaskKind::Reboot, t.reboot);
                if let Some(s) = self.state.servers.get_mut(&id) {
                    s.status = ServerStatus::Reboot;
                }
            }
            Action::Resize(flavor_id) => {
                self.validate_action(&s, "RESIZE")?;
                let old = self
                    .flavor(s.flavor_id)
                    .cloned()
                    .ok_or_else(|| ApiError::Internal("server flavor vanished".into()))?;
                let new = self
                    .flavor(flavor_id)
                    .filter(|f| !f.deleted)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found(format!("Flavor {flavor_id} not found")))?;
                if new.id == old.id {
                    return Err(ApiError::bad("Server already has the requested flavor."));
                }
                if !new.allow_create {
                    return Err(ApiError::Forbidden(format!(
                        "Cannot resize server to flavor: {}",
                        new.id
                    )));
                }
                if new.disk != old.disk {
                    return Err(ApiError::bad("Cannot change instance's disk size."));
                }
                if new.volume_type != old.volume_type {
                    return Err(ApiError::bad("Cannot change instance's volume type."));
                }
                self.check_quota(
                    &s.project,
                    Usage {
                        total_cpu: new.vcpus.saturating_sub(old.vcpus),
                        total_ram: new.ram.saturating_sub(old.ram),
                        ..Default::default()
                    },
                )?;
                self.set_task(id, TaskKind::Resize { flavor: new.id }, t.resize);
            }
            Action::Console(kind) => {
                if s.is_deleted() {
                    return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
                }
                if kind != "vnc" {
                    return Err(ApiError::bad("Type can only be 'vnc'."));
                }
                if s.status != ServerStatus::Active {
                    return Err(ApiError::bad("Server not in ACTIVE state."));
                }
                let mut rng = rand::rng();
                return Ok(Some(Console {
                    kind: "vnc".into(),
                    host: format!("snf-{id}.vm.okeanos.grnet.gr"),
                    port: rng.random_range(5900..6900),
                    password: random_password(),
                }));
            }
            Action::AddFloatingIp(address) => {
                self.validate_action(&s, "CONNECT")?;
                self.attach_floating_ip(user, id, &address)?;
            }
            Action::RemoveFloatingIp(address) => {
                self.validate_action(&s, "DISCONNECT")?;
                self.detach_floating_ip(user, id, &address)?;
            }
        }
        Ok(None)
    }

    /// Replaces (`replace`) or merges server metadata; returns the full set.
    pub fn update_server_metadata(
        &mut self,
        user: &str,
        id: u64,
        meta: BTreeMap<String, String>,
        replace: bool,
    ) -> ApiResult<BTreeMap<String, String>> {
        let now = self.now;
        let s = self.server_mut(user, id)?;
        if s.is_deleted() {
            return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
        }
        let mut merged = if replace {
            BTreeMap::new()
        } else {
            s.metadata.clone()
        };
        merged.extend(meta);
        check_metadata(&merged)?;
        s.metadata = merged.clone();
        s.updated = now;
        Ok(merged)
    }

    /// Deletes one metadata key (404 when absent).
    pub fn delete_server_meta(&mut self, user: &str, id: u64, key: &str) -> ApiResult<()> {
        let now = self.now;
        let s = self.server_mut(user, id)?;
        if s.is_deleted() {
            return Err(ApiError::bad(format!("Server '{id}' has been deleted.")));
        }
        s.metadata
            .remove(key)
            .ok_or_else(|| ApiError::not_found("Metadata key not found."))?;
        s.updated = now;
        Ok(())
    }

    /// Attaches an available volume to a server (`os-volume_attachments`).
    pub fn attach_volume(&mut self, user: &str, server_id: u64, volume_id: u64) -> ApiResult<()> {
        let s = self.server(user, server_id)?.clone();
        self.validate_action(&s, "ATTACH_VOLUME")?;
        let v = self
            .volume(user, volume_id)
            .map_err(|_| ApiError::bad(format!("Volume {volume_id} not found")))?
            .clone();
        if v.status != VolumeStatus::Available {
            return Err(ApiError::bad(format!(
                "Cannot attach volume while volume is in '{}' status.",
                v.status.as_str()
            )));
        }
        let vt = self
            .volume_type(v.volume_type)
            .cloned()
            .ok_or_else(|| ApiError::Internal("volume type vanished".into()))?;
        if !vt.detachable {
            return Err(ApiError::bad(format!(
                "Volume type '{}' is not detachable",
                vt.name
            )));
        }
        let template = self.flavor(s.flavor_id).map(|f| f.template).unwrap_or("");
        if vt.template != template {
            return Err(ApiError::bad(format!(
                "Volume and server must have the same disk template. Volume has disk template '{}' while server has '{template}'.",
                vt.template
            )));
        }
        let attached = self.attached_volumes(server_id).count();
        if attached >= MAX_DISKS {
            return Err(ApiError::bad(format!(
                "Maximum volumes per server limit reached ({MAX_DISKS})"
            )));
        }
        let index = self
            .attached_volumes(server_id)
            .filter_map(|v| v.index)
            .max()
            .map_or(0, |i| i + 1);
        let now = self.now;
        let d = self.settings.timings.volume;
        let due = self.due(d);
        if let Some(v) = self.state.volumes.get_mut(&volume_id) {
            v.status = VolumeStatus::Attaching;
            v.next_status = Some(VolumeStatus::InUse);
            v.due = Some(due);
            v.server_id = Some(server_id);
            v.index = Some(index);
            v.updated = now;
        }
        if let Some(s) = self.state.servers.get_mut(&server_id) {
            s.volumes.push(volume_id);
        }
        self.set_task(server_id, TaskKind::AttachVolume, d);
        Ok(())
    }

    /// Volumes currently attached to a server (any status but deleted).
    pub fn attached_volumes(&self, server_id: u64) -> impl Iterator<Item = &Volume> {
        self.state
            .volumes
            .values()
            .filter(move |v| v.server_id == Some(server_id) && v.status != VolumeStatus::Deleted)
    }

    /// Detaches a non-root volume.
    pub fn detach_volume(&mut self, user: &str, server_id: u64, volume_id: u64) -> ApiResult<()> {
        let s = self.server(user, server_id)?.clone();
        self.validate_action(&s, "DETACH_VOLUME")?;
        let v = self
            .volume(user, volume_id)
            .map_err(|_| ApiError::bad(format!("Volume {volume_id} not found")))?
            .clone();
        if v.server_id != Some(server_id) {
            return Err(ApiError::bad(format!(
                "Volume {volume_id} is not attached to server {server_id}"
            )));
        }
        if v.index == Some(0) {
            return Err(ApiError::bad("Cannot detach the root volume of a server"));
        }
        if v.status != VolumeStatus::InUse {
            return Err(ApiError::bad(format!(
                "Cannot detach volume while volume is in '{}' status.",
                v.status.as_str()
            )));
        }
        let detachable = self
            .volume_type(v.volume_type)
            .is_some_and(|t| t.detachable);
        if !detachable {
            return Err(ApiError::bad("Volume type is not detachable"));
        }
        let now = self.now;
        let d = self.settings.timings.volume;
        let due = self.due(d);
        if let Some(v) = self.state.volumes.get_mut(&volume_id) {
            v.status = VolumeStatus::Detaching;
            v.next_status = Some(VolumeStatus::Available);
            v.due = Some(due);
            v.updated = now;
        }
        self.set_task(server_id, TaskKind::DetachVolume, d);
        Ok(())
    }

    /// Key pairs of a user.
    pub fn keypairs_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Keypair> + 'a {
        self.state
            .keypairs
            .iter()
            .filter(move |k| k.user_id == user)
    }

    /// Creates (imports) a key pair; 409 on a duplicate name.
    pub fn create_keypair(
        &mut self,
        user: &str,
        name: String,
        public_key: Option<String>,
    ) -> ApiResult<Keypair> {
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ApiError::bad("Invalid key pair name"));
        }
        if self.keypairs_of(user).any(|k| k.name == name) {
            return Err(ApiError::Conflict(format!(
                "Key pair '{name}' already exists."
            )));
        }
        let public_key = match public_key {
            Some(k) => {
                if !(k.starts_with("ssh-") || k.starts_with("ecdsa-")) {
                    return Err(ApiError::bad("Invalid public key"));
                }
                k
            }
            None => {
                let mut rng = rand::rng();
                let bytes: Vec<u8> = (0..32).map(|_| rng.random()).collect();
                format!(
                    "ssh-ed25519 {} generated-by-okeanos-sim",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )
            }
        };
        let digest: Vec<String> = public_key
            .bytes()
            .fold([0u8; 16], |mut acc, b| {
                for (i, a) in acc.iter_mut().enumerate() {
                    *a = a.wrapping_mul(31).wrapping_add(b ^ i as u8);
                }
                acc
            })
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let kp = Keypair {
            user_id: user.to_string(),
            name,
            public_key,
            fingerprint: digest.join(":"),
        };
        self.state.keypairs.push(kp.clone());
        Ok(kp)
    }

    /// Deletes a key pair (404 when unknown).
    pub fn delete_keypair(&mut self, user: &str, name: &str) -> ApiResult<()> {
        let before = self.state.keypairs.len();
        self.state
            .keypairs
            .retain(|k| !(k.user_id == user && k.name == name));
        if self.state.keypairs.len() == before {
            return Err(ApiError::not_found(format!("Key pair '{name}' not found")));
        }
        Ok(())
    }

    /// The default NICs (public IPv4 and IPv6) when `networks` is absent.
    pub fn default_nics() -> Vec<NicSpec> {
        vec![
            NicSpec::Network {
                network: PUBLIC_V4_NET,
                fixed_ip: None,
            },
            NicSpec::Network {
                network: PUBLIC_V6_NET,
                fixed_ip: None,
            },
        ]
    }
}
