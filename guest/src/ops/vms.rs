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
use crate::wit::{Tag, Vm, VmChanges, VmSpec};

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

/// One listing call, filtered here: what changed among the VMs carrying `tags` since `since`
/// (`changes-since`), or all of them (`full`) when `since` is none.
///
/// A `since` Synnefo refuses (400: more than an hour old, in the future, unreadable) is
/// dropped and the servers listed in full, in this same call: the caller gets its answer now
/// instead of an error whose message it would have to read to know what to do, and the one
/// more request is paid only then.
pub fn list_vms_changed(
    c: &mut Client,
    tags: &[Tag],
    mut since: Option<&str>,
) -> Result<VmChanges, Error> {
    // After a refusal, the round trip counts both requests: the token only starts earlier.
    let started = std::time::Instant::now();
    let (servers, date) = match since.map(|t| api::list_servers_changed(c, Some(t))) {
        Some(Err(Error::Invalid(_))) | None => {
            since = None;
            api::list_servers_changed(c, None)?
        }
        Some(answer) => answer?,
    };
    let as_of = match date.and_then(|d| crate::since::as_of(&d, started.elapsed())) {
        // A 304 without a usable date: nothing changed since `since` still.
        None if servers.is_none() => since.map(str::to_string),
        as_of => as_of,
    };
    let full = since.is_none();
    let mut changes = VmChanges {
        full,
        vms: Vec::new(),
        gone: Vec::new(),
        as_of,
    };
    for s in servers.iter().flatten() {
        // A full listing holds no deleted server; a listing of changes holds them all.
        if !s.status.eq_ignore_ascii_case("DELETED") && convert::has_tags(s, tags) {
            changes.vms.push(convert::vm(s));
        } else if !full {
            changes.gone.push(s.id.clone());
        }
    }
    Ok(changes)
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
