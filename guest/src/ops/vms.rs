//! VMs (Synnefo servers): creation, lookup, listing and the power actions.

use super::flavors::resolve;
use super::lookup::Lookup;
use super::validate::{non_empty, server_id};
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::create;
use crate::protocol::{self, CreateServerRoot};
use crate::sizing;
use crate::wit::{Tag, Vm, VmSpec};

/// Creates a VM from the flavors and image the cache holds, if it holds them, so that the
/// creates of one deployment cost one `POST /servers` each. A create the cloud refuses as not
/// found (404: a flavor or image withdrawn) or invalid (400) after cached records built it is
/// rebuilt from fresh ones and sent once more, and only once. Nothing else is retried: after
/// a transport error, a timeout or a 5xx the VM may exist, and the host reconciles those.
pub fn create_vm(c: &mut Client, spec: &VmSpec) -> Result<Vm, Error> {
    let mut lookup = Lookup::cache_first();
    let mut planned = plan(c, spec, &mut lookup)?;
    let server = match api::create_server(c, &planned.body) {
        Err(Error::NotFound(_) | Error::Invalid(_)) if lookup.cached => {
            lookup.refresh(c, &spec.image, Some(&planned.image));
            planned = plan(c, spec, &mut lookup)?;
            api::create_server(c, &planned.body)?
        }
        created => created?,
    };
    let Plan {
        flavor,
        image,
        body,
    } = planned;
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

/// What a create sends, and the records it was built from.
struct Plan {
    flavor: protocol::Flavor,
    image: protocol::Image,
    body: CreateServerRoot,
}

/// Resolves the flavor and the image of `spec` through `lookup` and builds the create body;
/// a flavor that does not allow creation is refused here.
fn plan(c: &mut Client, spec: &VmSpec, lookup: &mut Lookup) -> Result<Plan, Error> {
    let flavor = match creatable_flavor(c, spec, lookup) {
        // A name or shape the cached list cannot satisfy, or a flavor it says allows no
        // creation, is checked against the cloud's own list.
        Err(_) if lookup.cached => {
            lookup.refresh(c, &spec.image, None);
            creatable_flavor(c, spec, lookup)?
        }
        flavor => flavor?,
    };
    let image = lookup.image(c, &spec.image)?;
    let project = c.config.project.clone();
    let body = create::server_body(spec, &flavor, &image, project.as_deref())?;
    Ok(Plan {
        flavor,
        image,
        body,
    })
}

/// The flavor `spec` asks for, unless it does not allow creating VMs.
fn creatable_flavor(
    c: &mut Client,
    spec: &VmSpec,
    lookup: &mut Lookup,
) -> Result<protocol::Flavor, Error> {
    let (flavors, flavor) = resolve(c, &spec.size, lookup)?;
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
    Ok(flavor)
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

pub fn set_vm_tag(c: &mut Client, id: &str, key: &str, value: &str) -> Result<(), Error> {
    api::set_server_meta(c, server_id(id)?, non_empty("tag key", key)?, value)
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
