//! Flavors: listing them, and resolving a WIT size to one.

use super::lookup::Lookup;
use crate::Error;
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

/// Read from the cloud, and cached for the creates that follow.
pub fn list_flavors(c: &mut Client) -> Result<Vec<Flavor>, Error> {
    let flavors = Lookup::fresh().flavors(c)?;
    Ok(flavors.iter().map(convert::flavor).collect())
}

/// The flavor list (as `lookup` reads it) and the flavor `size` resolves to in it, preferring
/// the configured disk template. The list is returned too, for callers that look for
/// alternatives.
pub(super) fn resolve(
    c: &mut Client,
    size: &Size,
    lookup: &mut Lookup,
) -> Result<(Vec<protocol::Flavor>, protocol::Flavor), Error> {
    let flavors = lookup.flavors(c)?;
    let preferred = c.config.disk_template.clone();
    let flavor = sizing::resolve(&flavors, &size_request(size), preferred.as_deref())?;
    Ok((flavors, flavor))
}

/// Read from the cloud, and cached for the creates that follow.
pub fn resolve_size(c: &mut Client, size: &Size) -> Result<Flavor, Error> {
    resolve(c, size, &mut Lookup::fresh()).map(|(_, f)| convert::flavor(&f))
}
