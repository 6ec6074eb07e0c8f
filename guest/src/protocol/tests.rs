use super::*;
use serde_json::json;

#[test]
fn server_record_from_a_realistic_body() {
    let body = json!({"server": {
        "id": 42, "name": "web-1", "user_id": "u", "tenant_id": "t",
        "status": "ACTIVE", "SNF:task_state": "", "progress": 100,
        "created": "2015-03-05T12:00:00.000000+00:00",
        "flavor": {"id": 3, "links": []}, "image": {"id": "fe31fced-a3cf-49c6-b43b-f58f5235ba45", "links": []},
        "metadata": {"OS": "ubuntu", "USERS": "user", "run": "r1"},
        "attachments": [{"id": "nic-42-0", "network_id": "1", "mac_address": "aa:00:00:00:00:01",
                         "ipv4": "83.212.1.2", "ipv6": "2001:648:2ffc::1", "OS-EXT-IPS:type": "fixed"}],
        "addresses": {"1": [{"version": 4, "addr": "83.212.1.2", "OS-EXT-IPS:type": "fixed"}]},
        "volumes": [77, 78], "suspended": false, "deleted": false,
        "security_groups": [{"name": "default"}]
    }});
    let s: ServerRoot = serde_json::from_value(body).unwrap();
    let s = s.server;
    assert_eq!(s.id, "42");
    assert_eq!(s.flavor, "3");
    assert_eq!(s.image, "fe31fced-a3cf-49c6-b43b-f58f5235ba45");
    assert_eq!(s.volumes, vec!["77", "78"]);
    assert_eq!(s.attachments[0].ipv4, "83.212.1.2");
    assert_eq!(s.addresses[0].0, "1");
    assert_eq!(s.addresses[0].1[0].version, 4);
    assert_eq!(s.metadata["run"], "r1");
    assert_eq!(s.progress, Some(100));
}

#[test]
fn server_record_tolerates_missing_and_null_fields() {
    let s: Server = serde_json::from_value(json!({
        "id": "7", "name": null, "status": "BUILD", "image": "", "attachments": null,
        "metadata": {"n": 1}
    }))
    .unwrap();
    assert_eq!(s.id, "7");
    assert_eq!(s.name, "");
    assert_eq!(s.image, "");
    assert!(s.attachments.is_empty());
    assert_eq!(s.metadata["n"], "1");
    assert_eq!(s.progress, None);
}

#[test]
fn flavor_record() {
    let f: FlavorsRoot = serde_json::from_value(json!({"flavors": [
        {"id": 1, "name": "C1R1024D20drbd", "ram": 1024, "disk": 20, "vcpus": 1,
         "links": [], "os-flavor-access:is_public": true, "SNF:disk_template": "drbd",
         "SNF:volume_type": 1, "SNF:allow_create": false},
        {"id": 2, "name": "C2R2048D40ext_vlmc", "ram": 2048, "disk": 40, "vcpus": 2,
         "SNF:disk_template": "ext_vlmc"}
    ]}))
    .unwrap();
    assert_eq!(f.flavors[0].id, "1");
    assert!(!f.flavors[0].allow_create);
    assert!(
        f.flavors[1].allow_create,
        "absent allow_create means allowed"
    );
    assert_eq!(f.flavors[1].disk_template, "ext_vlmc");
}

#[test]
fn image_record_compute_and_plankton_views() {
    let i: ImageRoot = serde_json::from_value(json!({"image": {
        "id": "fe31fced-a3cf-49c6-b43b-f58f5235ba45", "name": "CELAR-Ubuntu-14.04-LTS",
        "updated": "2014-10-01T10:00:00+00:00", "created": "2014-10-01T10:00:00+00:00",
        "status": "ACTIVE", "progress": 100, "user_id": "u", "tenant_id": "u", "public": true,
        "metadata": {"OS": "ubuntu", "OSFAMILY": "linux", "USERS": "user", "ROOT_PARTITION": "1"},
        "is_snapshot": false
    }}))
    .unwrap();
    assert_eq!(i.image.metadata["USERS"], "user");
    assert_eq!(i.image.public, Some(true));
    let p: Image = serde_json::from_value(json!({
        "id": "abc", "name": "snap", "status": "SAVING", "is_public": false,
        "properties": {"OS": "debian"}, "size": 2306867200u64
    }))
    .unwrap();
    assert_eq!(p.properties["OS"], "debian");
    assert_eq!(p.size, Some(2306867200));
}

#[test]
fn volume_and_snapshot_records() {
    let v: VolumesRoot = serde_json::from_value(json!({"volumes": [
        {"id": "77", "display_name": null, "status": "in_use", "size": 20,
         "attachments": [{"server_id": 42, "volume_id": 77, "device_index": 0}],
         "delete_on_termination": true, "volume_type": null, "metadata": {}},
        {"id": "80", "display_name": "data", "status": "available", "size": 5, "attachments": []}
    ]}))
    .unwrap();
    assert_eq!(v.volumes[0].display_name, "");
    assert_eq!(v.volumes[0].attachments[0].server_id.as_deref(), Some("42"));
    assert_eq!(v.volumes[0].attachments[0].device_index, Some(0));
    let s: SnapshotRoot = serde_json::from_value(json!({"snapshot": {
        "id": "snap-1", "size": 20, "display_name": "img", "status": "CREATING",
        "os-extended-snapshot-attribute:progress": "0%", "volume_id": "77", "metadata": {}
    }}))
    .unwrap();
    assert_eq!(s.snapshot.progress, Some(0));
    let s: Snapshot = serde_json::from_value(json!({"id": "s", "status": "AVAILABLE",
        "os-extended-snapshot-attribute:progress": "100%"}))
    .unwrap();
    assert_eq!(s.progress, Some(100));
}

#[test]
fn create_server_body_shape() {
    let body = CreateServerRoot {
        server: CreateServer {
            name: "n".into(),
            image_ref: "img".into(),
            flavor_ref: id_value("3"),
            metadata: BTreeMap::new(),
            personality: vec![],
            project: None,
            user_data: None,
            block_device_mapping_v2: None,
        },
    };
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(v["server"]["flavorRef"], json!(3));
    assert_eq!(v["server"]["imageRef"], json!("img"));
    assert!(v["server"].get("project").is_none());
    assert!(v["server"].get("networks").is_none());
    assert!(v["server"].get("block_device_mapping_v2").is_none());
}
