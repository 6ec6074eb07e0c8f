//! Flavors: listing them, and resolving a WIT size to one.

use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::protocol;
use crate::sizing::{self, SizeRequest};
use crate::wit::{Flavor, Size};

pub fn size_request(size: &Size) -> SizeRequest {
    match size {
        Size::Flavor(name) => SizeRequest::Named(name.clone()),
        Size::Shape(s) => SizeRequest::Shape {
            cpus: s.cpus,
            ram_mb: s.ram_mb,
            disk_gb: s.disk_gb,
        },
    }
}

pub fn list_flavors(c: &mut Client) -> Result<Vec<Flavor>, Error> {
    Ok(api::list_flavors(c)?.iter().map(convert::flavor).collect())
}

/// The flavor list and the flavor `size` resolves to in it, preferring the configured disk
/// template. The list is returned too, for callers that look for alternatives.
pub(super) fn resolve(
    c: &mut Client,
    size: &Size,
) -> Result<(Vec<protocol::Flavor>, protocol::Flavor), Error> {
    let flavors = api::list_flavors(c)?;
    let preferred = c.config.disk_template.clone();
    let flavor = sizing::resolve(&flavors, &size_request(size), preferred.as_deref())?;
    Ok((flavors, flavor))
}

pub fn resolve_size(c: &mut Client, size: &Size) -> Result<Flavor, Error> {
    resolve(c, size).map(|(_, f)| convert::flavor(&f))
}
