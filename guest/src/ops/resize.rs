//! Resizing a VM: Synnefo moves a server only between flavors with the same disk, so a
//! requested size is planned against those before anything is sent.

use super::flavors::size_request;
use super::validate::server_id;
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::protocol::{self, id_value};
use crate::sizing::{self, SizeRequest};
use crate::wit::{ResizePlan, Size};

pub fn plan_resize(c: &mut Client, id: &str, size: &Size) -> Result<ResizePlan, Error> {
    let id = server_id(id)?;
    let server = api::get_server(c, id)?;
    if server.flavor.is_empty() {
        return Err(Error::Protocol(format!("VM {id} reports no flavor")));
    }
    let current = api::get_flavor(c, &server.flavor)?;
    let flavors = api::list_flavors(c)?;
    plan(&current, &flavors, &size_request(size)).map_err(|e| match e {
        Error::Invalid(m) => Error::Invalid(format!("VM {id}: {m}")),
        other => other,
    })
}

/// Decides a resize from the VM's flavor: Synnefo only resizes between flavors with the same
/// disk size and disk template, so a shape is matched among those.
pub fn plan(
    current: &protocol::Flavor,
    flavors: &[protocol::Flavor],
    size: &SizeRequest,
) -> Result<ResizePlan, Error> {
    let same_disk =
        |f: &&protocol::Flavor| f.disk == current.disk && f.disk_template == current.disk_template;
    let keep = format!(
        "a resize keeps the disk: it must stay {} GB {}",
        current.disk, current.disk_template
    );
    let candidates: Vec<protocol::Flavor> = flavors.iter().filter(same_disk).cloned().collect();
    let target = match size {
        SizeRequest::Named(name) => {
            let name = name.trim();
            if name == current.id || name == current.name {
                return Ok(ResizePlan::Already(convert::flavor(current)));
            }
            sizing::by_name_or_id(flavors, name)?
        }
        SizeRequest::Shape {
            cpus,
            ram_mb,
            disk_gb,
        } => {
            if let Some(d) = disk_gb
                && *d > current.disk
            {
                return Err(Error::Invalid(format!(
                    "{d} GB of disk were asked for, but {keep}; add a disk instead"
                )));
            }
            match sizing::smallest_fitting(&candidates, *cpus, *ram_mb, None, None) {
                Some(f) => f.clone(),
                None => {
                    let largest = candidates
                        .iter()
                        .filter(|f| f.allow_create)
                        .max_by_key(|f| (f.vcpus, f.ram))
                        .map(|f| format!("; the largest is {}", f.name))
                        .unwrap_or_default();
                    return Err(Error::Invalid(format!(
                        "no flavor with a {} GB {} disk offers {}{largest}",
                        current.disk,
                        current.disk_template,
                        sizing::describe_shape(*cpus, *ram_mb, None)
                    )));
                }
            }
        }
    };
    if target.id == current.id {
        return Ok(ResizePlan::Already(convert::flavor(current)));
    }
    if target.disk != current.disk || target.disk_template != current.disk_template {
        let mut fitting: Vec<&protocol::Flavor> = candidates
            .iter()
            .filter(|f| f.allow_create && sizing::fits(f, target.vcpus, target.ram, None))
            .collect();
        sizing::sort_stable(&mut fitting, |a, b| {
            (a.vcpus, a.ram, &a.name) < (b.vcpus, b.ram, &b.name)
        });
        let names: Vec<&str> = fitting.iter().take(5).map(|f| f.name.as_str()).collect();
        let hint = if names.is_empty() {
            format!(
                "no flavor with that disk offers {} CPUs and {} MB RAM",
                target.vcpus, target.ram
            )
        } else {
            format!("flavors that fit with that disk: {}", names.join(", "))
        };
        return Err(Error::Invalid(format!(
            "the flavor {} has a {} GB {} disk, but {keep}; {hint}",
            target.name, target.disk, target.disk_template
        )));
    }
    Ok(ResizePlan::MoveTo(convert::flavor(&target)))
}

pub fn resize_vm(c: &mut Client, id: &str, flavor_id: &str) -> Result<(), Error> {
    let id = server_id(id)?;
    let flavor_id = flavor_id.trim();
    if flavor_id.is_empty() || !flavor_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid(format!(
            "'{flavor_id}' is not a flavor id (a number); plan-resize gives the flavor to move to"
        )));
    }
    api::resize_server(c, id, id_value(flavor_id))
}

#[cfg(test)]
mod tests;
