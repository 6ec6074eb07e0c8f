//! `POST /servers`, in the order Synnefo checks things (api/servers.py `create_server`,
//! then logic/servers.py `create` and `_db_create_server`): the flavor, the password and
//! the key names, the name, the image, the block devices, the metadata, then quota, and
//! only then any write — so a refused request leaves no trace.

use std::collections::BTreeMap;

use super::model::{Image, Server, ServerStatus, Task, TaskKind, Time, Volume, VolumeStatus};
use super::quota::Usage;
use super::seed::{Flavor, MAX_DISKS};
use super::server_actions::{random_password, strong_password};
use super::world::Core;
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

/// Largest volume made from an image or snapshot, in GiB.
const MAX_IMAGE_VOLUME: u64 = 1024;
/// Largest blank volume, in GiB.
const MAX_BLANK_VOLUME: u64 = 200;

/// A volume of the new server, decided on but not written: the first is the root.
struct PlannedVolume {
    size: u64,
    image_id: Option<String>,
    snapshot_id: Option<String>,
    /// An available volume of the user, attached rather than created.
    existing: Option<u64>,
    delete_on_termination: bool,
}

impl PlannedVolume {
    /// A new volume filled from `img`, which is an image or, underneath, a snapshot.
    fn from_image(img: &Image, size: u64, delete_on_termination: bool) -> Self {
        let snap = img.snapshot.is_some();
        PlannedVolume {
            size,
            image_id: (!snap).then(|| img.id.clone()),
            snapshot_id: snap.then(|| img.id.clone()),
            existing: None,
            delete_on_termination,
        }
    }
}

/// `VirtualMachineMetadata.KEY_LENGTH` and `VALUE_LENGTH` (db/models.py).
pub const META_KEY_LENGTH: usize = 50;
/// See [`META_KEY_LENGTH`].
pub const META_VALUE_LENGTH: usize = 500;
/// `CYCLADES_VM_MAX_METADATA`.
pub const MAX_VM_METADATA: usize = 10;

/// The checks of api/servers.py `create_server` after the flavor: a given password must be
/// strong (`is_password_strong`), and `key_name` excludes `SNF:key_names`.
fn check_password_and_keys(req: &CreateServer) -> ApiResult<()> {
    if let Some(p) = &req.admin_pass
        && !strong_password(p)
    {
        return Err(ApiError::bad(
            "Password not strong (must contain upper case, lower case, digits and be at least 10 characters!",
        ));
    }
    if req.key_name.is_some() && !req.key_names.is_empty() {
        // Synnefo's message lacks the space between "and" and "key_name".
        return Err(ApiError::bad(
            "Only one of the SNF:key_names andkey_name can be set",
        ));
    }
    Ok(())
}

/// logic/servers.py `_db_create_server`: each key and value within the model's lengths
/// (`check_name_length`, counted in characters).
fn check_metadata_lengths(meta: &BTreeMap<String, String>) -> ApiResult<()> {
    for (k, v) in meta {
        if k.chars().count() > META_KEY_LENGTH {
            return Err(ApiError::bad("Metadata key is too long"));
        }
        if v.chars().count() > META_VALUE_LENGTH {
            return Err(ApiError::bad("Metadata value is too long"));
        }
    }
    Ok(())
}

fn check_size(size: u64, max: u64) -> ApiResult<u64> {
    if size == 0 || size > max {
        return Err(ApiError::bad(format!("Invalid volume size: {size}")));
    }
    Ok(size)
}

impl Core {
    /// `POST /servers`: validates everything of the §2 table, charges quota, creates the
    /// server with its volumes and NICs in BUILD. Returns the id and the admin password.
    pub fn create_server(&mut self, user: &str, mut req: CreateServer) -> ApiResult<(u64, String)> {
        // api/servers.py `create_server`: flavor, `allow_create`, password, key names.
        let flavor = self.live_flavor(req.flavor_ref)?;
        if !flavor.allow_create {
            return Err(ApiError::Forbidden(format!(
                "It is not allowed to create a server from flavor with id '{}', see 'allow_create' flavor attribute",
                flavor.id
            )));
        }
        check_password_and_keys(&req)?;
        // logic/servers.py `create`.
        if req.name.chars().count() > 255 {
            return Err(ApiError::bad("Server name is too long"));
        }
        let vol_image = req
            .block_devices
            .first()
            .filter(|d| d.source_type == "image" || d.source_type == "snapshot")
            .and_then(|d| d.uuid.clone());
        match vol_image {
            Some(v) if !req.image_ref.is_empty() && req.image_ref != v => {
                return Err(ApiError::bad(
                    "The specified server's image is different from the the source of the first volume.",
                ));
            }
            Some(v) => req.image_ref = v,
            None if req.image_ref.is_empty() => {
                return Err(ApiError::bad(
                    "You need to specify either an image or a block device mapping.",
                ));
            }
            None => {}
        }
        if req.metadata.len() > MAX_VM_METADATA {
            return Err(ApiError::bad(format!(
                "Virtual Machines cannot have more than {MAX_VM_METADATA} metadata items"
            )));
        }
        let image = self.usable_image(user, &req.image_ref)?.clone();
        if req
            .block_devices
            .first()
            .is_some_and(|d| d.source_type == "blank")
        {
            return Err(ApiError::bad("Root volume cannot be blank"));
        }
        for k in req.key_name.iter().chain(req.key_names.iter()) {
            if !self.keypairs_of(user).any(|kp| &kp.name == k) {
                return Err(ApiError::not_found(format!("Keypair {k} not found.")));
            }
        }
        // logic/servers.py `_db_create_server`: volumes, metadata, then the commission.
        let volumes = self.plan_volumes(user, &req.block_devices, &flavor, &image)?;
        check_metadata_lengths(&req.metadata)?;
        let project = req.project.clone().unwrap_or_else(|| user.to_string());
        self.charge_server(&project, &flavor, &volumes)?;
        let root_source = volumes
            .first()
            .and_then(|v| v.snapshot_id.clone().or_else(|| v.image_id.clone()))
            .unwrap_or_else(|| image.id.clone());
        let personality = req.personality.clone();
        let created = self.insert_server(user, req, project, &flavor, image, volumes)?;
        let files = personality
            .iter()
            .map(|p| (p.path.as_str(), p.contents.as_str()));
        self.ssh_on_create(created.0, files, &root_source);
        Ok(created)
    }

    /// Block devices: the first is the root volume, the rest extra disks. Without any,
    /// the root is made from the image at the flavor's disk size.
    fn plan_volumes(
        &self,
        user: &str,
        devices: &[BlockDevice],
        flavor: &Flavor,
        image: &Image,
    ) -> ApiResult<Vec<PlannedVolume>> {
        let mut vols = Vec::new();
        if devices.is_empty() {
            vols.push(PlannedVolume::from_image(image, flavor.disk, true));
        }
        for (i, bd) in devices.iter().enumerate() {
            let planned = if i == 0 {
                self.plan_root_volume(user, bd, flavor, image)?
            } else {
                self.plan_extra_volume(user, bd, flavor)?
            };
            vols.push(planned);
        }
        if vols.len() > MAX_DISKS {
            return Err(ApiError::bad(format!(
                "Maximum number of disks ({MAX_DISKS}) exceeded"
            )));
        }
        Ok(vols)
    }

    /// The root comes from an image or a snapshot (the request's image by default), or
    /// is an existing volume: logic/servers.py `create` treats every entry alike, so a
    /// `source_type: volume` root is attached as any other (a blank root was refused before).
    fn plan_root_volume(
        &self,
        user: &str,
        bd: &BlockDevice,
        flavor: &Flavor,
        image: &Image,
    ) -> ApiResult<PlannedVolume> {
        if bd.source_type == "volume" {
            return self.plan_existing_volume(user, bd, flavor);
        }
        let src = bd.uuid.clone().unwrap_or_else(|| image.id.clone());
        self.plan_image_volume(user, &src, bd, flavor)
    }

    /// A new volume from an image or snapshot the user may boot from.
    fn plan_image_volume(
        &self,
        user: &str,
        src: &str,
        bd: &BlockDevice,
        flavor: &Flavor,
    ) -> ApiResult<PlannedVolume> {
        let img = self.usable_image(user, src)?;
        let size = check_size(bd.volume_size.unwrap_or(flavor.disk), MAX_IMAGE_VOLUME)?;
        Ok(PlannedVolume::from_image(
            img,
            size,
            bd.delete_on_termination.unwrap_or(true),
        ))
    }

    /// An extra disk: blank, from an image or snapshot, or an existing available volume
    /// of the same type as the flavor's (kept at deletion unless asked otherwise).
    fn plan_extra_volume(
        &self,
        user: &str,
        bd: &BlockDevice,
        flavor: &Flavor,
    ) -> ApiResult<PlannedVolume> {
        match bd.source_type.as_str() {
            "blank" => {
                let size = bd.volume_size.ok_or_else(|| {
                    ApiError::bad(
                        "Invalid block device mapping: 'volume_size' is required for blank volumes",
                    )
                })?;
                Ok(PlannedVolume {
                    size: check_size(size, MAX_BLANK_VOLUME)?,
                    image_id: None,
                    snapshot_id: None,
                    existing: None,
                    delete_on_termination: bd.delete_on_termination.unwrap_or(true),
                })
            }
            "image" | "snapshot" => {
                let src = bd.uuid.clone().ok_or_else(|| {
                    ApiError::bad("Invalid block device mapping: 'uuid' is required")
                })?;
                self.plan_image_volume(user, &src, bd, flavor)
            }
            "volume" => self.plan_existing_volume(user, bd, flavor),
            other => Err(ApiError::bad(format!(
                "Invalid block device mapping: unknown source_type '{other}'"
            ))),
        }
    }

    fn plan_existing_volume(
        &self,
        user: &str,
        bd: &BlockDevice,
        flavor: &Flavor,
    ) -> ApiResult<PlannedVolume> {
        // volume/util.py `get_volume(..., non_deleted=True, exception=BadRequest)`, then
        // logic/servers.py `create`: the type before the status, both by their DB values.
        let raw = bd.uuid.as_deref().unwrap_or("None");
        let vid = raw
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::bad(format!("Invalid volume id: {raw}")))?;
        let v = self
            .state
            .volumes
            .get(&vid)
            .filter(|v| v.user_id == user)
            .ok_or_else(|| ApiError::bad(format!("Volume {vid} not found")))?;
        if v.status == VolumeStatus::Deleted {
            return Err(ApiError::bad(format!("Volume '{vid}' has been deleted.")));
        }
        if v.volume_type != flavor.volume_type {
            return Err(ApiError::bad(format!(
                "Volume '{vid}' has type '{}' while flavor's volume type is '{}'",
                v.volume_type, flavor.volume_type
            )));
        }
        if v.status != VolumeStatus::Available {
            return Err(ApiError::bad(format!(
                "Cannot use volume while it is in {} status",
                v.status.as_str().to_uppercase()
            )));
        }
        Ok(PlannedVolume {
            size: v.size,
            image_id: None,
            snapshot_id: None,
            existing: Some(vid),
            delete_on_termination: bd.delete_on_termination.unwrap_or(false),
        })
    }

    /// A new server charges one VM, its CPU and RAM (total and running, as it starts at
    /// once) and the disk of the volumes it creates; attached existing ones are paid for.
    fn charge_server(
        &self,
        project: &str,
        flavor: &Flavor,
        volumes: &[PlannedVolume],
    ) -> ApiResult<()> {
        let new_disk: u64 = volumes
            .iter()
            .filter(|v| v.existing.is_none())
            .map(|v| v.size)
            .sum();
        self.check_quota(
            project,
            Usage {
                vms: 1,
                total_cpu: flavor.vcpus,
                cpu: flavor.vcpus,
                total_ram: flavor.ram,
                ram: flavor.ram,
                disk: new_disk,
                ..Default::default()
            },
        )
    }

    /// Writes the server, its NICs and its volumes, all in BUILD until the build is due.
    /// NICs are planned first because they are the last thing that can still fail.
    fn insert_server(
        &mut self,
        user: &str,
        req: CreateServer,
        project: String,
        flavor: &Flavor,
        image: Image,
        volumes: Vec<PlannedVolume>,
    ) -> ApiResult<(u64, String)> {
        let now = self.now;
        let due = self.due(self.settings.timings.build);
        let id = self.state.next_server_id;
        let ports = self.plan_nics(user, id, req.networks.as_deref())?;
        self.state.next_server_id += 1;
        let port_ids = self.create_nics(user, id, ports, due);
        let volume_ids = self.insert_server_volumes(user, id, &project, flavor, volumes, due);
        let fail_build = self.pick_fail_build(&req.name);
        let admin_pass = req.admin_pass.clone().unwrap_or_else(random_password);
        self.passwords.insert(id, admin_pass.clone());
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

    /// Creates (or attaches) the planned volumes in disk order; they are in use at `due`.
    fn insert_server_volumes(
        &mut self,
        user: &str,
        server: u64,
        project: &str,
        flavor: &Flavor,
        volumes: Vec<PlannedVolume>,
        due: Time,
    ) -> Vec<u64> {
        let now = self.now;
        let mut ids = Vec::new();
        for (index, nv) in volumes.into_iter().enumerate() {
            if let Some(vid) = nv.existing {
                if let Some(v) = self.state.volumes.get_mut(&vid) {
                    v.server_id = Some(server);
                    v.never_attached = false;
                    v.index = Some(index as u32);
                    v.status = VolumeStatus::Attaching;
                    v.next_status = Some(VolumeStatus::InUse);
                    v.due = Some(due);
                    v.delete_on_termination = nv.delete_on_termination;
                    v.updated = now;
                }
                ids.push(vid);
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
                    project: project.to_string(),
                    volume_type: flavor.volume_type,
                    status: VolumeStatus::Creating,
                    next_status: Some(VolumeStatus::InUse),
                    due: Some(due),
                    server_id: Some(server),
                    index: Some(index as u32),
                    image_id: nv.image_id,
                    snapshot_id: nv.snapshot_id,
                    delete_on_termination: nv.delete_on_termination,
                    never_attached: false,
                    created: now,
                    updated: now,
                    metadata: BTreeMap::new(),
                },
            );
            ids.push(vid);
        }
        ids
    }

    /// Fault injection: the next N builds fail, and those whose name matches a pattern.
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
}
