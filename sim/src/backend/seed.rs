//! The static catalog (flavors, volume types) and the seed resources every fresh
//! state starts with (public images, public networks).

use std::collections::BTreeMap;

use super::model::{Image, ImageStatus, Network, State, Subnet, Time};

/// Owner uuid of the system's public images.
pub const SYSTEM_UUID: &str = "25ecced9-bf53-4145-91ee-cf47377e9fb2";
/// Display name of that owner: a real Astakos account, so `user_catalogs` knows it.
pub const SYSTEM_NAME: &str = "images@okeanos.grnet.gr";
/// The documented public Ubuntu image.
pub const UBUNTU_IMAGE_ID: &str = "fe31fced-a3cf-49c6-b43b-f58f5235ba45";
/// Public IPv4 network (also the floating IP pool).
pub const PUBLIC_V4_NET: u64 = 1;
/// Public IPv6 network.
pub const PUBLIC_V6_NET: u64 = 2;
/// Id of the flavor with `SNF:allow_create` false.
pub const NO_CREATE_FLAVOR: u64 = 900;
/// Id of the deleted flavor.
pub const DELETED_FLAVOR: u64 = 901;
/// Maximum disks per server.
pub const MAX_DISKS: usize = 8;

/// A hardware template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flavor {
    /// Integer id.
    pub id: u64,
    /// `C{cpu}R{ram}D{disk}{template}`.
    pub name: String,
    /// vCPUs.
    pub vcpus: u64,
    /// MiB.
    pub ram: u64,
    /// GiB.
    pub disk: u64,
    /// Disk template.
    pub template: &'static str,
    /// Volume type id.
    pub volume_type: u64,
    /// New servers may use it.
    pub allow_create: bool,
    /// Deleted: readable by id, absent from lists.
    pub deleted: bool,
}

/// A volume type (one per disk template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeType {
    /// Integer id.
    pub id: u64,
    /// Name (= template).
    pub name: &'static str,
    /// Disk template.
    pub template: &'static str,
    /// Volumes of this type can be detached and created standalone.
    pub detachable: bool,
}

impl VolumeType {
    /// db/models.py `VolumeType.template`: the disk template before its first `_`.
    pub fn family(&self) -> &'static str {
        self.template.split('_').next().unwrap_or(self.template)
    }

    /// db/models.py `VolumeType.provider`: what follows the first `_`, if any.
    pub fn provider(&self) -> Option<&'static str> {
        self.template.split_once('_').map(|(_, p)| p)
    }
}

/// The volume types.
pub fn volume_types() -> Vec<VolumeType> {
    vec![
        VolumeType {
            id: 1,
            name: "drbd",
            template: "drbd",
            detachable: false,
        },
        VolumeType {
            id: 2,
            name: "ext_vlmc",
            template: "ext_vlmc",
            detachable: true,
        },
        VolumeType {
            id: 3,
            name: "ext_archipelago",
            template: "ext_archipelago",
            detachable: true,
        },
    ]
}

/// Every combination of 1,2,4,8 CPUs × 1,2,4,8 GiB × 10,20,40 GB × drbd/ext_vlmc, plus one
/// flavor that may not be used for new servers and one deleted flavor.
pub fn flavors() -> Vec<Flavor> {
    let mut out = Vec::new();
    let mut id = 1;
    for (template, volume_type) in [("drbd", 1), ("ext_vlmc", 2)] {
        for vcpus in [1, 2, 4, 8] {
            for ram in [1024, 2048, 4096, 8192] {
                for disk in [10, 20, 40] {
                    out.push(Flavor {
                        id,
                        name: format!("C{vcpus}R{ram}D{disk}{template}"),
                        vcpus,
                        ram,
                        disk,
                        template,
                        volume_type,
                        allow_create: true,
                        deleted: false,
                    });
                    id += 1;
                }
            }
        }
    }
    out.push(Flavor {
        id: NO_CREATE_FLAVOR,
        name: "C16R16384D80drbd".into(),
        vcpus: 16,
        ram: 16384,
        disk: 80,
        template: "drbd",
        volume_type: 1,
        allow_create: false,
        deleted: false,
    });
    out.push(Flavor {
        id: DELETED_FLAVOR,
        name: "C1R512D5drbd".into(),
        vcpus: 1,
        ram: 512,
        disk: 5,
        template: "drbd",
        volume_type: 1,
        allow_create: true,
        deleted: true,
    });
    out
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn public_image(
    id: &str,
    name: &str,
    format: &str,
    size: u64,
    properties: BTreeMap<String, String>,
    now: Time,
) -> Image {
    Image {
        id: id.into(),
        name: name.into(),
        owner: SYSTEM_UUID.into(),
        created: now,
        updated: now,
        status: ImageStatus::Active,
        due: None,
        is_public: true,
        disk_format: format.into(),
        container_format: "bare".into(),
        size,
        location: format!("pithos://{SYSTEM_UUID}/images/{name}.diskdump"),
        properties,
        members: vec![],
        snapshot: None,
        given_status: None,
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A fresh state: public images and networks, id counters set.
pub fn fresh_state(now: Time) -> State {
    let mut s = State {
        version: 1,
        next_server_id: 100_001,
        next_volume_id: 20_001,
        next_network_id: 10,
        next_port_id: 50_001,
        next_fip_id: 1_001,
        next_public_host: 10,
        ..Default::default()
    };
    let images = [
        public_image(
            UBUNTU_IMAGE_ID,
            "CELAR-Ubuntu-14.04-LTS",
            "diskdump",
            (2.15 * GIB) as u64,
            props(&[
                ("OSFAMILY", "linux"),
                ("OS", "ubuntu"),
                ("ROOT_PARTITION", "1"),
                ("USERS", "user"),
                ("DESCRIPTION", "Ubuntu 14.04.1 LTS"),
                ("GUI", "No GUI"),
                ("KERNEL", "3.13.0"),
                ("SORTORDER", "1"),
            ]),
            now,
        ),
        public_image(
            "0035ac89-a86e-4108-93e8-93e294b74a3d",
            "Debian Base 8.2",
            "diskdump",
            (0.96 * GIB) as u64,
            props(&[
                ("OSFAMILY", "linux"),
                ("OS", "debian"),
                ("ROOT_PARTITION", "1"),
                ("USERS", "root"),
                ("DESCRIPTION", "Debian Jessie 8.2 Base System"),
                ("GUI", "No GUI"),
                ("KERNEL", "3.16.0-4"),
                ("SORTORDER", "2"),
            ]),
            now,
        ),
        public_image(
            "7e8b1b4f-0d2b-4a2e-9c1a-5a3e2b1c0d7e",
            "CentOS 7",
            "diskdump",
            (1.32 * GIB) as u64,
            props(&[
                ("OSFAMILY", "linux"),
                ("OS", "centos"),
                ("ROOT_PARTITION", "1"),
                ("USERS", "root"),
                ("DESCRIPTION", "CentOS 7.1 Minimal"),
                ("GUI", "No GUI"),
                ("KERNEL", "3.10.0"),
                ("SORTORDER", "3"),
            ]),
            now,
        ),
        public_image(
            "b2d1c3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d",
            "Ubuntu Server 16.04 LTS",
            "diskdump",
            (2.42 * GIB) as u64,
            props(&[
                ("OSFAMILY", "linux"),
                ("OS", "ubuntu"),
                ("ROOT_PARTITION", "1"),
                ("USERS", "user"),
                ("DESCRIPTION", "Ubuntu 16.04 LTS Server"),
                ("GUI", "No GUI"),
                ("KERNEL", "4.4.0"),
                ("SORTORDER", "4"),
            ]),
            now,
        ),
        public_image(
            "4e8a0c2f-9b1d-4f3e-a5c7-6d8e0f1a2b3c",
            "Windows Server 2012 R2",
            "ntfsdump",
            (10.6 * GIB) as u64,
            props(&[
                ("OSFAMILY", "windows"),
                ("OS", "windows"),
                ("ROOT_PARTITION", "2"),
                ("USERS", "Administrator"),
                ("DESCRIPTION", "Windows Server 2012 R2 Datacenter"),
                ("GUI", "Windows"),
                ("SORTORDER", "5"),
            ]),
            now,
        ),
    ];
    for img in images {
        s.images.insert(img.id.clone(), img);
    }
    s.networks.insert(
        PUBLIC_V4_NET,
        Network {
            id: PUBLIC_V4_NET,
            name: "Public IPv4 Network".into(),
            user_id: None,
            shared_to_project: false,
            project: None,
            kind: "IP_LESS_ROUTED".into(),
            public: true,
            floating_ip_pool: true,
            subnets: vec![Subnet {
                id: 1,
                cidr: "83.212.96.0/20".into(),
                ip_version: 4,
                gateway: Some("83.212.96.1".into()),
                name: String::new(),
                dhcp: true,
                pools: vec![("83.212.96.2".into(), "83.212.111.254".into())],
                user_id: None,
            }],
            created: now,
            updated: now,
            deleted: false,
        },
    );
    s.networks.insert(
        PUBLIC_V6_NET,
        Network {
            id: PUBLIC_V6_NET,
            name: "Public IPv6 Network".into(),
            user_id: None,
            shared_to_project: false,
            project: None,
            kind: "IP_LESS_ROUTED".into(),
            public: true,
            floating_ip_pool: false,
            subnets: vec![Subnet {
                id: 2,
                cidr: "2001:648:2ffc:1225::/64".into(),
                ip_version: 6,
                gateway: Some("2001:648:2ffc:1225::1".into()),
                name: String::new(),
                dhcp: true,
                pools: Vec::new(),
                user_id: None,
            }],
            created: now,
            updated: now,
            deleted: false,
        },
    );
    s
}
