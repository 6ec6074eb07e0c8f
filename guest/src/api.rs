//! One function per Synnefo endpoint the connector uses. Paths are relative to the service
//! endpoint from the catalog (`…/compute/v2.0`, `…/volume/v2.0`, `…/image/v1.0`).

use serde_json::{Value, json};

use crate::Error;
use crate::client::{Client, Method, Service, parse};
use crate::protocol::*;

// ----- compute: flavors ---------------------------------------------------------------------

/// `GET /flavors/detail`.
pub fn list_flavors(c: &mut Client) -> Result<Vec<Flavor>, Error> {
    let root: FlavorsRoot = c.get(Service::Compute, "/flavors/detail", "a flavor list")?;
    Ok(root.flavors)
}

/// `GET /flavors/<id>` (also finds deleted flavors, which lists hide).
pub fn get_flavor(c: &mut Client, id: &str) -> Result<Flavor, Error> {
    let root: FlavorRoot = c.get(
        Service::Compute,
        &format!("/flavors/{}", seg(id)),
        "a flavor",
    )?;
    Ok(root.flavor)
}

// ----- compute: images ----------------------------------------------------------------------

/// `GET /images/detail` (includes snapshots).
pub fn list_images(c: &mut Client) -> Result<Vec<Image>, Error> {
    let root: ImagesRoot = c.get(Service::Compute, "/images/detail", "an image list")?;
    Ok(root.images)
}

/// `GET /images/<id>`.
pub fn get_image(c: &mut Client, id: &str) -> Result<Image, Error> {
    let root: ImageRoot = c.get(
        Service::Compute,
        &format!("/images/{}", seg(id)),
        "an image",
    )?;
    Ok(root.image)
}

// ----- image service (Plankton) -------------------------------------------------------------

/// `DELETE /image/v1.0/images/<id>`.
pub fn delete_image(c: &mut Client, id: &str) -> Result<(), Error> {
    c.call(
        Service::Image,
        Method::Delete,
        &format!("/images/{}", seg(id)),
        None,
        &[],
    )
    .map(drop)
}

/// `PUT /image/v1.0/images/<id>` with `X-Image-Meta-Is-Public` and no body.
pub fn set_image_public(c: &mut Client, id: &str, public: bool) -> Result<(), Error> {
    let value = if public { "true" } else { "false" };
    c.call(
        Service::Image,
        Method::Put,
        &format!("/images/{}", seg(id)),
        None,
        &[("X-Image-Meta-Is-Public", value)],
    )
    .map(drop)
}

// ----- compute: servers ---------------------------------------------------------------------

/// `POST /servers` → 202 with the new server.
pub fn create_server(c: &mut Client, body: &CreateServerRoot) -> Result<Server, Error> {
    let response = c.send_json(Service::Compute, Method::Post, "/servers", body)?;
    let root: ServerRoot = parse(&response, "POST /servers", "a server")?;
    Ok(root.server)
}

/// `GET /servers/<id>`.
pub fn get_server(c: &mut Client, id: &str) -> Result<Server, Error> {
    let root: ServerRoot = c.get(Service::Compute, &format!("/servers/{id}"), "a server")?;
    Ok(root.server)
}

/// `GET /servers/detail`: every server of the user in one call.
pub fn list_servers(c: &mut Client) -> Result<Vec<Server>, Error> {
    let root: ServersRoot = c.get(Service::Compute, "/servers/detail", "a server list")?;
    Ok(root.servers)
}

/// `DELETE /servers/<id>` → 204.
pub fn delete_server(c: &mut Client, id: &str) -> Result<(), Error> {
    c.call(
        Service::Compute,
        Method::Delete,
        &format!("/servers/{id}"),
        None,
        &[],
    )
    .map(drop)
}

/// `POST /servers/<id>/action` → 202.
pub fn server_action(c: &mut Client, id: &str, action: &Value) -> Result<(), Error> {
    c.send_json(
        Service::Compute,
        Method::Post,
        &format!("/servers/{id}/action"),
        action,
    )
    .map(drop)
}

pub fn start_server(c: &mut Client, id: &str) -> Result<(), Error> {
    server_action(c, id, &json!({"start": {}}))
}

pub fn shutdown_server(c: &mut Client, id: &str) -> Result<(), Error> {
    server_action(c, id, &json!({"shutdown": {}}))
}

pub fn reboot_server(c: &mut Client, id: &str, hard: bool) -> Result<(), Error> {
    let kind = if hard { "HARD" } else { "SOFT" };
    server_action(c, id, &json!({"reboot": {"type": kind}}))
}

pub fn resize_server(c: &mut Client, id: &str, flavor_ref: Value) -> Result<(), Error> {
    server_action(c, id, &json!({"resize": {"flavorRef": flavor_ref}}))
}

/// `DELETE /servers/<vm>/os-volume_attachments/<volume>` → 202.
pub fn detach_volume(c: &mut Client, server_id: &str, volume_id: &str) -> Result<(), Error> {
    c.call(
        Service::Compute,
        Method::Delete,
        &format!(
            "/servers/{server_id}/os-volume_attachments/{}",
            seg(volume_id)
        ),
        None,
        &[],
    )
    .map(drop)
}

// ----- block storage ------------------------------------------------------------------------

/// `GET /volumes/detail`.
pub fn list_volumes(c: &mut Client) -> Result<Vec<Volume>, Error> {
    let root: VolumesRoot = c.get(Service::Volume, "/volumes/detail", "a volume list")?;
    Ok(root.volumes)
}

/// `GET /volumes/<id>`.
pub fn get_volume(c: &mut Client, id: &str) -> Result<Volume, Error> {
    let root: VolumeRoot = c.get(
        Service::Volume,
        &format!("/volumes/{}", seg(id)),
        "a volume",
    )?;
    Ok(root.volume)
}

/// `POST /volumes` with `server_id`: creates the volume and attaches it. The answer holds
/// only the id (and name).
pub fn create_volume(c: &mut Client, body: &CreateVolumeRoot) -> Result<Volume, Error> {
    let response = c.send_json(Service::Volume, Method::Post, "/volumes", body)?;
    let root: VolumeRoot = parse(&response, "POST /volumes", "a volume")?;
    Ok(root.volume)
}

/// `DELETE /volumes/<id>` → 202.
pub fn delete_volume(c: &mut Client, id: &str) -> Result<(), Error> {
    c.call(
        Service::Volume,
        Method::Delete,
        &format!("/volumes/{}", seg(id)),
        None,
        &[],
    )
    .map(drop)
}

/// `POST /snapshots` → 202.
pub fn create_snapshot(c: &mut Client, body: &CreateSnapshotRoot) -> Result<Snapshot, Error> {
    let response = c.send_json(Service::Volume, Method::Post, "/snapshots", body)?;
    let root: SnapshotRoot = parse(&response, "POST /snapshots", "a snapshot")?;
    Ok(root.snapshot)
}

/// A path segment: ids come from callers, so keep them from escaping their segment.
pub fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_escaped() {
        assert_eq!(
            seg("fe31fced-a3cf-49c6-b43b-f58f5235ba45"),
            "fe31fced-a3cf-49c6-b43b-f58f5235ba45"
        );
        assert_eq!(seg("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}
