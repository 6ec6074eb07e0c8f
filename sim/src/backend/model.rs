//! The persisted resource records. Plain data: rules live in the sibling modules.
//!
//! Every pending asynchronous job is stored as a due time in wall-clock UTC, so a state
//! file saved by one process and loaded by the next continues the same transitions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Wall-clock timestamp.
pub type Time = DateTime<Utc>;

/// Everything the simulator persists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Format version of the state file.
    pub version: u32,
    /// Next numeric id of each kind.
    pub next_server_id: u64,
    /// Next volume id.
    pub next_volume_id: u64,
    /// Next network id.
    pub next_network_id: u64,
    /// Next port id.
    pub next_port_id: u64,
    /// Next floating IP id.
    pub next_fip_id: u64,
    /// Counter for addresses handed out from the public pools.
    pub next_public_host: u64,
    /// Servers by id (deleted ones kept, as Synnefo keeps them readable).
    pub servers: BTreeMap<u64, Server>,
    /// Volumes by id.
    pub volumes: BTreeMap<u64, Volume>,
    /// Images, including snapshots, by uuid.
    pub images: BTreeMap<String, Image>,
    /// Networks by id.
    pub networks: BTreeMap<u64, Network>,
    /// Ports (NICs) by id.
    pub ports: BTreeMap<u64, Port>,
    /// Floating IPs by id.
    pub floating_ips: BTreeMap<u64, FloatingIp>,
    /// Key pairs of every user.
    pub keypairs: Vec<Keypair>,
    /// The VMs' emulated sshd: host keys, authorized keys, uploads, recipe records.
    pub ssh: crate::ssh::SshState,
}

/// Server status as the API shows it (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServerStatus {
    /// Being created.
    Build,
    /// Running.
    Active,
    /// Stopped.
    Stopped,
    /// Rebooting.
    Reboot,
    /// Build failed.
    Error,
    /// Deleted.
    Deleted,
}

impl ServerStatus {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerStatus::Build => "BUILD",
            ServerStatus::Active => "ACTIVE",
            ServerStatus::Stopped => "STOPPED",
            ServerStatus::Reboot => "REBOOT",
            ServerStatus::Error => "ERROR",
            ServerStatus::Deleted => "DELETED",
        }
    }

    /// Synnefo's internal operstate, used in its error messages.
    pub fn operstate(self) -> &'static str {
        match self {
            ServerStatus::Build => "BUILD",
            ServerStatus::Active | ServerStatus::Reboot => "STARTED",
            ServerStatus::Stopped => "STOPPED",
            ServerStatus::Error => "ERROR",
            ServerStatus::Deleted => "DESTROYED",
        }
    }
}

/// A pending server job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Create job.
    Build,
    /// Start job.
    Start,
    /// Stop job.
    Stop,
    /// Reboot job.
    Reboot,
    /// Resize to the flavor.
    Resize {
        /// Target flavor.
        flavor: u64,
    },
    /// Delete job.
    Destroy,
    /// Volume being attached.
    AttachVolume,
    /// Volume being detached.
    DetachVolume,
}

impl TaskKind {
    /// Synnefo's internal action name (used in "pending 'X'" messages).
    pub fn action(self) -> &'static str {
        match self {
            TaskKind::Build => "BUILD",
            TaskKind::Start => "START",
            TaskKind::Stop => "STOP",
            TaskKind::Reboot => "REBOOT",
            TaskKind::Resize { .. } => "RESIZE",
            TaskKind::Destroy => "DESTROY",
            TaskKind::AttachVolume => "ATTACH_VOLUME",
            TaskKind::DetachVolume => "DETACH_VOLUME",
        }
    }

    /// The `SNF:task_state` string.
    pub fn task_state(self) -> &'static str {
        match self {
            TaskKind::Build => "BUILDING",
            TaskKind::Start => "STARTING",
            TaskKind::Stop => "STOPPING",
            TaskKind::Reboot => "REBOOTING",
            TaskKind::Resize { .. } => "RESIZING",
            TaskKind::Destroy => "DESTROYING",
            TaskKind::AttachVolume => "ATTACHING_VOLUME",
            TaskKind::DetachVolume => "DETACHING_VOLUME",
        }
    }
}

/// A job with its start and due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// What runs.
    pub kind: TaskKind,
    /// When it started.
    pub started: Time,
    /// When it completes.
    pub due: Time,
}

/// A virtual machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    /// Integer id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Owner.
    pub user_id: String,
    /// Project charged.
    pub project: String,
    /// Current flavor.
    pub flavor_id: u64,
    /// Image (or snapshot) it was built from.
    pub image_id: String,
    /// API status.
    pub status: ServerStatus,
    /// Pending job.
    pub task: Option<Task>,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// Key pair name.
    pub key_name: Option<String>,
    /// Administratively suspended.
    pub suspended: bool,
    /// Volume ids, root first.
    pub volumes: Vec<u64>,
    /// Port ids (NICs).
    pub ports: Vec<u64>,
    /// The build ends in ERROR (fault injection).
    pub fail_build: bool,
}

impl Server {
    /// Deleted servers stay readable by id but are hidden from lists.
    pub fn is_deleted(&self) -> bool {
        self.status == ServerStatus::Deleted
    }
}

/// Lowercase volume status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeStatus {
    /// Being created.
    Creating,
    /// Detached and usable.
    Available,
    /// Being attached.
    Attaching,
    /// Being detached.
    Detaching,
    /// Attached.
    InUse,
    /// Being deleted.
    Deleting,
    /// Deleted.
    Deleted,
    /// Failed.
    Error,
}

impl VolumeStatus {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeStatus::Creating => "creating",
            VolumeStatus::Available => "available",
            VolumeStatus::Attaching => "attaching",
            VolumeStatus::Detaching => "detaching",
            VolumeStatus::InUse => "in_use",
            VolumeStatus::Deleting => "deleting",
            VolumeStatus::Deleted => "deleted",
            VolumeStatus::Error => "error",
        }
    }
}

/// A block device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    /// Integer id (shown as a string).
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Display description.
    pub description: String,
    /// Size in GiB.
    pub size: u64,
    /// Owner.
    pub user_id: String,
    /// Project charged.
    pub project: String,
    /// Volume type id.
    pub volume_type: u64,
    /// Status.
    pub status: VolumeStatus,
    /// Status reached when `due` passes.
    pub next_status: Option<VolumeStatus>,
    /// When the pending transition completes.
    pub due: Option<Time>,
    /// Attached server.
    pub server_id: Option<u64>,
    /// Disk index on the server (0 = root).
    pub index: Option<u32>,
    /// Source image.
    pub image_id: Option<String>,
    /// Source snapshot.
    pub snapshot_id: Option<String>,
    /// Created without a server and never attached since (no Ganeti job has touched it:
    /// Synnefo's `backendjobid` is None), so deleting it needs no Ganeti job.
    #[serde(default)]
    pub never_attached: bool,
    /// Deleted together with its server.
    pub delete_on_termination: bool,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// Image status (compute spelling; Plankton maps ACTIVE to AVAILABLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ImageStatus {
    /// Snapshot being taken.
    Saving,
    /// Usable.
    Active,
    /// Failed.
    Error,
    /// Deleted.
    Deleted,
}

/// An image; snapshots are images with `snapshot` set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    /// Uuid.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner uuid.
    pub owner: String,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// Status.
    pub status: ImageStatus,
    /// SAVING → ACTIVE at this time.
    pub due: Option<Time>,
    /// Visible to everyone.
    pub is_public: bool,
    /// diskdump, extdump, ntfsdump.
    pub disk_format: String,
    /// bare.
    pub container_format: String,
    /// Bytes.
    pub size: u64,
    /// `pithos://…` location.
    pub location: String,
    /// Properties (OS, OSFAMILY, USERS, …).
    pub properties: BTreeMap<String, String>,
    /// Users it is shared with.
    pub members: Vec<String>,
    /// Set for snapshots.
    pub snapshot: Option<SnapshotInfo>,
    /// `plankton:status` as an update's `X-Image-Meta-Status` gave it (plankton/backend.py
    /// `update_metadata` stores it, and `image_to_dict` reports it instead of the map's
    /// state from then on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_status: Option<String>,
}

impl Image {
    /// plankton/backend.py `image_to_dict`'s `status`: a stored `plankton:status` as it
    /// was given, else the Pithos map's state (`MAP_TO_OBJ_STATES`).
    pub fn object_status(&self) -> &str {
        if let Some(s) = &self.given_status {
            return s;
        }
        match self.status {
            ImageStatus::Saving => "UNAVAILABLE",
            ImageStatus::Active => "AVAILABLE",
            ImageStatus::Error => "ERROR",
            ImageStatus::Deleted => "DELETED",
        }
    }
}

/// What makes an image a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Source volume.
    pub volume_id: u64,
    /// Size in GiB.
    pub size: u64,
    /// Description.
    pub description: String,
    /// Snapshot metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    /// Integer id (a string on the wire).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Owner (`None` for the public networks).
    pub user_id: Option<String>,
    /// Shared with the members of its project.
    #[serde(default)]
    pub shared_to_project: bool,
    /// Project charged.
    pub project: Option<String>,
    /// Flavor: MAC_FILTERED, IP_LESS_ROUTED, …
    pub kind: String,
    /// Public network.
    pub public: bool,
    /// Floating IPs are reserved from it.
    pub floating_ip_pool: bool,
    /// Subnets (cidr, version).
    pub subnets: Vec<Subnet>,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// Deleted.
    pub deleted: bool,
}

/// A subnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    /// Id.
    pub id: u64,
    /// CIDR.
    pub cidr: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// Gateway.
    pub gateway: Option<String>,
    /// Name (`""` when none was given).
    #[serde(default)]
    pub name: String,
    /// `enable_dhcp`.
    #[serde(default = "yes")]
    pub dhcp: bool,
    /// IPv4 allocation pools, `(start, end)`.
    #[serde(default)]
    pub pools: Vec<(String, String)>,
    /// Owner (`None` for the public networks' subnets).
    #[serde(default)]
    pub user_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// A NIC.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Port {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Network.
    pub network_id: u64,
    /// Server it is attached to.
    pub device_id: Option<u64>,
    /// Owner.
    pub user_id: String,
    /// MAC address.
    pub mac: String,
    /// IPv4 address.
    pub ipv4: Option<String>,
    /// IPv6 address.
    pub ipv6: Option<String>,
    /// The IPv4 is a floating IP (its id).
    pub floating_ip: Option<u64>,
    /// DOWN, BUILD, ACTIVE, ERROR.
    pub status: String,
    /// BUILD → ACTIVE at this time.
    pub due: Option<Time>,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// Deleted.
    pub deleted: bool,
    /// A deletion is pending: the NIC is being removed from its server, and the port
    /// goes when that job (due at `due`) completes.
    #[serde(default)]
    pub deleting: bool,
}

/// A reserved public IPv4.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloatingIp {
    /// Id.
    pub id: u64,
    /// Address.
    pub address: String,
    /// Pool network.
    pub network_id: u64,
    /// Owner.
    pub user_id: String,
    /// Project charged.
    pub project: String,
    /// Shared with the members of its project.
    #[serde(default)]
    pub shared_to_project: bool,
    /// Port using it.
    pub port_id: Option<u64>,
    /// Creation time.
    pub created: Time,
    /// Last change.
    pub updated: Time,
    /// Deleted.
    pub deleted: bool,
}

/// An SSH key pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keypair {
    /// Owner.
    pub user_id: String,
    /// Name (unique per user).
    pub name: String,
    /// OpenSSH public key.
    pub public_key: String,
    /// Fingerprint.
    pub fingerprint: String,
}
