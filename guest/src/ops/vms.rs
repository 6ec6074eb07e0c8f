//! VMs (Synnefo servers): creation, lookup, listing and the power actions.

use super::flavors::resolve;
use super::images::find_image;
use super::validate::server_id;
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::create;
use crate::sizing;
use crate::wit::{Tag, Vm, VmSpec};

pub fn create_vm(c: &mut Client, spec: &VmSpec) -> Result<Vm, Error> {
    let (flavors, flavor) = resolve(c, &spec.size)?;
    if !flavor.allow_create {
        let alternative =
            sizing::smallest_fitting(&flavors, flavor.vcpus, flavor.ram, Some(flavor.disk), None)
                .map(|f| format!("; {} allows it", f.name))
                .unwrap_or_default();
        // Synnefo answers 403 for such a flavor: say so before sending the create.
        return Err(Error::Forbidden(format!(
            "the flavor {} does not allow creating new VMs{alternative}",
            flavor.name
        )));
    }
    let image = find_image(c, &spec.image)?;
    let project = c.config.project.clone();
    let body = create::server_body(spec, &flavor, &image, project.as_deref())?;
    let server = api::create_server(c, &body)?;
    let mut vm = convert::vm(&server);
    // The create answer may omit what we just sent; fill it from the request.
    if vm.name.is_empty() {
        vm.name = body.server.name.clone();
    }
    if vm.flavor.is_empty() {
        vm.flavor = flavor.id.clone();
    }
    if vm.image.is_empty() {
        vm.image = image.id.clone();
    }
    if vm.tags.is_empty() && server.metadata.is_empty() {
        vm.tags = spec.tags.clone();
    }
    if vm.cloud_status.is_empty() {
        vm.cloud_status = "BUILD".into();
        vm.state = convert::vm_state("BUILD", "");
    }
    Ok(vm)
}

pub fn get_vm(c: &mut Client, id: &str) -> Result<Vm, Error> {
    api::get_server(c, server_id(id)?).map(|s| convert::vm(&s))
}

/// One listing call, filtered here.
pub fn list_vms(c: &mut Client, tags: &[Tag]) -> Result<Vec<Vm>, Error> {
    Ok(api::list_servers(c)?
        .iter()
        .filter(|s| convert::has_tags(s, tags))
        .map(convert::vm)
        .collect())
}

pub fn delete_vm(c: &mut Client, id: &str) -> Result<(), Error> {
    api::delete_server(c, server_id(id)?)
}

pub fn start_vm(c: &mut Client, id: &str) -> Result<(), Error> {
    api::start_server(c, server_id(id)?)
}

pub fn stop_vm(c: &mut Client, id: &str) -> Result<(), Error> {
    api::shutdown_server(c, server_id(id)?)
}

pub fn reboot_vm(c: &mut Client, id: &str, hard: bool) -> Result<(), Error> {
    api::reboot_server(c, server_id(id)?, hard)
}
