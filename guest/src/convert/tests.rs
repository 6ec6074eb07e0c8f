use super::*;
use crate::fixtures::tag;
use serde_json::json;

fn server(v: serde_json::Value) -> protocol::Server {
    serde_json::from_value(v).unwrap()
}

#[test]
fn status_and_task_to_state() {
    let cases = [
        ("BUILD", "", VmState::Pending),
        ("BUILD", "BUILDING", VmState::Pending),
        ("ACTIVE", "", VmState::Running),
        ("ACTIVE", "STOPPING", VmState::Running),
        ("STOPPED", "", VmState::Stopped),
        ("STOPPED", "RESIZING", VmState::Resizing),
        ("STOPPED", "STARTING", VmState::Stopped),
        ("REBOOT", "REBOOTING", VmState::Rebooting),
        ("RESIZE", "", VmState::Resizing),
        ("ERROR", "", VmState::Failed),
        ("DELETED", "", VmState::Terminated),
        ("UNKNOWN", "", VmState::Unknown),
        ("", "", VmState::Unknown),
        ("active", "", VmState::Running),
    ];
    for (status, task, want) in cases {
        assert_eq!(vm_state(status, task), want, "{status}/{task}");
    }
}

#[test]
fn vm_from_a_server() {
    let s = server(json!({
        "id": 42, "name": "web", "status": "STOPPED", "SNF:task_state": "RESIZING",
        "progress": 100, "created": "2015-01-01T00:00:00+00:00",
        "flavor": {"id": 3}, "image": {"id": "img"},
        "metadata": {"OS": "ubuntu", "USERS": "user", "run": "r1", "role": "db"},
        "attachments": [
            {"ipv4": "83.212.1.2", "ipv6": ""},
            {"ipv4": "", "ipv6": "2001:648:2ffc::1"},
            {"ipv4": "10.0.0.2", "ipv6": ""}
        ],
        "addresses": {"1": [{"version": 4, "addr": "1.1.1.1"}]},
        "volumes": [77, 78]
    }));
    let vm = vm(&s);
    assert_eq!(vm.id, "42");
    assert_eq!(vm.state, VmState::Resizing);
    assert_eq!(vm.cloud_status, "STOPPED");
    assert_eq!(vm.task.as_deref(), Some("RESIZING"));
    assert_eq!(vm.ipv4, vec!["83.212.1.2", "10.0.0.2"]);
    assert_eq!(vm.ipv6, vec!["2001:648:2ffc::1"]);
    assert_eq!(vm.flavor, "3");
    assert_eq!(vm.image, "img");
    let keys: Vec<_> = vm.tags.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, vec!["role", "run"]);
    assert_eq!(vm.disk_ids, vec!["77", "78"]);
    assert_eq!(vm.progress, Some(100));
}

#[test]
fn ips_fall_back_to_addresses_and_empty_task_is_none() {
    let s = server(json!({
        "id": 1, "status": "ACTIVE", "SNF:task_state": "",
        "attachments": [],
        "addresses": {"2": [{"version": 4, "addr": "83.212.9.9"},
                             {"version": 6, "addr": "2001:db8::9"}]}
    }));
    let vm = vm(&s);
    assert_eq!(vm.task, None);
    assert_eq!(vm.ipv4, vec!["83.212.9.9"]);
    assert_eq!(vm.ipv6, vec!["2001:db8::9"]);
}

#[test]
fn tag_filtering() {
    let s = server(json!({"id": 1, "metadata": {"run": "r1", "role": "db", "OS": "x"}}));
    assert!(has_tags(&s, &[]));
    assert!(has_tags(&s, &[tag("run", "r1")]));
    assert!(has_tags(&s, &[tag("run", "r1"), tag("role", "db")]));
    assert!(!has_tags(&s, &[tag("run", "r2")]));
    assert!(!has_tags(&s, &[tag("run", "r1"), tag("zone", "a")]));
}

#[test]
fn image_states_and_properties() {
    for (s, want) in [
        ("ACTIVE", ImageState::Available),
        ("AVAILABLE", ImageState::Available),
        ("SAVING", ImageState::Saving),
        ("QUEUED", ImageState::Saving),
        ("ERROR", ImageState::Failed),
        ("KILLED", ImageState::Failed),
        ("DELETED", ImageState::Deleted),
        ("UNKNOWN", ImageState::Unknown),
    ] {
        assert_eq!(image_state(s), want, "{s}");
    }
    let i: protocol::Image = serde_json::from_value(json!({
        "id": "fe31fced-a3cf-49c6-b43b-f58f5235ba45", "name": "CELAR-Ubuntu-14.04-LTS",
        "status": "ACTIVE", "progress": 100, "public": true, "is_snapshot": false,
        "metadata": {"OS": "ubuntu", "OSFAMILY": "linux", "USERS": "user", "ROOT_PARTITION": "1"}
    }))
    .unwrap();
    let img = image(&i);
    assert_eq!(img.state, ImageState::Available);
    assert_eq!(img.os.as_deref(), Some("ubuntu"));
    assert_eq!(img.users.as_deref(), Some("user"));
    assert!(img.public);
    assert!(!img.is_snapshot);
    assert_eq!(img.properties.len(), 4);
}

#[test]
fn snapshot_as_image() {
    let s: protocol::Snapshot = serde_json::from_value(json!({
        "id": "snap", "display_name": "built", "status": "CREATING", "size": 20,
        "os-extended-snapshot-attribute:progress": 0, "metadata": {"OS": "debian", "USERS": "root"}
    }))
    .unwrap();
    let img = snapshot_image(&s);
    assert_eq!(img.state, ImageState::Saving);
    assert!(img.is_snapshot);
    assert_eq!(img.os.as_deref(), Some("debian"));
    assert_eq!(img.size_bytes, Some(20 << 30));
}

#[test]
fn volumes_to_disks() {
    for (s, want) in [
        ("creating", DiskState::Creating),
        ("available", DiskState::Available),
        ("attaching", DiskState::Attaching),
        ("in_use", DiskState::InUse),
        ("in-use", DiskState::InUse),
        ("detaching", DiskState::Detaching),
        ("deleting", DiskState::Deleting),
        ("deleted", DiskState::Deleted),
        ("error", DiskState::Failed),
        ("error_deleting", DiskState::Failed),
        ("ERROR", DiskState::Failed),
        ("migrating", DiskState::Unknown),
    ] {
        assert_eq!(disk_state(s), want, "{s}");
    }
    let v: protocol::Volume = serde_json::from_value(json!({
        "id": "78", "display_name": "data", "status": "in_use", "size": 10,
        "attachments": [{"server_id": 42, "volume_id": 78, "device_index": 1}],
        "delete_on_termination": false
    }))
    .unwrap();
    let d = disk(&v);
    assert_eq!(d.vm_id.as_deref(), Some("42"));
    assert_eq!(d.device_index, Some(1));
    assert_eq!(d.state, DiskState::InUse);
    assert_eq!(d.size_gb, 10);
    assert!(attached_to(&v, "42"));
    assert!(!attached_to(&v, "4"));
}

#[test]
fn image_properties_are_found_upper_case_first_then_in_any_case() {
    let props: BTreeMap<String, String> = [
        ("users".to_string(), "user".to_string()),
        ("OS".to_string(), "ubuntu".to_string()),
        ("os".to_string(), "other".to_string()),
        ("OSFAMILY".to_string(), String::new()),
    ]
    .into();
    assert_eq!(
        property(&props, "USERS").map(String::as_str),
        Some("user"),
        "Plankton lowercases names"
    );
    assert_eq!(
        property(&props, "OS").map(String::as_str),
        Some("ubuntu"),
        "the exact name wins"
    );
    assert_eq!(property(&props, "OSFAMILY"), None, "empty is absent");
}
