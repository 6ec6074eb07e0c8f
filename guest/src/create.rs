//! Building a `POST /servers` body from a vm-spec, with Synnefo's limits checked first so the
//! user gets a clear message instead of a bare 400/413.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::Error;
use crate::convert::IMAGE_META_KEYS;
use crate::protocol::{self, BlockDevice, CreateServer, CreateServerRoot, Personality};
use crate::wit::{File, Tag, VmSpec};

pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_METADATA_ITEMS: usize = 10;
pub const MAX_META_KEY_CHARS: usize = 64;
pub const MAX_META_VALUE_CHARS: usize = 255;
pub const MAX_PERSONALITY: usize = 5;
/// Synnefo compares this to the length of the base64 `contents` (and of the decoded bytes).
pub const MAX_PERSONALITY_SIZE: usize = 10240;
/// The largest file whose base64 encoding fits `MAX_PERSONALITY_SIZE`.
pub const MAX_PERSONALITY_FILE_BYTES: usize = MAX_PERSONALITY_SIZE / 4 * 3;

const MODE_600: u32 = 0o600;

/// The body of `POST /servers`.
pub fn server_body(
    spec: &VmSpec,
    flavor: &protocol::Flavor,
    image: &protocol::Image,
    default_project: Option<&str>,
) -> Result<CreateServerRoot, Error> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(
            "the VM name is empty; give the VM a name".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::Invalid(format!(
            "the VM name is {} characters long; Synnefo accepts at most {MAX_NAME_CHARS}",
            name.chars().count()
        )));
    }
    let props = crate::convert::image_properties(image);
    let metadata = metadata(&spec.tags, &props)?;
    let users = crate::convert::property(&props, "USERS")
        .map(String::as_str)
        .unwrap_or("");
    // Windows images have no authorized_keys (their USERS is e.g. `Administrator`): writing
    // one under /home would only risk the image's personality step.
    let windows = crate::convert::property(&props, "OSFAMILY")
        .is_some_and(|f| f.eq_ignore_ascii_case("windows"));
    let no_keys: [String; 0] = [];
    let keys: &[String] = if windows { &no_keys } else { &spec.ssh_keys };
    if windows && !spec.ssh_keys.is_empty() {
        log_line!(
            "okeanos-connector: image {} is a Windows image; its SSH keys are not installed",
            image.id
        );
    }
    let personality = personality(keys, users, &spec.files)?;
    let user_data = spec.user_data.as_ref().map(|u| B64.encode(u.as_bytes()));
    let project = spec
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .or(default_project)
        .map(str::to_string);
    let block_device_mapping_v2 = match spec.volatile_disk_gb {
        None => None,
        Some(0) => {
            return Err(Error::Invalid(
                "a volatile disk of 0 GB was asked for; give a size of at least 1 GB or none"
                    .into(),
            ));
        }
        Some(gb) => Some(vec![
            BlockDevice {
                source_type: "image",
                uuid: Some(image.id.clone()),
                volume_size: flavor.disk,
                delete_on_termination: true,
                boot_index: 0,
                destination_type: "volume",
            },
            BlockDevice {
                source_type: "blank",
                uuid: None,
                volume_size: gb,
                delete_on_termination: true,
                boot_index: -1,
                destination_type: "volume",
            },
        ]),
    };
    Ok(CreateServerRoot {
        server: CreateServer {
            name: name.to_string(),
            image_ref: image.id.clone(),
            flavor_ref: protocol::id_value(&flavor.id),
            metadata,
            personality,
            project,
            user_data,
            block_device_mapping_v2,
        },
    })
}

/// Server metadata: the image's OS and USERS (as kamaki copies them) plus the user's tags.
pub fn metadata(
    tags: &[Tag],
    image_props: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut meta = BTreeMap::new();
    for key in IMAGE_META_KEYS {
        if let Some(v) = crate::convert::property(image_props, key) {
            meta.insert(key.to_string(), v.clone());
        }
    }
    let copied = meta.len();
    for tag in tags {
        if tag.key.is_empty() {
            return Err(Error::Invalid(format!(
                "a tag has an empty key (value '{}'); give every tag a key",
                tag.value
            )));
        }
        if IMAGE_META_KEYS.contains(&tag.key.as_str()) {
            return Err(Error::Invalid(format!(
                "the tag key '{}' is reserved: the connector copies it from the image; rename the tag",
                tag.key
            )));
        }
        let klen = tag.key.chars().count();
        if klen > MAX_META_KEY_CHARS {
            return Err(Error::Invalid(format!(
                "the tag key '{}' is {klen} characters long; Synnefo accepts at most {MAX_META_KEY_CHARS}",
                tag.key
            )));
        }
        let vlen = tag.value.chars().count();
        if vlen > MAX_META_VALUE_CHARS {
            return Err(Error::Invalid(format!(
                "the value of tag '{}' is {vlen} characters long; Synnefo accepts at most {MAX_META_VALUE_CHARS}",
                tag.key
            )));
        }
        if let Some(old) = meta.insert(tag.key.clone(), tag.value.clone())
            && old != tag.value
        {
            return Err(Error::Invalid(format!(
                "the tag '{}' is given twice with different values ('{old}' and '{}')",
                tag.key, tag.value
            )));
        }
    }
    if meta.len() > MAX_METADATA_ITEMS {
        return Err(Error::Invalid(format!(
            "{} tags were given, plus {copied} item(s) copied from the image (OS, USERS): Synnefo keeps at most {MAX_METADATA_ITEMS} metadata items per VM; drop {} tag(s)",
            meta.len() - copied,
            meta.len() - MAX_METADATA_ITEMS
        )));
    }
    Ok(meta)
}

/// Personality entries: the SSH keys for root and for each non-root user of the image
/// (`USERS`), then the caller's files. Checked against Synnefo's limits.
pub fn personality(
    ssh_keys: &[String],
    image_users: &str,
    files: &[File],
) -> Result<Vec<Personality>, Error> {
    let mut out = Vec::new();
    let keys: Vec<&str> = ssh_keys
        .iter()
        .flat_map(|k| k.lines())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if !keys.is_empty() {
        let mut contents = keys.join("\n");
        contents.push('\n');
        let encoded = B64.encode(contents.as_bytes());
        out.push(Personality {
            path: "/root/.ssh/authorized_keys".into(),
            contents: encoded.clone(),
            owner: Some("root".into()),
            group: Some("root".into()),
            mode: Some(MODE_600),
        });
        let mut seen: Vec<&str> = Vec::new();
        for user in image_users.split_whitespace() {
            if user == "root" || seen.contains(&user) {
                continue;
            }
            if !is_safe_user(user) {
                return Err(Error::Invalid(format!(
                    "the image's USERS property names '{user}', which is not a plain user name; cannot place SSH keys for it"
                )));
            }
            seen.push(user);
            out.push(Personality {
                path: format!("/home/{user}/.ssh/authorized_keys"),
                contents: encoded.clone(),
                owner: Some(user.into()),
                group: Some(user.into()),
                mode: Some(MODE_600),
            });
        }
    }
    for f in files {
        if !f.path.starts_with('/') {
            return Err(Error::Invalid(format!(
                "the file path '{}' is not absolute; give the full path on the VM",
                f.path
            )));
        }
        out.push(Personality {
            path: f.path.clone(),
            contents: B64.encode(&f.contents),
            owner: f.owner.clone(),
            group: f.group.clone(),
            mode: f.mode,
        });
    }
    if out.len() > MAX_PERSONALITY {
        let from_keys = out.len() - files.len();
        return Err(Error::Invalid(format!(
            "{} files would be placed on the VM ({from_keys} authorized_keys for the SSH keys and the image's users, {} given): Synnefo accepts at most {MAX_PERSONALITY}; drop {} file(s)",
            out.len(),
            files.len(),
            out.len() - MAX_PERSONALITY
        )));
    }
    for p in &out {
        if p.contents.len() > MAX_PERSONALITY_SIZE {
            let bytes = encoded_len_to_bytes(&p.contents);
            return Err(Error::Invalid(format!(
                "the file {} is {bytes} bytes; Synnefo accepts at most {MAX_PERSONALITY_FILE_BYTES} bytes per file ({MAX_PERSONALITY_SIZE} once base64-encoded); use user-data or fetch it on the VM instead",
                p.path
            )));
        }
    }
    Ok(out)
}

/// How many bytes a padded base64 text (made by `B64.encode` above) holds, without decoding
/// it (a decoder is ~4 KB of the component for one error message).
fn encoded_len_to_bytes(encoded: &str) -> usize {
    let padding = encoded.bytes().rev().take_while(|&b| b == b'=').count();
    encoded.len() / 4 * 3 - padding
}

fn is_safe_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 32
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !user.starts_with('.')
        && !user.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{tag, vm_spec};
    use serde_json::json;

    fn image(users: &str) -> protocol::Image {
        serde_json::from_value(json!({
            "id": "img-1", "name": "Ubuntu", "status": "ACTIVE",
            "metadata": {"OS": "ubuntu", "USERS": users, "OSFAMILY": "linux"}
        }))
        .unwrap()
    }

    fn flavor() -> protocol::Flavor {
        serde_json::from_value(json!({"id": 3, "name": "C2R2048D20ext_vlmc", "vcpus": 2, "ram": 2048, "disk": 20, "SNF:disk_template": "ext_vlmc"})).unwrap()
    }

    fn spec() -> VmSpec {
        VmSpec {
            user_data: Some("#cloud-config\n".into()),
            ..vm_spec(
                "Ubuntu",
                1,
                1024,
                "ssh-ed25519 AAAA me@here",
                tag("run", "r1"),
            )
        }
    }

    #[test]
    fn body_like_kamaki() {
        let body = server_body(&spec(), &flavor(), &image("user"), Some("proj")).unwrap();
        let v = serde_json::to_value(&body).unwrap();
        let s = &v["server"];
        assert_eq!(s["name"], "node-1");
        assert_eq!(s["imageRef"], "img-1");
        assert_eq!(s["flavorRef"], 3);
        assert_eq!(
            s["metadata"],
            json!({"OS": "ubuntu", "USERS": "user", "run": "r1"})
        );
        assert_eq!(s["project"], "proj");
        assert_eq!(s["user_data"], B64.encode("#cloud-config\n"));
        assert!(s.get("networks").is_none());
        assert!(s.get("block_device_mapping_v2").is_none());
        let p = s["personality"].as_array().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0]["path"], "/root/.ssh/authorized_keys");
        assert_eq!(p[0]["owner"], "root");
        assert_eq!(p[0]["mode"], 384);
        assert_eq!(p[1]["path"], "/home/user/.ssh/authorized_keys");
        assert_eq!(p[1]["owner"], "user");
        assert_eq!(p[1]["group"], "user");
        assert_eq!(
            B64.decode(p[0]["contents"].as_str().unwrap()).unwrap(),
            b"ssh-ed25519 AAAA me@here\n"
        );
        assert!(!v.to_string().contains("SECRET"));
    }

    #[test]
    fn spec_project_wins_and_none_is_omitted() {
        let mut sp = spec();
        sp.project = Some("mine".into());
        let v =
            serde_json::to_value(server_body(&sp, &flavor(), &image("user"), Some("cfg")).unwrap())
                .unwrap();
        assert_eq!(v["server"]["project"], "mine");
        let v =
            serde_json::to_value(server_body(&spec(), &flavor(), &image("user"), None).unwrap())
                .unwrap();
        assert!(v["server"].get("project").is_none());
    }

    #[test]
    fn volatile_disk_block_devices() {
        let mut sp = spec();
        sp.volatile_disk_gb = Some(50);
        let v = serde_json::to_value(server_body(&sp, &flavor(), &image("user"), None).unwrap())
            .unwrap();
        assert_eq!(v["server"]["imageRef"], "img-1");
        assert_eq!(
            v["server"]["block_device_mapping_v2"],
            json!([
                {"source_type": "image", "uuid": "img-1", "volume_size": 20, "delete_on_termination": true, "boot_index": 0, "destination_type": "volume"},
                {"source_type": "blank", "volume_size": 50, "delete_on_termination": true, "boot_index": -1, "destination_type": "volume"}
            ])
        );
    }

    #[test]
    fn windows_images_get_no_authorized_keys() {
        let win: protocol::Image = serde_json::from_value(json!({
            "id": "w", "name": "Windows", "status": "ACTIVE",
            "metadata": {"OS": "windows", "OSFAMILY": "windows", "USERS": "Administrator"}
        }))
        .unwrap();
        let v = serde_json::to_value(server_body(&spec(), &flavor(), &win, None).unwrap()).unwrap();
        assert_eq!(v["server"]["personality"], json!([]));
    }

    #[test]
    fn root_only_image_gets_one_key_file_and_no_keys_no_file() {
        let p = personality(&["k1".into(), "k2\nk3".into()], "root", &[]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(B64.decode(&p[0].contents).unwrap(), b"k1\nk2\nk3\n");
        assert!(personality(&[], "user", &[]).unwrap().is_empty());
        let p = personality(&["k".into()], "root user user admin", &[]).unwrap();
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/root/.ssh/authorized_keys",
                "/home/user/.ssh/authorized_keys",
                "/home/admin/.ssh/authorized_keys"
            ]
        );
    }

    #[test]
    fn files_become_personality() {
        let f = File {
            path: "/etc/motd".into(),
            contents: b"hello".to_vec(),
            owner: None,
            group: Some("adm".into()),
            mode: Some(0o644),
        };
        let p = personality(&[], "", &[f]).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!([{"path": "/etc/motd", "contents": "aGVsbG8=", "group": "adm", "mode": 420}])
        );
    }

    #[test]
    fn personality_limits() {
        let file = |n: usize, size: usize| File {
            path: format!("/tmp/f{n}"),
            contents: vec![b'x'; size],
            owner: None,
            group: None,
            mode: None,
        };
        let files: Vec<File> = (0..4).map(|n| file(n, 10)).collect();
        let err = personality(&["k".into()], "user", &files).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("6 files") && m.contains("at most 5") && m.contains("drop 1")),
            "{err:?}"
        );
        assert!(personality(&[], "", &[file(0, MAX_PERSONALITY_FILE_BYTES)]).is_ok());
        let err = personality(&[], "", &[file(0, MAX_PERSONALITY_FILE_BYTES + 1)]).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("/tmp/f0 is 7681 bytes") && m.contains("at most 7680")),
            "{err:?}"
        );
        let mut rel = file(0, 1);
        rel.path = "etc/x".into();
        assert!(matches!(
            personality(&[], "", &[rel]),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            personality(&["k".into()], "../../etc", &[]),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn metadata_limits_name_the_offending_tag() {
        let props: BTreeMap<String, String> = [
            ("OS".to_string(), "ubuntu".to_string()),
            ("USERS".to_string(), "user".to_string()),
        ]
        .into();
        let nine: Vec<Tag> = (0..9).map(|i| tag(&format!("k{i}"), "v")).collect();
        let err = metadata(&nine, &props).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("9 tags") && m.contains("at most 10") && m.contains("drop 1")),
            "{err:?}"
        );
        assert_eq!(metadata(&nine[..8], &props).unwrap().len(), 10);
        let long_key = "k".repeat(65);
        let err = metadata(&[tag(&long_key, "v")], &props).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains(&long_key) && m.contains("at most 64"))
        );
        let err = metadata(&[tag("big", &"v".repeat(256))], &props).unwrap_err();
        assert!(
            matches!(err, Error::Invalid(ref m) if m.contains("'big'") && m.contains("at most 255"))
        );
        let err = metadata(&[tag("OS", "windows")], &props).unwrap_err();
        assert!(matches!(err, Error::Invalid(ref m) if m.contains("reserved")));
        let err = metadata(&[tag("a", "1"), tag("a", "2")], &props).unwrap_err();
        assert!(matches!(err, Error::Invalid(ref m) if m.contains("twice")));
    }

    #[test]
    fn encoded_lengths_are_the_decoded_lengths() {
        for n in 0..40 {
            let encoded = B64.encode(vec![7u8; n]);
            assert_eq!(encoded_len_to_bytes(&encoded), n, "{encoded}");
        }
    }

    #[test]
    fn name_limits() {
        let mut sp = spec();
        sp.name = "x".repeat(256);
        assert!(
            matches!(server_body(&sp, &flavor(), &image("user"), None), Err(Error::Invalid(ref m)) if m.contains("256 characters"))
        );
        sp.name = "é".repeat(255);
        assert!(server_body(&sp, &flavor(), &image("user"), None).is_ok());
        sp.name = "  ".into();
        assert!(server_body(&sp, &flavor(), &image("user"), None).is_err());
    }
}
