//! Rules of the backends, without HTTP. The clock is driven by hand through
//! [`Core::advance`], so these tests never sleep.

use std::time::Duration;

use chrono::TimeDelta;

use super::model::{ImageStatus, ServerStatus, VolumeStatus};
use super::seed::{self, UBUNTU_IMAGE_ID};
use super::server_actions::Action;
use super::server_create::{BlockDevice, CreateServer, NicSpec};
use super::volumes::CreateVolume;
use super::world::Core;
use crate::config::{QuotaLimits, SimConfig, Timings};
use crate::error::ApiError;

const U: &str = crate::config::DEFAULT_USER_UUID;
/// `C1R1024D10ext_vlmc`.
const VLMC: u64 = 49;
/// `C1R1024D10drbd`.
const DRBD: u64 = 1;

fn core() -> Core {
    let cfg = SimConfig {
        timings: Timings::uniform(Duration::from_secs(10)),
        ..Default::default()
    };
    let now = chrono::Utc::now();
    let mut c = Core::new(&cfg, seed::fresh_state(now));
    c.now = now;
    c
}

fn later(c: &mut Core, secs: i64) {
    let t = c.now + TimeDelta::seconds(secs);
    c.advance(t);
}

fn req(name: &str, flavor: u64) -> CreateServer {
    CreateServer {
        name: name.into(),
        image_ref: UBUNTU_IMAGE_ID.into(),
        flavor_ref: flavor,
        ..Default::default()
    }
}

fn active_server(c: &mut Core, flavor: u64) -> u64 {
    let (id, _) = c.create_server(U, req("vm", flavor)).unwrap();
    later(c, 11);
    assert_eq!(c.server(U, id).unwrap().status, ServerStatus::Active);
    id
}

#[test]
fn flavor_catalog_is_the_documented_grid() {
    let f = seed::flavors();
    assert_eq!(
        f.iter().filter(|f| f.allow_create && !f.deleted).count(),
        96
    );
    assert!(f.iter().any(|f| f.name == "C2R2048D10ext_vlmc"));
    assert_eq!(
        f.iter().find(|f| f.id == VLMC).unwrap().name,
        "C1R1024D10ext_vlmc"
    );
    assert_eq!(
        f.iter().find(|f| f.id == DRBD).unwrap().name,
        "C1R1024D10drbd"
    );
}

#[test]
fn build_goes_active_after_the_build_time_with_nics_and_volumes() {
    let mut c = core();
    let (id, pass) = c.create_server(U, req("vm", VLMC)).unwrap();
    assert!(super::server_actions::strong_password(&pass));
    let s = c.server(U, id).unwrap();
    assert_eq!(s.status, ServerStatus::Build);
    assert_eq!(s.ports.len(), 2);
    later(&mut c, 5);
    assert_eq!(c.server(U, id).unwrap().status, ServerStatus::Build);
    later(&mut c, 6);
    let s = c.server(U, id).unwrap().clone();
    assert_eq!(s.status, ServerStatus::Active);
    assert!(s.task.is_none());
    assert_eq!(c.state.volumes[&s.volumes[0]].status, VolumeStatus::InUse);
    assert!(s.ports.iter().all(|p| c.state.ports[p].status == "ACTIVE"));
}

#[test]
fn failed_builds_mark_server_volumes_and_nics_error() {
    let mut c = core();
    c.settings.fail_build_names.push("doomed".into());
    let (id, _) = c.create_server(U, req("a-doomed-vm", VLMC)).unwrap();
    let (ok, _) = c.create_server(U, req("fine", VLMC)).unwrap();
    later(&mut c, 11);
    let s = c.server(U, id).unwrap().clone();
    assert_eq!(s.status, ServerStatus::Error);
    assert_eq!(c.state.volumes[&s.volumes[0]].status, VolumeStatus::Error);
    assert!(s.ports.iter().all(|p| c.state.ports[p].status == "ERROR"));
    assert_eq!(c.server(U, ok).unwrap().status, ServerStatus::Active);

    c.settings.fail_builds = 1;
    let (a, _) = c.create_server(U, req("x", VLMC)).unwrap();
    let (b, _) = c.create_server(U, req("y", VLMC)).unwrap();
    later(&mut c, 22);
    assert_eq!(c.server(U, a).unwrap().status, ServerStatus::Error);
    assert_eq!(c.server(U, b).unwrap().status, ServerStatus::Active);
}

#[test]
fn action_ladder_messages() {
    let mut c = core();
    let (id, _) = c.create_server(U, req("vm", VLMC)).unwrap();
    assert_eq!(
        c.server_action(U, id, Action::Shutdown).unwrap_err(),
        ApiError::BuildInProgress(format!("Server '{id}' is being built."))
    );
    later(&mut c, 11);
    assert_eq!(
        c.server_action(U, id, Action::Start).unwrap_err(),
        ApiError::bad("Cannot perform 'START' action while server is in 'STARTED' state.")
    );
    c.server_action(U, id, Action::Shutdown).unwrap();
    // Status keeps its old value while the task runs.
    assert_eq!(c.server(U, id).unwrap().status, ServerStatus::Active);
    assert_eq!(
        c.server_action(U, id, Action::Reboot).unwrap_err(),
        ApiError::bad("Cannot perform 'REBOOT' action while there is a pending 'STOP'.")
    );
    later(&mut c, 11);
    assert_eq!(c.server(U, id).unwrap().status, ServerStatus::Stopped);
    c.delete_server(U, id).unwrap();
    later(&mut c, 11);
    assert_eq!(
        c.server_action(U, id, Action::Start).unwrap_err(),
        ApiError::bad(format!("Server '{id}' has been deleted."))
    );
    assert_eq!(
        c.delete_server(U, id).unwrap_err(),
        ApiError::bad(format!("Server '{id}' has been deleted."))
    );
}

#[test]
fn resize_needs_stopped_same_disk_same_type() {
    let mut c = core();
    let id = active_server(&mut c, VLMC);
    let flavor = |name: &str| c.flavors.iter().find(|f| f.name == name).unwrap().id;
    let (bigger, other_disk, other_type) = (
        flavor("C2R2048D10ext_vlmc"),
        flavor("C2R2048D20ext_vlmc"),
        flavor("C2R2048D10drbd"),
    );
    assert!(matches!(
        c.server_action(U, id, Action::Resize(bigger)),
        Err(ApiError::BadRequest(_))
    ));
    c.server_action(U, id, Action::Shutdown).unwrap();
    later(&mut c, 11);
    assert_eq!(
        c.server_action(U, id, Action::Resize(other_disk))
            .unwrap_err(),
        ApiError::bad("Cannot change instance's disk size.")
    );
    assert_eq!(
        c.server_action(U, id, Action::Resize(other_type))
            .unwrap_err(),
        ApiError::bad("Cannot change instance's volume type.")
    );
    c.server_action(U, id, Action::Resize(bigger)).unwrap();
    later(&mut c, 11);
    let s = c.server(U, id).unwrap();
    assert_eq!((s.flavor_id, s.status), (bigger, ServerStatus::Stopped));
}

#[test]
fn quota_overflow_names_the_resource() {
    let mut c = core();
    c.settings.default_quota = QuotaLimits {
        vms: 1,
        ..Default::default()
    };
    c.create_server(U, req("one", VLMC)).unwrap();
    let err = c.create_server(U, req("two", VLMC)).unwrap_err();
    assert_eq!(
        err.body().to_string(),
        r#"{"overLimit":{"code":413,"details":"Limit for resource 'Virtual Machine' exceeded for your account. Available: 0, Requested: 1","message":"Resource Limit Exceeded for your account."}}"#
    );
}

#[test]
fn quotas_charge_and_release() {
    let mut c = core();
    let id = active_server(&mut c, VLMC);
    let u = c.usage(U);
    assert_eq!((u.vms, u.cpu, u.total_ram, u.disk), (1, 1, 1024, 10));
    c.server_action(U, id, Action::Shutdown).unwrap();
    assert_eq!(c.usage(U).cpu, 0, "stop releases cpu at request time");
    assert_eq!(c.usage(U).total_cpu, 1);
    later(&mut c, 11);
    c.delete_server(U, id).unwrap();
    let u = c.usage(U);
    assert_eq!((u.vms, u.total_cpu, u.disk), (0, 0, 0));
}

#[test]
fn block_device_mapping_creates_extra_disks_root_first() {
    let mut c = core();
    let mut r = req("bdm", VLMC);
    r.block_devices = vec![
        BlockDevice {
            source_type: "image".into(),
            uuid: Some(UBUNTU_IMAGE_ID.into()),
            ..Default::default()
        },
        BlockDevice {
            source_type: "blank".into(),
            volume_size: Some(5),
            ..Default::default()
        },
    ];
    let (id, _) = c.create_server(U, r).unwrap();
    let s = c.server(U, id).unwrap().clone();
    assert_eq!(s.volumes.len(), 2);
    let (root, extra) = (
        &c.state.volumes[&s.volumes[0]],
        &c.state.volumes[&s.volumes[1]],
    );
    assert_eq!(
        (root.size, root.index, extra.size, extra.index),
        (10, Some(0), 5, Some(1))
    );
    assert_eq!(extra.volume_type, 2);
    assert_eq!(c.usage(U).disk, 15);
    later(&mut c, 11);
    c.delete_server(U, id).unwrap();
    later(&mut c, 11);
    assert!(
        s.volumes
            .iter()
            .all(|v| c.state.volumes[v].status == VolumeStatus::Deleted)
    );
}

#[test]
fn more_than_eight_disks_is_refused() {
    let mut c = core();
    let mut r = req("many", VLMC);
    r.block_devices.push(BlockDevice {
        source_type: "image".into(),
        ..Default::default()
    });
    for _ in 0..8 {
        r.block_devices.push(BlockDevice {
            source_type: "blank".into(),
            volume_size: Some(1),
            ..Default::default()
        });
    }
    assert!(matches!(
        c.create_server(U, r),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn snapshot_of_root_volume_becomes_a_bootable_image() {
    let mut c = core();
    let mut r = req("builder", VLMC);
    r.metadata.insert("OS".into(), "ubuntu".into());
    r.metadata.insert("USERS".into(), "user".into());
    let (id, _) = c.create_server(U, r).unwrap();
    later(&mut c, 11);
    let root = c.server(U, id).unwrap().volumes[0];
    let snap = c
        .create_snapshot(U, root, "img".into(), String::new(), Default::default())
        .unwrap();
    assert_eq!(c.state.images[&snap].status, ImageStatus::Saving);
    assert!(
        c.create_server(
            U,
            CreateServer {
                image_ref: snap.clone(),
                ..req("too-early", VLMC)
            }
        )
        .is_err()
    );
    later(&mut c, 11);
    let img = &c.state.images[&snap];
    assert_eq!(img.status, ImageStatus::Active);
    assert_eq!(img.properties["OS"], "ubuntu");
    c.create_server(
        U,
        CreateServer {
            image_ref: snap,
            ..req("from-snap", VLMC)
        },
    )
    .unwrap();
}

#[test]
fn snapshot_rules() {
    let mut c = core();
    let drbd = active_server(&mut c, DRBD);
    let root = c.server(U, drbd).unwrap().volumes[0];
    assert!(matches!(
        c.create_snapshot(U, root, "x".into(), String::new(), Default::default()),
        Err(ApiError::BadRequest(_))
    ));
    let vid = c
        .create_volume(
            U,
            CreateVolume {
                name: "d".into(),
                size: 1,
                volume_type: Some("2".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        c.create_snapshot(U, vid, "x".into(), String::new(), Default::default())
            .unwrap_err(),
        ApiError::bad("Cannot snapshot a detached volume!")
    );
}

#[test]
fn volumes_attach_detach_and_root_protection() {
    let mut c = core();
    let id = active_server(&mut c, VLMC);
    let err = c
        .create_volume(
            U,
            CreateVolume {
                name: "d".into(),
                size: 1,
                volume_type: Some("1".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err, ApiError::bad("Volume type 'drbd' is not detachable"));
    let vid = c
        .create_volume(
            U,
            CreateVolume {
                name: "d".into(),
                size: 2,
                volume_type: Some("2".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(c.state.volumes[&vid].status, VolumeStatus::Available);
    c.attach_volume(U, id, vid).unwrap();
    assert_eq!(c.state.volumes[&vid].status, VolumeStatus::Attaching);
    later(&mut c, 11);
    assert_eq!(c.state.volumes[&vid].status, VolumeStatus::InUse);
    assert_eq!(c.server(U, id).unwrap().volumes.len(), 2);
    let root = c.server(U, id).unwrap().volumes[0];
    assert!(c.delete_volume(U, root).is_err());
    assert!(c.detach_volume(U, id, root).is_err());
    c.detach_volume(U, id, vid).unwrap();
    later(&mut c, 11);
    assert_eq!(c.state.volumes[&vid].status, VolumeStatus::Available);
    assert_eq!(c.server(U, id).unwrap().volumes, vec![root]);
}

#[test]
fn floating_ip_networks_need_a_free_address() {
    let mut c = core();
    let mut r = req("fip", VLMC);
    r.networks = Some(vec![NicSpec::Network {
        network: seed::PUBLIC_V4_NET,
        fixed_ip: None,
    }]);
    assert!(matches!(
        c.create_server(U, r.clone()),
        Err(ApiError::Conflict(_))
    ));
    let fid = c.create_floating_ip(U, None, None, None, false).unwrap();
    let (id, _) = c.create_server(U, r).unwrap();
    let port = c.state.floating_ips[&fid].port_id.unwrap();
    assert_eq!(c.state.ports[&port].device_id, Some(id));
    assert!(matches!(
        c.delete_floating_ip(U, fid),
        Err(ApiError::Conflict(_))
    ));
}

#[test]
fn other_users_see_nothing() {
    let mut c = core();
    let id = active_server(&mut c, VLMC);
    assert!(matches!(
        c.server("someone-else", id),
        Err(ApiError::ItemNotFound(_))
    ));
    assert_eq!(c.servers_of("someone-else", None).count(), 0);
}
