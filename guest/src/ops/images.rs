//! Images and snapshots (a snapshot is an image that Synnefo lists with `is_snapshot`).

use super::validate::{is_uuid, non_empty, server_id};
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::protocol::{self, CreateSnapshot, CreateSnapshotRoot};
use crate::sizing::{close_matches, suggestion_text};
use crate::wit::Image;

pub fn list_images(c: &mut Client) -> Result<Vec<Image>, Error> {
    Ok(api::list_images(c)?.iter().map(convert::image).collect())
}

/// By id (uuid-shaped) or exact name; a name must be unambiguous.
pub fn find_image(c: &mut Client, image: &str) -> Result<protocol::Image, Error> {
    let image = non_empty("image id or name", image)?;
    if is_uuid(image) {
        return api::get_image(c, image);
    }
    let all = api::list_images(c)?;
    pick_image(&all, image)
}

/// The image named `name` among `all`.
pub fn pick_image(all: &[protocol::Image], name: &str) -> Result<protocol::Image, Error> {
    let live: Vec<&protocol::Image> = all
        .iter()
        .filter(|i| !i.status.eq_ignore_ascii_case("DELETED"))
        .collect();
    let named: Vec<&&protocol::Image> = live.iter().filter(|i| i.name == name).collect();
    match named.as_slice() {
        [one] => Ok((**one).clone()),
        [] => {
            let names: Vec<&str> = live.iter().map(|i| i.name.as_str()).collect();
            Err(Error::NotFound(format!(
                "no image named '{name}'{}",
                suggestion_text(&close_matches(name, &names, 5))
            )))
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|i| i.id.as_str()).collect();
            Err(Error::Invalid(format!(
                "{} images are named '{name}': {}; give the image id instead",
                many.len(),
                ids.join(", ")
            )))
        }
    }
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
    let snapshot = api::create_snapshot(
        c,
        &CreateSnapshotRoot {
            snapshot: CreateSnapshot {
                volume_id: root.clone(),
                display_name: name.to_string(),
            },
        },
    )?;
    let mut image = convert::snapshot_image(&snapshot);
    if image.name.is_empty() {
        image.name = name.to_string();
    }
    Ok(image)
}
