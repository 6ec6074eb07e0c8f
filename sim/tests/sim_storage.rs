//! Conformance of the simulator's block storage (§3), snapshots-as-images and Plankton
//! (§3b), over real HTTP.

#[path = "sim_support/mod.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

async fn standalone_volume(s: &Sim, size: u64) -> String {
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "data", "size": size, "volume_type": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    r.json()["volume"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn volume_types_list_templates_and_detachability() {
    let s = Sim::start().await;
    let v = s.get("/volume/v2.0/types").await.json();
    let types = v["volume_types"].as_array().unwrap();
    let drbd = types
        .iter()
        .find(|t| t["SNF:disk_template"] == "drbd")
        .unwrap();
    let vlmc = types
        .iter()
        .find(|t| t["SNF:disk_template"] == "ext_vlmc")
        .unwrap();
    assert_eq!(drbd["SNF:detachable"], false);
    assert_eq!(vlmc["SNF:detachable"], true);
    // volume/views.py `volume_type_to_dict`: the id is an integer.
    assert!(drbd["id"].is_u64() && drbd["name"].is_string());
}

#[tokio::test]
async fn create_returns_202_with_only_id_name_links_and_is_available_at_once() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v1", "size": 3, "volume_type": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let v = r.json();
    let keys: Vec<_> = v["volume"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["display_name", "id", "links"]);
    let id = v["volume"]["id"].as_str().unwrap();
    let d = s.get(&format!("/volume/v2.0/volumes/{id}")).await.json();
    assert_eq!(d["volume"]["status"], "available");
    assert_eq!(d["volume"]["size"], 3);
    assert_eq!(d["volume"]["attachments"], json!([]));
}

#[tokio::test]
async fn create_without_server_needs_a_detachable_type() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 1, "volume_type": 1}}),
        )
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Volume type 'drbd' is not detachable"),
    );
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 1}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", None);
}

#[tokio::test]
async fn create_validates_name_and_size() {
    let s = Sim::start().await;
    assert_fault(
        &s.post(
            "/volume/v2.0/volumes",
            json!({"volume": {"size": 1, "volume_type": 2}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "volume_type": 2}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 201, "volume_type": 2}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 0, "volume_type": 2}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn create_with_server_goes_creating_then_in_use() {
    let s = Sim::start().await;
    let id = s.active_server("host", VLMC).await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "extra", "size": 2, "server_id": id}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let vid = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let v = s.get(&format!("/volume/v2.0/volumes/{vid}")).await.json();
    assert_eq!(v["volume"]["status"], "creating");
    assert_eq!(
        v["volume"]["volume_type"],
        json!(2),
        "type defaults to the flavor's"
    );
    let v = s.wait_volume(&vid, "in_use").await;
    assert_eq!(v["attachments"][0]["server_id"], json!(id));
    let srv = s.wait_server(id, "ACTIVE").await;
    assert_eq!(srv["volumes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn create_with_unknown_or_building_server() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 1, "server_id": 4242}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", Some("Server 4242 not found"));
    let id = s.create_server("b", VLMC).await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 1, "server_id": id}}),
        )
        .await;
    assert_fault(&r, 409, "buildInProgress", None);
}

#[tokio::test]
async fn attach_and_detach_through_os_volume_attachments() {
    let s = Sim::start().await;
    let id = s.active_server("host", VLMC).await;
    let vid = standalone_volume(&s, 2).await;
    let p = format!("/compute/v2.0/servers/{id}/os-volume_attachments");
    let r = s
        .post(&p, json!({"volumeAttachment": {"volumeId": vid}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        s.get(&format!("/volume/v2.0/volumes/{vid}")).await.json()["volume"]["status"],
        "attaching"
    );
    s.wait_volume(&vid, "in_use").await;
    s.wait_server(id, "ACTIVE").await;
    let l = s.get(&p).await.json();
    let atts = l["volumeAttachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    let a = atts
        .iter()
        .find(|a| a["volumeId"].to_string().trim_matches('"') == vid)
        .unwrap();
    assert_eq!(a["serverId"], id);
    assert_eq!(a["device"], "");
    assert_eq!(
        s.delete(&format!("{p}/{vid}")).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.get(&format!("/volume/v2.0/volumes/{vid}")).await.json()["volume"]["status"],
        "detaching"
    );
    s.wait_volume(&vid, "available").await;
    assert_fault(
        &s.delete(&format!("{p}/{vid}")).await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn attach_rules() {
    let s = Sim::start().await;
    let drbd = s.active_server("drbd", DRBD).await;
    let vid = standalone_volume(&s, 1).await;
    let r = s
        .post(
            &format!("/compute/v2.0/servers/{drbd}/os-volume_attachments"),
            json!({"volumeAttachment": {"volumeId": vid}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", None);
    let vlmc = s.active_server("vlmc", VLMC).await;
    let r = s
        .post(
            &format!("/compute/v2.0/servers/{vlmc}/os-volume_attachments"),
            json!({"volumeAttachment": {"volumeId": "999999"}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", None);
}

#[tokio::test]
async fn root_volume_cannot_be_detached_or_deleted() {
    let s = Sim::start().await;
    let id = s.active_server("host", VLMC).await;
    let root = s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    assert_fault(
        &s.delete(&format!(
            "/compute/v2.0/servers/{id}/os-volume_attachments/{root}"
        ))
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.delete(&format!("/volume/v2.0/volumes/{root}")).await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn delete_attached_extra_volume_goes_deleting_then_deleted_and_stays_readable() {
    let s = Sim::start().await;
    let id = s.active_server("host", VLMC).await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "x", "size": 1, "server_id": id}}),
        )
        .await;
    let vid = r.json()["volume"]["id"].as_str().unwrap().to_string();
    s.wait_volume(&vid, "in_use").await;
    s.wait_server(id, "ACTIVE").await;
    assert_eq!(
        s.delete(&format!("/volume/v2.0/volumes/{vid}"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.get(&format!("/volume/v2.0/volumes/{vid}")).await.json()["volume"]["status"],
        "deleting"
    );
    s.wait_volume(&vid, "deleted").await;
    let l = s.get("/volume/v2.0/volumes").await.json();
    assert!(
        !l["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == vid.as_str())
    );
    let srv = s.wait_server(id, "ACTIVE").await;
    assert_eq!(srv["volumes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn block_device_mapping_v2_creates_volatile_disks_deleted_with_the_server() {
    let s = Sim::start().await;
    let r = s
        .create_server_with("bdm", VLMC, json!({"block_device_mapping_v2": [
            {"source_type": "image", "uuid": UBUNTU, "boot_index": 0, "destination_type": "volume"},
            {"source_type": "blank", "volume_size": 5, "destination_type": "volume"},
            {"source_type": "blank", "volume_size": 7, "delete_on_termination": true}
        ]}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    let vols: Vec<u64> = srv["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(vols.len(), 3);
    let sizes: Vec<u64> = {
        let mut out = vec![];
        for v in &vols {
            out.push(
                s.get(&format!("/volume/v2.0/volumes/{v}")).await.json()["volume"]["size"]
                    .as_u64()
                    .unwrap(),
            );
        }
        out
    };
    assert_eq!(sizes, vec![10, 5, 7], "root first, sized by the flavor");
    s.delete(&format!("/compute/v2.0/servers/{id}")).await;
    s.wait_server(id, "DELETED").await;
    for v in vols {
        assert_eq!(
            s.get(&format!("/volume/v2.0/volumes/{v}")).await.json()["volume"]["status"],
            "deleted"
        );
    }
}

#[tokio::test]
async fn block_device_mapping_v2_rejects_nine_disks() {
    let s = Sim::start().await;
    let mut bdm = vec![json!({"source_type": "image", "uuid": UBUNTU})];
    bdm.extend((0..8).map(|_| json!({"source_type": "blank", "volume_size": 1})));
    let r = s
        .create_server_with("many", VLMC, json!({"block_device_mapping_v2": bdm}))
        .await;
    assert_fault(&r, 400, "badRequest", None);
}

// ---- snapshots ---------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_of_detached_volume_is_refused() {
    let s = Sim::start().await;
    let vid = standalone_volume(&s, 1).await;
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": vid, "display_name": "s"}}),
        )
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Cannot snapshot a detached volume!"),
    );
}

#[tokio::test]
async fn snapshot_of_drbd_volume_is_refused() {
    let s = Sim::start().await;
    let id = s.active_server("d", DRBD).await;
    let root = s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "display_name": "s"}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", None);
}

#[tokio::test]
async fn snapshot_of_root_volume_is_an_image_that_boots_servers() {
    let s = Sim::start().await;
    let r = s
        .create_server_with(
            "builder",
            VLMC,
            json!({"metadata": {"OS": "ubuntu", "users": "user"}}),
        )
        .await;
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    let root = srv["volumes"][0].as_u64().unwrap();
    let r = s.post("/volume/v2.0/snapshots", json!({"snapshot": {"volume_id": root, "display_name": "golden", "display_description": "d"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let snap = r.json()["snapshot"]["id"].as_str().unwrap().to_string();
    let v = s
        .get(&format!("/volume/v2.0/snapshots/{snap}"))
        .await
        .json();
    assert_eq!(v["snapshot"]["status"], "CREATING");
    assert_eq!(v["snapshot"]["volume_id"], root.to_string());
    // volume/views.py `snapshot_to_dict`: the integer 0 until AVAILABLE.
    assert_eq!(
        v["snapshot"]["os-extended-snapshot-attribute:progress"],
        json!(0)
    );
    let img = s.get(&format!("/compute/v2.0/images/{snap}")).await.json();
    assert_eq!(img["image"]["status"], "SAVING");
    assert_eq!(img["image"]["is_snapshot"], true);
    let pl = s.get("/image/v1.0/images/detail").await.json();
    let p = pl["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == snap.as_str())
        .unwrap()
        .clone();
    // plankton/backend.py `image_to_dict`: the raw map state; only HEAD maps it to SAVING.
    assert_eq!(p["status"], "UNAVAILABLE");
    assert_eq!(p["is_snapshot"], true);
    s.wait_for(&format!("/volume/v2.0/snapshots/{snap}"), |v| {
        v["snapshot"]["status"] == "AVAILABLE"
    })
    .await;
    let img = s.get(&format!("/compute/v2.0/images/{snap}")).await.json();
    assert_eq!(img["image"]["status"], "ACTIVE");
    assert_eq!(img["image"]["metadata"]["OS"], "ubuntu");
    assert_eq!(img["image"]["metadata"]["users"], "user");
    let pl = s.get("/image/v1.0/images/detail").await.json();
    assert_eq!(
        pl["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == snap.as_str())
            .unwrap()["status"],
        "AVAILABLE"
    );
    let r = s
        .post(
            "/compute/v2.0/servers",
            json!({"server": {"name": "clone", "imageRef": snap, "flavorRef": VLMC}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let clone = r.json()["server"]["id"].as_u64().unwrap();
    s.wait_server(clone, "ACTIVE").await;
}

#[tokio::test]
async fn snapshots_list_update_delete() {
    let s = Sim::start().await;
    let id = s.active_server("b", VLMC).await;
    let root = s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    let snap = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "display_name": "a"}}),
        )
        .await
        .json()["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        s.get("/volume/v2.0/snapshots").await.json()["snapshots"][0]["id"],
        snap.as_str()
    );
    assert_eq!(
        s.get("/volume/v2.0/snapshots/detail").await.json()["snapshots"][0]["display_name"],
        "a"
    );
    let r = s
        .put(
            &format!("/volume/v2.0/snapshots/{snap}"),
            json!({"snapshot": {"display_name": "b"}}),
        )
        .await;
    assert_eq!(r.json()["snapshot"]["display_name"], "b");
    // volume/views.py `delete_snapshot`: `HttpResponse(status=202)`.
    assert_eq!(
        s.delete(&format!("/volume/v2.0/snapshots/{snap}"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_fault(
        &s.get(&format!("/volume/v2.0/snapshots/{snap}")).await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn publishing_a_snapshot_makes_it_visible_to_others() {
    let s = Sim::start().await;
    let id = s.active_server("b", VLMC).await;
    let root = s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    let snap = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "display_name": "pub"}}),
        )
        .await
        .json()["snapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/compute/v2.0/images/{snap}");
    // Pithos `_can_read_object` raises NotAllowedError: 403, not 404.
    assert_eq!(
        s.call_as(OTHER_TOKEN, Method::GET, &path, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = s
        .raw(
            Method::PUT,
            &format!("/image/v1.0/images/{snap}"),
            Some(&s.token),
            None,
            None,
            &[("X-Image-Meta-Is-Public", "true")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("x-image-meta-is-public").as_deref(), Some("True"));
    assert_eq!(
        s.call_as(OTHER_TOKEN, Method::GET, &path, None)
            .await
            .json()["image"]["public"],
        true
    );
    let r = s
        .raw(
            Method::PUT,
            &format!("/image/v1.0/images/{snap}"),
            Some(OTHER_TOKEN),
            None,
            None,
            &[("X-Image-Meta-Is-Public", "false")],
        )
        .await
        .unwrap();
    assert_fault(&r, 403, "forbidden", None);
}

// ---- Plankton ------------------------------------------------------------------------------

#[tokio::test]
async fn plankton_list_with_and_without_trailing_slash_and_filters() {
    let s = Sim::start().await;
    let v = s.get("/image/v1.0/images/").await.json();
    assert!(
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == UBUNTU)
    );
    // plankton/backend.py `_list_images` leaves the filters as a TODO: all are listed.
    let v = s
        .get("/image/v1.0/images/detail?name=CELAR-Ubuntu-14.04-LTS")
        .await
        .json();
    let all = v["images"].as_array().unwrap();
    assert!(all.len() > 1);
    let list: Vec<&Value> = all
        .iter()
        .filter(|i| i["name"] == "CELAR-Ubuntu-14.04-LTS")
        .collect();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["disk_format"], "diskdump");
    assert_eq!(list[0]["container_format"], "bare");
    assert_eq!(list[0]["status"], "AVAILABLE");
    assert_eq!(list[0]["properties"]["OS"], "ubuntu");
    let size = list[0]["size"].as_u64().unwrap();
    assert!(
        (2_300_000_000..2_320_000_000).contains(&size),
        "2.15 GiB, got {size}"
    );
    let v = s
        .get("/image/v1.0/images/detail?sort_key=name&sort_dir=asc")
        .await
        .json();
    let names: Vec<&str> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(s.get("/image/v1.0/images").await.status, StatusCode::OK);
}

#[tokio::test]
async fn plankton_head_gives_meta_headers() {
    let s = Sim::start().await;
    let r = s
        .raw(
            Method::HEAD,
            &format!("/image/v1.0/images/{UBUNTU}"),
            Some(&s.token),
            None,
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("x-image-meta-name").as_deref(),
        Some("CELAR-Ubuntu-14.04-LTS")
    );
    assert_eq!(
        r.header("x-image-meta-status").as_deref(),
        Some("AVAILABLE")
    );
    assert_eq!(
        r.header("x-image-meta-property-os").as_deref(),
        Some("ubuntu")
    );
    assert_eq!(
        r.header("x-image-meta-disk-format").as_deref(),
        Some("diskdump")
    );
}

#[tokio::test]
async fn plankton_register_and_delete() {
    let s = Sim::start().await;
    let loc = format!(
        "pithos://{}/images/my.diskdump",
        okeanos_sim::DEFAULT_USER_UUID
    );
    let r = s
        .raw(
            Method::POST,
            "/image/v1.0/images/",
            Some(&s.token),
            None,
            None,
            &[
                ("X-Image-Meta-Name", "mine"),
                ("X-Image-Meta-Location", &loc),
                ("X-Image-Meta-Disk-Format", "diskdump"),
                ("X-Image-Meta-Container-Format", "bare"),
                ("X-Image-Meta-Property-OS", "debian"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // views.py `add_image` answers with `_create_image_response`: headers, no body; the
    // property name is normalised to lower case (`headers_to_image_params`).
    assert_eq!(r.text, "");
    let id = r.header("x-image-meta-id").unwrap();
    assert_eq!(
        r.header("x-image-meta-property-os").as_deref(),
        Some("debian")
    );
    assert_eq!(
        s.delete(&format!("/image/v1.0/images/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_fault(
        &s.get(&format!("/compute/v2.0/images/{id}")).await,
        404,
        "itemNotFound",
        None,
    );
    let r = s
        .raw(
            Method::POST,
            "/image/v1.0/images/",
            Some(&s.token),
            None,
            None,
            &[
                ("X-Image-Meta-Name", "x"),
                ("X-Image-Meta-Location", "http://x"),
            ],
        )
        .await
        .unwrap();
    assert_fault(&r, 400, "badRequest", None);
}

#[tokio::test]
async fn plankton_members_share_an_image() {
    let s = Sim::start().await;
    let loc = format!(
        "pithos://{}/images/s.diskdump",
        okeanos_sim::DEFAULT_USER_UUID
    );
    let r = s
        .raw(
            Method::POST,
            "/image/v1.0/images/",
            Some(&s.token),
            None,
            None,
            &[
                ("X-Image-Meta-Name", "shared"),
                ("X-Image-Meta-Location", &loc),
            ],
        )
        .await
        .unwrap();
    let id = r.header("x-image-meta-id").unwrap();
    let other = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            &format!("/compute/v2.0/images/{id}"),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let r = s
        .raw(
            Method::PUT,
            &format!("/image/v1.0/images/{id}/members/{OTHER_UUID}"),
            Some(&s.token),
            None,
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // `register` gives read permission to the owner, which `list_users` reports too.
    let members = s
        .get(&format!("/image/v1.0/images/{id}/members"))
        .await
        .json();
    let mut ids: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![okeanos_sim::DEFAULT_USER_UUID, OTHER_UUID];
    want.sort();
    assert_eq!(ids, want);
    let other = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            &format!("/compute/v2.0/images/{id}"),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn volumes_are_isolated_between_users() {
    let s = Sim::start().await;
    let vid = standalone_volume(&s, 1).await;
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            &format!("/volume/v2.0/volumes/{vid}"),
            None,
        )
        .await;
    assert_fault(&r, 404, "itemNotFound", None);
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            "/volume/v2.0/volumes/detail",
            None,
        )
        .await;
    assert_eq!(r.json()["volumes"], json!([]));
}
