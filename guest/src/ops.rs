//! The connector operations: each validates its input, makes the Synnefo calls and maps the
//! answer. The WIT exports in `lib.rs` only load the configuration and delegate here.

use serde_json::Value;

use crate::Error;
use crate::api;
use crate::client::Client;
use crate::convert;
use crate::create;
use crate::protocol::{self, CreateSnapshot, CreateSnapshotRoot, CreateVolume, CreateVolumeRoot};
use crate::sizing::{self, SizeRequest, close_matches, suggestion_text};
use crate::wit::{Disk, DiskState, Flavor, Image, ResizePlan, Size, Tag, Vm, VmSpec};

/// The operation names of the `connector` interface this connector implements.
pub const CAPABILITIES: [&str; 22] = [
    "list-flavors",
    "resolve-size",
    "list-images",
    "get-image",
    "delete-image",
    "set-image-public",
    "create-image",
    "create-vm",
    "get-vm",
    "list-vms",
    "delete-vm",
    "start-vm",
    "stop-vm",
    "reboot-vm",
    "plan-resize",
    "resize-vm",
    "list-disks",
    "get-disk",
    "attach-disk",
    "detach-disk",
    "delete-disk",
    "info",
];

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

/// A Synnefo server id: digits only.
pub fn server_id(id: &str) -> Result<&str, Error> {
    let id = id.trim();
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(Error::Invalid(format!(
            "'{id}' is not an ~Okeanos VM id: server ids are numbers (e.g. 123456)"
        )))
    }
}

fn non_empty<'a>(what: &str, id: &'a str) -> Result<&'a str, Error> {
    let id = id.trim();
    if id.is_empty() {
        Err(Error::Invalid(format!("the {what} is empty")))
    } else {
        Ok(id)
    }
}

/// `8-4-4-4-12` hexadecimal, the shape of Synnefo image (and snapshot) ids.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

// ----- flavors ------------------------------------------------------------------------------

pub fn list_flavors(c: &mut Client) -> Result<Vec<Flavor>, Error> {
    Ok(api::list_flavors(c)?.iter().map(convert::flavor).collect())
}

fn resolve(c: &mut Client, size: &Size) -> Result<protocol::Flavor, Error> {
    let flavors = api::list_flavors(c)?;
    let preferred = c.config.disk_template.clone();
    sizing::resolve(&flavors, &size_request(size), preferred.as_deref())
}

pub fn resolve_size(c: &mut Client, size: &Size) -> Result<Flavor, Error> {
    resolve(c, size).map(|f| convert::flavor(&f))
}

// ----- images -------------------------------------------------------------------------------

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

// ----- VMs ----------------------------------------------------------------------------------

pub fn create_vm(c: &mut Client, spec: &VmSpec) -> Result<Vm, Error> {
    let flavors = api::list_flavors(c)?;
    let preferred = c.config.disk_template.clone();
    let flavor = sizing::resolve(&flavors, &size_request(&spec.size), preferred.as_deref())?;
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
    let image = find_image(c, &spec.image)?;
    let project = c.config.project.clone();
    let body = create::server_body(spec, &flavor, &image, project.as_deref())?;
    let server = api::create_server(c, &body)?;
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

pub fn start_vm(c: &mut Client, id: &str) -> Result<(), Error> {
    api::start_server(c, server_id(id)?)
}

pub fn stop_vm(c: &mut Client, id: &str) -> Result<(), Error> {
    api::shutdown_server(c, server_id(id)?)
}

pub fn reboot_vm(c: &mut Client, id: &str, hard: bool) -> Result<(), Error> {
    api::reboot_server(c, server_id(id)?, hard)
}

pub fn plan_resize(c: &mut Client, id: &str, size: &Size) -> Result<ResizePlan, Error> {
    let id = server_id(id)?;
    let server = api::get_server(c, id)?;
    if server.flavor.is_empty() {
        return Err(Error::Protocol(format!("VM {id} reports no flavor")));
    }
    let current = api::get_flavor(c, &server.flavor)?;
    let flavors = api::list_flavors(c)?;
    plan(&current, &flavors, &size_request(size)).map_err(|e| match e {
        Error::Invalid(m) => Error::Invalid(format!("VM {id}: {m}")),
        other => other,
    })
}

/// Decides a resize from the VM's flavor: Synnefo only resizes between flavors with the same
/// disk size and disk template, so a shape is matched among those.
pub fn plan(
    current: &protocol::Flavor,
    flavors: &[protocol::Flavor],
    size: &SizeRequest,
) -> Result<ResizePlan, Error> {
    let same_disk =
        |f: &&protocol::Flavor| f.disk == current.disk && f.disk_template == current.disk_template;
    let keep = format!(
        "a resize keeps the disk: it must stay {} GB {}",
        current.disk, current.disk_template
    );
    let candidates: Vec<protocol::Flavor> = flavors.iter().filter(same_disk).cloned().collect();
    let target = match size {
        SizeRequest::Named(name) => {
            let name = name.trim();
            if name == current.id || name == current.name {
                return Ok(ResizePlan::Already(convert::flavor(current)));
            }
            sizing::by_name_or_id(flavors, name)?
        }
        SizeRequest::Shape {
            cpus,
            ram_mb,
            disk_gb,
        } => {
            if let Some(d) = disk_gb
                && *d > current.disk
            {
                return Err(Error::Invalid(format!(
                    "{d} GB of disk were asked for, but {keep}; add a disk instead"
                )));
            }
            match sizing::smallest_fitting(&candidates, *cpus, *ram_mb, None, None) {
                Some(f) => f.clone(),
                None => {
                    let largest = candidates
                        .iter()
                        .filter(|f| f.allow_create)
                        .max_by_key(|f| (f.vcpus, f.ram))
                        .map(|f| format!("; the largest is {}", f.name))
                        .unwrap_or_default();
                    return Err(Error::Invalid(format!(
                        "no flavor with a {} GB {} disk offers {}{largest}",
                        current.disk,
                        current.disk_template,
                        sizing::describe_shape(*cpus, *ram_mb, None)
                    )));
                }
            }
        }
    };
    if target.id == current.id {
        return Ok(ResizePlan::Already(convert::flavor(current)));
    }
    if target.disk != current.disk || target.disk_template != current.disk_template {
        let mut fitting: Vec<&protocol::Flavor> = candidates
            .iter()
            .filter(|f| f.allow_create && sizing::fits(f, target.vcpus, target.ram, None))
            .collect();
        fitting.sort_by_key(|f| (f.vcpus, f.ram, f.name.clone()));
        let names: Vec<&str> = fitting.iter().take(5).map(|f| f.name.as_str()).collect();
        let hint = if names.is_empty() {
            format!(
                "no flavor with that disk offers {} CPUs and {} MB RAM",
                target.vcpus, target.ram
            )
        } else {
            format!("flavors that fit with that disk: {}", names.join(", "))
        };
        return Err(Error::Invalid(format!(
            "the flavor {} has a {} GB {} disk, but {keep}; {hint}",
            target.name, target.disk, target.disk_template
        )));
    }
    Ok(ResizePlan::MoveTo(convert::flavor(&target)))
}

pub fn resize_vm(c: &mut Client, id: &str, flavor_id: &str) -> Result<(), Error> {
    let id = server_id(id)?;
    let flavor_id = flavor_id.trim();
    if flavor_id.is_empty() || !flavor_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid(format!(
            "'{flavor_id}' is not a flavor id (a number); plan-resize gives the flavor to move to"
        )));
    }
    api::resize_server(c, id, create::flavor_ref(flavor_id))
}

// ----- disks --------------------------------------------------------------------------------

pub fn list_disks(c: &mut Client, vm_id: Option<&str>) -> Result<Vec<Disk>, Error> {
    let vm = vm_id.map(server_id).transpose()?;
    Ok(api::list_volumes(c)?
        .iter()
        .filter(|v| vm.is_none_or(|id| convert::attached_to(v, id)))
        .map(convert::disk)
        .collect())
}

pub fn get_disk(c: &mut Client, id: &str) -> Result<Disk, Error> {
    api::get_volume(c, non_empty("disk id", id)?).map(|v| convert::disk(&v))
}

pub fn attach_disk(c: &mut Client, vm_id: &str, size_gb: u32, name: &str) -> Result<Disk, Error> {
    let id = server_id(vm_id)?;
    if size_gb == 0 {
        return Err(Error::Invalid(
            "a disk of 0 GB was asked for; give a size of at least 1 GB".into(),
        ));
    }
    let name = match name.trim() {
        "" => format!("vm-{id}-disk"),
        n => n.to_string(),
    };
    let server_ref = id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id));
    let created = api::create_volume(
        c,
        &CreateVolumeRoot {
            volume: CreateVolume {
                display_name: name.clone(),
                size: size_gb,
                server_id: server_ref,
            },
        },
    )?;
    let mut disk = convert::disk(&created);
    if disk.name.is_empty() {
        disk.name = name;
    }
    if disk.size_gb == 0 {
        disk.size_gb = size_gb;
    }
    if created.status.is_empty() {
        disk.state = DiskState::Creating;
    }
    if disk.vm_id.is_none() {
        disk.vm_id = Some(id.to_string());
    }
    Ok(disk)
}

pub fn detach_disk(c: &mut Client, vm_id: &str, disk_id: &str) -> Result<(), Error> {
    api::detach_volume(c, server_id(vm_id)?, non_empty("disk id", disk_id)?)
}

pub fn delete_disk(c: &mut Client, disk_id: &str) -> Result<(), Error> {
    api::delete_volume(c, non_empty("disk id", disk_id)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::testing::*;
    use crate::client::{Method, Request};
    use crate::wit::{ImageState, Shape, VmState};
    use serde_json::json;

    const UBUNTU: &str = "fe31fced-a3cf-49c6-b43b-f58f5235ba45";

    fn flavors() -> serde_json::Value {
        json!({"flavors": [
            {"id": 1, "name": "C1R1024D20drbd", "vcpus": 1, "ram": 1024, "disk": 20, "SNF:disk_template": "drbd", "SNF:allow_create": true},
            {"id": 2, "name": "C1R1024D20ext_vlmc", "vcpus": 1, "ram": 1024, "disk": 20, "SNF:disk_template": "ext_vlmc", "SNF:allow_create": true},
            {"id": 3, "name": "C2R2048D20ext_vlmc", "vcpus": 2, "ram": 2048, "disk": 20, "SNF:disk_template": "ext_vlmc", "SNF:allow_create": true},
            {"id": 4, "name": "C2R2048D40ext_vlmc", "vcpus": 2, "ram": 2048, "disk": 40, "SNF:disk_template": "ext_vlmc", "SNF:allow_create": true},
            {"id": 5, "name": "C4R4096D20ext_vlmc", "vcpus": 4, "ram": 4096, "disk": 20, "SNF:disk_template": "ext_vlmc", "SNF:allow_create": true},
            {"id": 6, "name": "C8R8192D20ext_vlmc", "vcpus": 8, "ram": 8192, "disk": 20, "SNF:disk_template": "ext_vlmc", "SNF:allow_create": false}
        ]})
    }

    fn images() -> serde_json::Value {
        json!({"images": [
            {"id": UBUNTU, "name": "CELAR-Ubuntu-14.04-LTS", "status": "ACTIVE", "progress": 100, "public": true,
             "is_snapshot": false, "metadata": {"OS": "ubuntu", "OSFAMILY": "linux", "USERS": "user", "ROOT_PARTITION": "1"}},
            {"id": "0b2c0d1e-0000-4000-8000-000000000001", "name": "Debian", "status": "ACTIVE", "metadata": {"OS": "debian", "USERS": "root"}},
            {"id": "0b2c0d1e-0000-4000-8000-000000000002", "name": "Debian", "status": "ACTIVE", "metadata": {}}
        ]})
    }

    fn server(id: u64, status: &str, meta: serde_json::Value) -> serde_json::Value {
        json!({"id": id, "name": format!("vm-{id}"), "status": status, "SNF:task_state": "", "progress": 0,
               "created": "2026-11-24T21:00:00+00:00", "flavor": {"id": 3}, "image": {"id": UBUNTU},
               "metadata": meta, "attachments": [], "addresses": {}, "volumes": [id * 10]})
    }

    /// A fake ~Okeanos answering the usual GETs.
    fn cloud() -> Fake {
        let fake = fake_with_identity();
        fake.on(|r| {
            let get = r.method == Method::Get;
            let u = r.url.as_str();
            if get && u == format!("{COMPUTE}/flavors/detail") {
                Some(json(200, flavors()))
            } else if get && u == format!("{COMPUTE}/flavors/3") {
                Some(json(200, json!({"flavor": flavors()["flavors"][2]})))
            } else if get && u == format!("{COMPUTE}/images/detail") {
                Some(json(200, images()))
            } else if get && u == format!("{COMPUTE}/images/{UBUNTU}") {
                Some(json(200, json!({"image": images()["images"][0]})))
            } else if get && u.starts_with(&format!("{COMPUTE}/images/")) {
                Some(json(
                    404,
                    json!({"itemNotFound": {"code": 404, "message": "Image not found."}}),
                ))
            } else if get && u == format!("{COMPUTE}/servers/detail") {
                Some(json(
                    200,
                    json!({"servers": [
                        server(1, "ACTIVE", json!({"run": "r1", "OS": "ubuntu"})),
                        server(2, "BUILD", json!({"run": "r1", "role": "db"})),
                        server(3, "ERROR", json!({"run": "r2"}))
                    ]}),
                ))
            } else if get && u == format!("{COMPUTE}/servers/42") {
                Some(json(
                    200,
                    json!({"server": server(42, "STOPPED", json!({}))}),
                ))
            } else {
                None
            }
        });
        fake
    }

    fn run<T>(fake: &Fake, op: impl FnOnce(&mut Client) -> Result<T, Error>) -> Result<T, Error> {
        op(&mut client(fake, &MemCache::default()))
    }

    fn body_of(r: &Request) -> serde_json::Value {
        serde_json::from_slice(r.body.as_deref().expect("a body")).unwrap()
    }

    fn spec(image: &str) -> VmSpec {
        VmSpec {
            name: "node-1".into(),
            image: image.into(),
            size: Size::Shape(Shape {
                cpus: 2,
                ram_mb: 2000,
                disk_gb: None,
            }),
            ssh_keys: vec!["ssh-ed25519 AAAA me".into()],
            files: vec![],
            user_data: None,
            volatile_disk_gb: None,
            tags: vec![Tag {
                key: "run".into(),
                value: "r9".into(),
            }],
            project: None,
        }
    }

    #[test]
    fn create_vm_resolves_then_posts_one_server() {
        let fake = cloud();
        fake.on(|r| {
            (r.method == Method::Post && r.url == format!("{COMPUTE}/servers")).then(|| {
                let mut s = server(
                    99,
                    "BUILD",
                    json!({"OS": "ubuntu", "USERS": "user", "run": "r9"}),
                );
                s["adminPass"] = json!("xyzXYZ123456");
                json(202, json!({"server": s}))
            })
        });
        let vm = run(&fake, |c| create_vm(c, &spec("CELAR-Ubuntu-14.04-LTS"))).unwrap();
        assert_eq!(vm.id, "99");
        assert_eq!(vm.state, VmState::Pending);
        assert_eq!(vm.tags.len(), 1);
        let paths = fake.requests();
        assert_eq!(
            paths,
            vec![
                ("POST".to_string(), "/identity/v2.0/tokens".to_string()),
                ("GET".into(), "/compute/v2.0/flavors/detail".into()),
                ("GET".into(), "/compute/v2.0/images/detail".into()),
                ("POST".into(), "/compute/v2.0/servers".into()),
            ]
        );
        let log = fake.log.borrow();
        let post = &log[3];
        assert!(
            post.headers
                .contains(&("Content-Type".into(), "application/json".into()))
        );
        let body = body_of(post);
        assert_eq!(body["server"]["flavorRef"], 3);
        assert_eq!(body["server"]["imageRef"], UBUNTU);
        assert_eq!(
            body["server"]["metadata"],
            json!({"OS": "ubuntu", "USERS": "user", "run": "r9"})
        );
        assert_eq!(body["server"]["personality"].as_array().unwrap().len(), 2);
        assert!(!String::from_utf8_lossy(post.body.as_deref().unwrap()).contains("SECRET-TOKEN"));
    }

    #[test]
    fn create_vm_with_an_image_id_and_config_project() {
        let fake = cloud();
        fake.on(|r| {
            (r.method == Method::Post && r.url == format!("{COMPUTE}/servers"))
                .then(|| json(202, json!({"server": server(7, "BUILD", json!({}))})))
        });
        let mut c = client(&fake, &MemCache::default());
        c.config.project = Some("proj-uuid".into());
        let mut sp = spec(UBUNTU);
        sp.size = Size::Flavor("C2R2048D40ext_vlmc".into());
        sp.volatile_disk_gb = Some(10);
        create_vm(&mut c, &sp).unwrap();
        let log = fake.log.borrow();
        let body = body_of(log.last().unwrap());
        assert_eq!(body["server"]["project"], "proj-uuid");
        assert_eq!(body["server"]["flavorRef"], 4);
        assert_eq!(
            body["server"]["block_device_mapping_v2"][0]["volume_size"],
            40
        );
        assert_eq!(
            body["server"]["block_device_mapping_v2"][1]["volume_size"],
            10
        );
        assert!(
            fake.requests()
                .contains(&("GET".into(), format!("/compute/v2.0/images/{UBUNTU}")))
        );
    }

    #[test]
    fn create_vm_validates_before_creating() {
        let fake = cloud();
        let mut sp = spec(UBUNTU);
        sp.tags = (0..9)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: "v".into(),
            })
            .collect();
        let err = run(&fake, |c| create_vm(c, &sp)).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        let mut sp = spec(UBUNTU);
        sp.size = Size::Flavor("C8R8192D20ext_vlmc".into());
        let err = run(&fake, |c| create_vm(c, &sp)).unwrap_err();
        assert!(
            matches!(err, Error::Forbidden(ref m) if m.contains("does not allow creating")),
            "{err:?}"
        );
        assert!(
            !fake.requests().iter().any(|(_, p)| p.ends_with("/servers")),
            "nothing was created"
        );
    }

    #[test]
    fn images_by_name() {
        let fake = cloud();
        let img = run(&fake, |c| get_image(c, "CELAR-Ubuntu-14.04-LTS")).unwrap();
        assert_eq!(img.id, UBUNTU);
        assert_eq!(img.state, ImageState::Available);
        assert_eq!(img.users.as_deref(), Some("user"));
        let err = run(&fake, |c| get_image(c, "Debian")).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("2 images are named 'Debian'") && m.contains("-000000000002")),
            "{err:?}"
        );
        let err = run(&fake, |c| get_image(c, "CELAR-Ubuntu-14.04")).unwrap_err();
        assert!(
            matches!(err, Error::NotFound(ref m) if m.contains("did you mean: CELAR-Ubuntu-14.04-LTS")),
            "{err:?}"
        );
        let err = run(&fake, |c| {
            get_image(c, "0b2c0d1e-0000-4000-8000-00000000ffff")
        })
        .unwrap_err();
        assert!(
            matches!(err, Error::NotFound(ref m) if m.contains("Image not found")),
            "{err:?}"
        );
    }

    #[test]
    fn list_vms_is_one_call_filtered_by_tags() {
        let fake = cloud();
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        let vms = run(&fake, |c| list_vms(c, &[tag("run", "r1")])).unwrap();
        let ids: Vec<_> = vms.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "2"]);
        let tags: Vec<(&str, &str)> = vms[0]
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(tags, vec![("run", "r1")], "the image's OS is not a tag");
        let vms = run(&fake, |c| list_vms(c, &[])).unwrap();
        assert_eq!(vms.len(), 3);
        assert_eq!(vms[2].state, VmState::Failed);
        let servers: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|(_, p)| p.contains("/servers"))
            .collect();
        assert_eq!(servers.len(), 2, "one listing per call, never one per VM");
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;
    use crate::client::Method;
    use crate::client::testing::*;
    use crate::wit::Shape;
    use serde_json::json;

    const VOLUME: &str = "https://cyclades.example.org/volume/v2.0";
    const IMAGE: &str = "https://cyclades.example.org/image/v1.0";

    fn f(id: u32, cpus: u32, ram: u32, disk: u32, t: &str) -> protocol::Flavor {
        protocol::Flavor {
            id: id.to_string(),
            name: format!("C{cpus}R{ram}D{disk}{t}"),
            vcpus: cpus,
            ram,
            disk,
            disk_template: t.into(),
            allow_create: true,
        }
    }

    fn flavors() -> Vec<protocol::Flavor> {
        vec![
            f(1, 1, 1024, 20, "ext_vlmc"),
            f(2, 2, 2048, 20, "ext_vlmc"),
            f(3, 2, 2048, 40, "ext_vlmc"),
            f(4, 4, 4096, 20, "ext_vlmc"),
            f(5, 4, 4096, 20, "drbd"),
        ]
    }

    fn named(n: &str) -> SizeRequest {
        SizeRequest::Named(n.into())
    }

    fn shape(cpus: u32, ram_mb: u32, disk_gb: Option<u32>) -> SizeRequest {
        SizeRequest::Shape {
            cpus,
            ram_mb,
            disk_gb,
        }
    }

    #[test]
    fn resize_plans() {
        let fl = flavors();
        let cur = &fl[1];
        assert!(
            matches!(plan(cur, &fl, &named("2")), Ok(ResizePlan::Already(ref f)) if f.id == "2")
        );
        assert!(matches!(
            plan(cur, &fl, &named("C2R2048D20ext_vlmc")),
            Ok(ResizePlan::Already(_))
        ));
        assert!(
            matches!(plan(cur, &fl, &named("4")), Ok(ResizePlan::MoveTo(ref f)) if f.id == "4")
        );
        assert!(
            matches!(plan(cur, &fl, &shape(3, 3000, None)), Ok(ResizePlan::MoveTo(ref f)) if f.id == "4")
        );
        assert!(matches!(
            plan(cur, &fl, &shape(2, 2048, None)),
            Ok(ResizePlan::Already(_))
        ));
        assert!(
            matches!(plan(cur, &fl, &shape(1, 512, Some(10))), Ok(ResizePlan::MoveTo(ref f)) if f.id == "1")
        );
        let err = plan(cur, &fl, &named("C2R2048D40ext_vlmc")).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("must stay 20 GB ext_vlmc") && m.contains("flavors that fit with that disk: C2R2048D20ext_vlmc, C4R4096D20ext_vlmc")),
            "{err:?}"
        );
        let err = plan(cur, &fl, &named("5")).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("20 GB drbd disk")),
            "{err:?}"
        );
        let err = plan(cur, &fl, &shape(2, 2048, Some(40))).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("40 GB of disk")),
            "{err:?}"
        );
        let err = plan(cur, &fl, &shape(16, 1, None)).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("largest is C4R4096D20ext_vlmc")),
            "{err:?}"
        );
        assert!(matches!(
            plan(cur, &fl, &named("C9")),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn ids_are_validated_before_any_call() {
        let fake = fake_with_identity();
        let mut c = client(&fake, &MemCache::default());
        assert!(matches!(get_vm(&mut c, "abc"), Err(Error::Invalid(ref m)) if m.contains("'abc'")));
        assert!(matches!(delete_vm(&mut c, ""), Err(Error::Invalid(_))));
        assert!(matches!(
            resize_vm(&mut c, "1", "C2R2048"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            attach_disk(&mut c, "1", 0, "d"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            list_disks(&mut c, Some("x")),
            Err(Error::Invalid(_))
        ));
        assert!(fake.log.borrow().is_empty());
        assert!(is_uuid("fe31fced-a3cf-49c6-b43b-f58f5235ba45"));
        assert!(!is_uuid("fe31fced-a3cf-49c6-b43b-f58f5235ba4"));
        assert!(!is_uuid("Ubuntu"));
    }

    #[test]
    fn actions_send_synnefo_bodies() {
        let fake = fake_with_identity();
        fake.on(|r| r.url.ends_with("/action").then(|| json(202, json!(null))));
        fake.on(|r| (r.method == Method::Delete).then(|| json(204, json!(null))));
        let mut c = client(&fake, &MemCache::default());
        start_vm(&mut c, "42").unwrap();
        stop_vm(&mut c, "42").unwrap();
        reboot_vm(&mut c, "42", true).unwrap();
        reboot_vm(&mut c, "42", false).unwrap();
        resize_vm(&mut c, "42", "7").unwrap();
        delete_vm(&mut c, "42").unwrap();
        detach_disk(&mut c, "42", "78").unwrap();
        delete_disk(&mut c, "78").unwrap();
        delete_image(&mut c, "img").unwrap();
        let log = fake.log.borrow();
        let bodies: Vec<serde_json::Value> = log[1..6]
            .iter()
            .map(|r| serde_json::from_slice(r.body.as_deref().unwrap()).unwrap())
            .collect();
        assert_eq!(
            bodies,
            vec![
                json!({"start": {}}),
                json!({"shutdown": {}}),
                json!({"reboot": {"type": "HARD"}}),
                json!({"reboot": {"type": "SOFT"}}),
                json!({"resize": {"flavorRef": 7}}),
            ]
        );
        let urls: Vec<&str> = log[6..].iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                format!("{COMPUTE}/servers/42").as_str(),
                format!("{COMPUTE}/servers/42/os-volume_attachments/78").as_str(),
                format!("{VOLUME}/volumes/78").as_str(),
                format!("{IMAGE}/images/img").as_str(),
            ]
        );
        assert!(log[6..].iter().all(|r| r.body.is_none()));
    }

    #[test]
    fn publishing_an_image_is_a_header_on_a_bodyless_put() {
        let fake = fake_with_identity();
        fake.on(|r| (r.method == Method::Put).then(|| json(200, json!(null))));
        set_image_public(&mut client(&fake, &MemCache::default()), "img", true).unwrap();
        let log = fake.log.borrow();
        let put = &log[1];
        assert_eq!(put.url, format!("{IMAGE}/images/img"));
        assert!(put.body.is_none());
        assert!(
            put.headers
                .contains(&("X-Image-Meta-Is-Public".into(), "true".into()))
        );
        assert!(put.headers.iter().all(|(k, _)| k != "Content-Type"));
    }

    #[test]
    fn create_image_snapshots_the_root_volume() {
        let fake = fake_with_identity();
        fake.on(|r| {
            (r.url == format!("{COMPUTE}/servers/42")).then(|| {
                json(
                    200,
                    json!({"server": {"id": 42, "status": "STOPPED", "volumes": [421, 422]}}),
                )
            })
        });
        fake.on(|r| {
            (r.url == format!("{VOLUME}/snapshots")).then(|| {
                json(202, json!({"snapshot": {"id": "5a1b2c3d-0000-4000-8000-000000000042", "size": 20,
                    "display_name": "built", "status": "CREATING", "os-extended-snapshot-attribute:progress": 0,
                    "volume_id": "421", "metadata": {"OS": "ubuntu", "USERS": "user"}}}))
            })
        });
        let img = create_image(&mut client(&fake, &MemCache::default()), "42", "built").unwrap();
        assert_eq!(img.id, "5a1b2c3d-0000-4000-8000-000000000042");
        assert_eq!(img.state, crate::wit::ImageState::Saving);
        assert!(img.is_snapshot);
        let log = fake.log.borrow();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(log[2].body.as_deref().unwrap()).unwrap(),
            json!({"snapshot": {"volume_id": "421", "display_name": "built"}})
        );
    }

    #[test]
    fn create_image_of_a_server_without_volumes_is_a_protocol_error() {
        let fake = fake_with_identity();
        fake.on(|r| {
            r.url
                .ends_with("/servers/42")
                .then(|| json(200, json!({"server": {"id": 42, "volumes": []}})))
        });
        let err = create_image(&mut client(&fake, &MemCache::default()), "42", "x").unwrap_err();
        assert!(matches!(err, Error::Protocol(_)));
    }

    #[test]
    fn attach_disk_creates_and_attaches_in_one_call() {
        let fake = fake_with_identity();
        fake.on(|r| {
            (r.method == Method::Post && r.url == format!("{VOLUME}/volumes")).then(|| {
                json(
                    202,
                    json!({"volume": {"id": "500", "display_name": "data", "links": []}}),
                )
            })
        });
        let d = attach_disk(&mut client(&fake, &MemCache::default()), "42", 10, "data").unwrap();
        assert_eq!(d.id, "500");
        assert_eq!(d.state, DiskState::Creating);
        assert_eq!(d.size_gb, 10);
        assert_eq!(d.vm_id.as_deref(), Some("42"));
        let log = fake.log.borrow();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(log[1].body.as_deref().unwrap()).unwrap(),
            json!({"volume": {"display_name": "data", "size": 10, "server_id": 42}})
        );
    }

    #[test]
    fn list_disks_of_one_vm() {
        let fake = fake_with_identity();
        fake.on(|r| {
            (r.url == format!("{VOLUME}/volumes/detail")).then(|| {
                json(200, json!({"volumes": [
                    {"id": "1", "status": "in_use", "size": 20, "attachments": [{"server_id": 42, "device_index": 0}], "delete_on_termination": true},
                    {"id": "2", "status": "in_use", "size": 5, "attachments": [{"server_id": "43", "device_index": 1}]},
                    {"id": "3", "status": "available", "size": 5, "attachments": []}
                ]}))
            })
        });
        let mut c = client(&fake, &MemCache::default());
        let mine = list_disks(&mut c, Some("42")).unwrap();
        assert_eq!(mine.len(), 1);
        assert!(mine[0].delete_on_termination);
        assert_eq!(list_disks(&mut c, None).unwrap().len(), 3);
    }

    #[test]
    fn resolve_size_uses_the_configured_template() {
        let fake = fake_with_identity();
        fake.on(|r| r.url.ends_with("/flavors/detail").then(|| json(200, json!({"flavors": [
            {"id": 1, "name": "C1R1024D20drbd", "vcpus": 1, "ram": 1024, "disk": 20, "SNF:disk_template": "drbd"},
            {"id": 2, "name": "C1R1024D20ext_vlmc", "vcpus": 1, "ram": 1024, "disk": 20, "SNF:disk_template": "ext_vlmc"}
        ]}))));
        let size = Size::Shape(Shape {
            cpus: 1,
            ram_mb: 1024,
            disk_gb: None,
        });
        let mut c = client(&fake, &MemCache::default());
        assert_eq!(resolve_size(&mut c, &size).unwrap().id, "2");
        c.config.disk_template = Some("drbd".into());
        assert_eq!(resolve_size(&mut c, &size).unwrap().id, "1");
    }
}
