//! Disks (Synnefo volumes): a new disk is created and attached to its VM in one call.

use super::validate::{non_empty, server_id};
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::protocol::{CreateVolume, CreateVolumeRoot, id_value};
use crate::wit::{Disk, DiskState};

pub fn list_disks(c: &mut Client, vm_id: Option<&str>) -> Result<Vec<Disk>, Error> {
    let vm = vm_id.map(server_id).transpose()?;
    Ok(api::list_volumes(c)?
        .iter()
        .filter(|v| vm.is_none_or(|id| convert::attached_to(v, id)))
        .map(convert::disk)
        .collect())
}

pub fn get_disk(c: &mut Client, id: &str) -> Result<Disk, Error> {
    api::get_volume(c, non_empty("disk id", id)?).map(|v| convert::disk(&v))
}

pub fn attach_disk(c: &mut Client, vm_id: &str, size_gb: u32, name: &str) -> Result<Disk, Error> {
    let id = server_id(vm_id)?;
    if size_gb == 0 {
        return Err(Error::Invalid(
            "a disk of 0 GB was asked for; give a size of at least 1 GB".into(),
        ));
    }
    let name = match name.trim() {
        "" => format!("vm-{id}-disk"),
        n => n.to_string(),
    };
    let created = api::create_volume(
        c,
        &CreateVolumeRoot {
            volume: CreateVolume {
                display_name: name.clone(),
                size: size_gb,
                server_id: id_value(id),
            },
        },
    )?;
    let mut disk = convert::disk(&created);
    if disk.name.is_empty() {
        disk.name = name;
    }
    if disk.size_gb == 0 {
        disk.size_gb = size_gb;
    }
    if created.status.is_empty() {
        disk.state = DiskState::Creating;
    }
    if disk.vm_id.is_none() {
        disk.vm_id = Some(id.to_string());
    }
    Ok(disk)
}

pub fn detach_disk(c: &mut Client, vm_id: &str, disk_id: &str) -> Result<(), Error> {
    api::detach_volume(c, server_id(vm_id)?, non_empty("disk id", disk_id)?)
}

pub fn delete_disk(c: &mut Client, disk_id: &str) -> Result<(), Error> {
    api::delete_volume(c, non_empty("disk id", disk_id)?)
}
