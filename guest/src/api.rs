//! One function per Synnefo endpoint the connector uses. Paths are relative to the service
//! endpoint from the catalog (`…/compute/v2.0`, `…/volume/v2.0`, `…/image/v1.0`).

use serde::Serialize;
use serde_json::{Value, json};

use crate::Error;
use crate::client::{Client, Method, Service, parse};
use crate::protocol::read::{FromJson, Json};
use crate::protocol::*;

/// `GET` a path; the answer is the envelope `E`, and what it holds is returned.
fn get<E: Envelope + FromJson>(
    c: &mut Client,
    service: Service,
    path: &str,
    expected: &str,
) -> Result<E::Inner, Error> {
    c.get::<E>(service, path, expected).map(E::open)
}

/// `POST` a JSON body; the answer is the envelope `E`, and what it holds is returned.
fn post<E: Envelope + FromJson>(
    c: &mut Client,
    service: Service,
    path: &str,
    body: &impl Serialize,
    expected: &str,
) -> Result<E::Inner, Error> {
    let response = c.send_json(service, Method::Post, path, body)?;
    parse::<E>(&response, &format!("POST {path}"), expected).map(E::open)
}

/// A bodyless request whose answer says nothing beyond its 2xx status (deletes, header-only
/// updates).
fn bodyless(
    c: &mut Client,
    service: Service,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(), Error> {
    c.call(service, method, path, None, headers).map(drop)
}

// ----- account ------------------------------------------------------------------------------

/// `GET /quotas` of the account service.
pub fn quotas(c: &mut Client) -> Result<<QuotasRoot as Envelope>::Inner, Error> {
    get::<QuotasRoot>(c, Service::Account, "/quotas", "the quotas of each project")
}

// ----- compute: flavors ---------------------------------------------------------------------

/// `GET /flavors/detail`.
pub fn list_flavors(c: &mut Client) -> Result<Vec<Flavor>, Error> {
    get::<FlavorsRoot>(c, Service::Compute, "/flavors/detail", "a flavor list")
}

/// `GET /flavors/<id>` (also finds deleted flavors, which lists hide).
pub fn get_flavor(c: &mut Client, id: &str) -> Result<Flavor, Error> {
    let path = format!("/flavors/{}", seg(id));
    get::<FlavorRoot>(c, Service::Compute, &path, "a flavor")
}

// ----- compute: images ----------------------------------------------------------------------

/// `GET /images/detail` (includes snapshots).
pub fn list_images(c: &mut Client) -> Result<Vec<Image>, Error> {
    get::<ImagesRoot>(c, Service::Compute, "/images/detail", "an image list")
}

/// `GET /images/<id>`.
pub fn get_image(c: &mut Client, id: &str) -> Result<Image, Error> {
    let path = format!("/images/{}", seg(id));
    get::<ImageRoot>(c, Service::Compute, &path, "an image")
}

// ----- image service (Plankton) -------------------------------------------------------------

/// `DELETE /image/v1.0/images/<id>`.
pub fn delete_image(c: &mut Client, id: &str) -> Result<(), Error> {
    let path = format!("/images/{}", seg(id));
    bodyless(c, Service::Image, Method::Delete, &path, &[])
}

/// `PUT /image/v1.0/images/<id>` with `X-Image-Meta-Is-Public` and no body.
pub fn set_image_public(c: &mut Client, id: &str, public: bool) -> Result<(), Error> {
    let value = if public { "true" } else { "false" };
    let path = format!("/images/{}", seg(id));
    bodyless(
        c,
        Service::Image,
        Method::Put,
        &path,
        &[("X-Image-Meta-Is-Public", value)],
    )
}

// ----- compute: servers ---------------------------------------------------------------------

/// `POST /servers` → 202 with the new server.
pub fn create_server(c: &mut Client, body: &CreateServerRoot) -> Result<Server, Error> {
    post::<ServerRoot>(c, Service::Compute, "/servers", body, "a server")
}

/// `GET /servers/<id>`.
pub fn get_server(c: &mut Client, id: &str) -> Result<Server, Error> {
    get::<ServerRoot>(c, Service::Compute, &format!("/servers/{id}"), "a server")
}

/// `GET /servers/detail`: every server of the user in one call; with `changes-since`, the
/// servers updated since then, deleted ones included (status `DELETED`), or `None` when none
/// was (304, no body). Also the answer's `Date`, the cloud's clock.
pub fn list_servers_changed(
    c: &mut Client,
    since: Option<&str>,
) -> Result<(Option<Vec<Server>>, Option<String>), Error> {
    let path = match since {
        Some(t) => format!("/servers/detail?changes-since={}", seg(t)),
        None => "/servers/detail".to_string(),
    };
    let response = c.get_changes(Service::Compute, &path)?;
    let servers = match response.status {
        304 => None,
        _ => Some(parse::<ServersRoot>(&response, &format!("GET {path}"), "a server list")?.open()),
    };
    Ok((servers, response.date))
}

/// `DELETE /servers/<id>` → 204.
pub fn delete_server(c: &mut Client, id: &str) -> Result<(), Error> {
    bodyless(
        c,
        Service::Compute,
        Method::Delete,
        &format!("/servers/{id}"),
        &[],
    )
}

/// `POST /servers/<id>/action` → 202.
/// `PUT /servers/<id>/metadata/<key>` with `{"meta": {key: value}}` (201).
pub fn set_server_meta(c: &mut Client, id: &str, key: &str, value: &str) -> Result<(), Error> {
    let path = format!("/servers/{id}/metadata/{}", seg(key));
    c.send_json(
        Service::Compute,
        Method::Put,
        &path,
        &json!({"meta": {key: value}}),
    )
    .map(drop)
}

pub fn server_action(c: &mut Client, id: &str, action: &Value) -> Result<(), Error> {
    let path = format!("/servers/{id}/action");
    c.send_json(Service::Compute, Method::Post, &path, action)
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

pub fn resize_server(c: &mut Client, id: &str, flavor_ref: Json<'static>) -> Result<(), Error> {
    server_action(c, id, &json!({"resize": {"flavorRef": flavor_ref}}))
}

/// `DELETE /servers/<vm>/os-volume_attachments/<volume>` → 202.
pub fn detach_volume(c: &mut Client, server_id: &str, volume_id: &str) -> Result<(), Error> {
    let path = format!(
        "/servers/{server_id}/os-volume_attachments/{}",
        seg(volume_id)
    );
    bodyless(c, Service::Compute, Method::Delete, &path, &[])
}

// ----- block storage ------------------------------------------------------------------------

/// `GET /volumes/detail`.
pub fn list_volumes(c: &mut Client) -> Result<Vec<Volume>, Error> {
    get::<VolumesRoot>(c, Service::Volume, "/volumes/detail", "a volume list")
}

/// `GET /volumes/<id>`.
pub fn get_volume(c: &mut Client, id: &str) -> Result<Volume, Error> {
    let path = format!("/volumes/{}", seg(id));
    get::<VolumeRoot>(c, Service::Volume, &path, "a volume")
}

/// `POST /volumes` with `server_id`: creates the volume and attaches it. The answer holds
/// only the id (and name).
pub fn create_volume(c: &mut Client, body: &CreateVolumeRoot) -> Result<Volume, Error> {
    post::<VolumeRoot>(c, Service::Volume, "/volumes", body, "a volume")
}

/// `DELETE /volumes/<id>` → 202.
pub fn delete_volume(c: &mut Client, id: &str) -> Result<(), Error> {
    let path = format!("/volumes/{}", seg(id));
    bodyless(c, Service::Volume, Method::Delete, &path, &[])
}

/// `POST /snapshots` → 202.
pub fn create_snapshot(c: &mut Client, body: &CreateSnapshotRoot) -> Result<Snapshot, Error> {
    post::<SnapshotRoot>(c, Service::Volume, "/snapshots", body, "a snapshot")
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
