//! Images and snapshots (a snapshot is an image that Synnefo lists with `is_snapshot`).

use super::lookup::Lookup;
use super::validate::{non_empty, server_id};
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::protocol::{self, CreateSnapshot, CreateSnapshotRoot};
use crate::wit::Image;

pub fn list_images(c: &mut Client) -> Result<Vec<Image>, Error> {
    Ok(api::list_images(c)?.iter().map(convert::image).collect())
}

/// By id (uuid-shaped) or exact name; a name must be unambiguous. Read from the cloud, and
/// cached for the creates that follow.
pub fn find_image(c: &mut Client, image: &str) -> Result<protocol::Image, Error> {
    Lookup::fresh().image(c, image)
}

pub fn get_image(c: &mut Client, image: &str) -> Result<Image, Error> {
    find_image(c, image).map(|i| convert::image(&i))
}

pub fn delete_image(c: &mut Client, id: &str) -> Result<(), Error> {
    api::delete_image(c, non_empty("image id", id)?)
}

pub fn set_image_public(c: &mut Client, id: &str, public: bool) -> Result<(), Error> {
    api::set_image_public(c, non_empty("image id", id)?, public)
}

/// Snapshots the VM's root volume (`volumes[0]`); the snapshot is an image.
pub fn create_image(c: &mut Client, vm_id: &str, name: &str) -> Result<Image, Error> {
    let id = server_id(vm_id)?;
    let name = non_empty("image name", name)?;
    let server = api::get_server(c, id)?;
    let Some(root) = server.volumes.first() else {
        return Err(Error::Protocol(format!(
            "VM {id} lists no volumes, so its root disk cannot be snapshotted"
        )));
    };
    // Synnefo copies only the server's `OS` and (lower-case) `users` metadata into the
    // snapshot; the connector writes the image's `USERS` into the server's metadata, so it
    // passes them itself: a VM run from the new image gets its users' SSH keys too.
    let metadata = crate::convert::IMAGE_META_KEYS
        .iter()
        .filter_map(|k| {
            crate::convert::property(&server.metadata, k).map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    let snapshot = api::create_snapshot(
        c,
        &CreateSnapshotRoot {
            snapshot: CreateSnapshot {
                volume_id: root.clone(),
                display_name: name.to_string(),
                metadata,
            },
        },
    )?;
    let mut image = convert::snapshot_image(&snapshot);
    if image.name.is_empty() {
        image.name = name.to_string();
    }
    Ok(image)
}
