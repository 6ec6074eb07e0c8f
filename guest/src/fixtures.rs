//! Records that the unit tests of several modules build alike.

use crate::wit::{Shape, Size, Tag, VmSpec};

pub fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

/// A spec for a `cpus`/`ram_mb` shape with one SSH key and one tag; no files, no user data,
/// no volatile disk, no project.
pub fn vm_spec(image: &str, cpus: u32, ram_mb: u32, ssh_key: &str, tag: Tag) -> VmSpec {
    VmSpec {
        name: "node-1".into(),
        image: image.into(),
        size: Size::Shape(Shape {
            cpus,
            ram_mb,
            disk_gb: None,
        }),
        ssh_keys: vec![ssh_key.into()],
        files: vec![],
        user_data: None,
        volatile_disk_gb: None,
        tags: vec![tag],
        project: None,
    }
}
