//! The operations against a scripted ~Okeanos: which calls they make, what they send, and
//! how they map the answers.

use serde_json::json;

use super::*;
use crate::Error;
use crate::client::testing::*;
use crate::client::{Client, Method, Request, path_of};
use crate::fixtures::{tag, vm_spec};
use crate::wit::{DiskState, ImageState, Shape, Size, VmSpec, VmState};

const VOLUME: &str = "https://cyclades.example.org/volume/v2.0";
const IMAGE: &str = "https://cyclades.example.org/image/v1.0";
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
    vm_spec(image, 2, 2000, "ssh-ed25519 AAAA me", tag("run", "r9"))
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
    sp.tags = (0..9).map(|i| tag(&format!("k{i}"), "v")).collect();
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
    let list_vms = |c: &mut Client, tags: &[crate::wit::Tag]| {
        list_vms_changed(c, tags, None).map(|changes| changes.vms)
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

const DATE: &str = "Sun, 29 Nov 2026 12:00:00 GMT";
const SINCE: &str = "2026-11-29T11:50:00Z";

/// An answer of the cloud with its `Date`; a 304 has no body.
fn dated(status: u16, body: serde_json::Value, date: Option<&str>) -> crate::client::Response {
    let mut r = json(status, body);
    if status == 304 {
        r.body.clear();
    }
    r.date = date.map(str::to_string);
    r
}

/// A cloud whose `GET /servers/detail` answers `full`, and `changes` when asked for changes.
fn changing_cloud(full: serde_json::Value, changes: crate::client::Response) -> Fake {
    let fake = fake_with_identity();
    fake.on(move |r| {
        let u = r.url.as_str();
        if u == format!("{COMPUTE}/servers/detail") {
            Some(dated(200, full.clone(), Some(DATE)))
        } else if u.starts_with(&format!("{COMPUTE}/servers/detail?changes-since=")) {
            Some(changes.clone())
        } else {
            None
        }
    });
    fake
}

fn ids(vms: &[crate::wit::Vm]) -> Vec<&str> {
    vms.iter().map(|v| v.id.as_str()).collect()
}

/// The token is a second (the overlap) before the answer's `Date`, less the round trip
/// rounded up to a whole second: here 0 or 1 s.
fn assert_dated(as_of: Option<&str>) {
    let ok = ["2026-11-29T11:59:59Z", "2026-11-29T11:59:58Z"];
    assert!(as_of.is_some_and(|t| ok.contains(&t)), "{as_of:?}");
}

#[test]
fn without_since_the_changes_are_a_full_listing_dated_by_the_cloud() {
    let fake = changing_cloud(
        json!({"servers": [
            server(1, "ACTIVE", json!({"run": "r1"})),
            server(3, "ERROR", json!({"run": "r2"}))
        ]}),
        dated(304, json!(null), Some(DATE)),
    );
    let changes = run(&fake, |c| list_vms_changed(c, &[tag("run", "r1")], None)).unwrap();
    assert!(changes.full);
    assert_eq!(ids(&changes.vms), vec!["1"]);
    assert!(changes.gone.is_empty(), "a full listing names nothing gone");
    assert_dated(changes.as_of.as_deref());
    let log = fake.log.borrow();
    let listing = log.last().unwrap();
    assert_eq!(path_of(&listing.url), "/compute/v2.0/servers/detail");
    assert!(listing.want_date, "the listing reads the cloud's Date");
}

#[test]
fn changes_since_give_the_changed_vms_and_name_the_gone() {
    let fake = changing_cloud(
        json!({"servers": []}),
        dated(
            200,
            json!({"servers": [
                server(1, "ACTIVE", json!({"run": "r1"})),
                server(2, "DELETED", json!({"run": "r1"})),
                server(3, "ACTIVE", json!({"run": "r2"}))
            ]}),
            Some(DATE),
        ),
    );
    let changes = run(&fake, |c| {
        list_vms_changed(c, &[tag("run", "r1")], Some(SINCE))
    })
    .unwrap();
    assert!(!changes.full);
    assert_eq!(ids(&changes.vms), vec!["1"]);
    assert_eq!(
        changes.gone,
        vec!["2", "3"],
        "deleted, or not carrying the tags"
    );
    assert_dated(changes.as_of.as_deref());
    assert_eq!(
        fake.paths().last().unwrap(),
        "/compute/v2.0/servers/detail?changes-since=2026-11-29T11%3A50%3A00Z"
    );
}

#[test]
fn a_304_changes_nothing_and_moves_the_token_on_by_its_date() {
    let fake = changing_cloud(json!({"servers": []}), dated(304, json!(null), Some(DATE)));
    let changes = run(&fake, |c| {
        list_vms_changed(c, &[tag("run", "r1")], Some(SINCE))
    })
    .unwrap();
    assert!(!changes.full && changes.vms.is_empty() && changes.gone.is_empty());
    assert_dated(changes.as_of.as_deref());
    assert_eq!(fake.paths().len(), 2, "the identity, then one listing");

    // Without a usable Date, nothing has changed since the same time still.
    let fake = changing_cloud(json!({"servers": []}), dated(304, json!(null), None));
    let changes = run(&fake, |c| {
        list_vms_changed(c, &[tag("run", "r1")], Some(SINCE))
    })
    .unwrap();
    assert_eq!(changes.as_of.as_deref(), Some(SINCE));
}

#[test]
fn an_answer_without_a_usable_date_gives_no_token() {
    let fake = changing_cloud(
        json!({"servers": []}),
        dated(200, json!({"servers": []}), Some("yesterday")),
    );
    let changes = run(&fake, |c| {
        list_vms_changed(c, &[tag("run", "r1")], Some(SINCE))
    })
    .unwrap();
    assert_eq!(changes.as_of, None, "the caller lists in full next time");
}

#[test]
fn a_since_the_cloud_refuses_falls_back_to_a_full_listing_in_the_same_call() {
    for message in [
        "Too old changes-since value.",
        "changes-since value set in the future.",
        "Invalid changes-since parameter.",
    ] {
        let fake = changing_cloud(
            json!({"servers": [server(1, "ACTIVE", json!({"run": "r1"}))]}),
            json(
                400,
                json!({"badRequest": {"code": 400, "message": message}}),
            ),
        );
        let changes = run(&fake, |c| {
            list_vms_changed(c, &[tag("run", "r1")], Some(SINCE))
        })
        .unwrap();
        assert!(changes.full, "{message}");
        assert_eq!(ids(&changes.vms), vec!["1"]);
        assert_dated(changes.as_of.as_deref());
        let paths = fake.paths();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(paths[1].contains("changes-since") && !paths[2].contains("changes-since"));
    }
}

#[test]
fn other_failures_of_a_listing_of_changes_are_errors() {
    let fake = changing_cloud(
        json!({"servers": []}),
        json(
            503,
            json!({"serviceUnavailable": {"code": 503, "message": "busy"}}),
        ),
    );
    let e = run(&fake, |c| list_vms_changed(c, &[], Some(SINCE))).unwrap_err();
    assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
    assert_eq!(
        fake.paths().len(),
        2,
        "not repeated: the host repeats what is transient"
    );
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

mod cache;
