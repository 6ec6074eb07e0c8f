//! Flavors and size requests for the tests of sizing and of the operations.
use super::*;

pub fn flavor(id: u32, cpus: u32, ram: u32, disk: u32, template: &str, allow: bool) -> Flavor {
    Flavor {
        id: id.to_string(),
        name: format!("C{cpus}R{ram}D{disk}{template}"),
        vcpus: cpus,
        ram,
        disk,
        disk_template: template.into(),
        allow_create: allow,
    }
}

pub fn shape(cpus: u32, ram_mb: u32, disk_gb: Option<u32>) -> SizeRequest {
    SizeRequest::Shape {
        cpus,
        ram_mb,
        disk_gb,
    }
}

pub fn named(name: &str) -> SizeRequest {
    SizeRequest::Named(name.into())
}
