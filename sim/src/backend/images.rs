//! Images (Plankton, and the compute view of it): public images, registered images and
//! snapshots, their properties, visibility and members.

use std::collections::BTreeMap;

use super::lookup::{find, find_mut, listed};
use super::model::{Image, ImageStatus, Time};
use super::world::{Core, set_given};
use crate::error::{ApiError, ApiResult};

/// A parsed Plankton registration (`POST /images/` headers), after `add_image`'s own checks.
#[derive(Debug, Clone, Default)]
pub struct RegisterImage {
    /// `X-Image-Meta-Name`.
    pub name: String,
    /// `X-Image-Meta-Location`: `pithos://<account>/<container>/<path>`.
    pub location: String,
    /// `X-Image-Meta-Store`.
    pub store: Option<String>,
    /// `X-Image-Meta-Disk-Format`.
    pub disk_format: Option<String>,
    /// `X-Image-Meta-Container-Format`.
    pub container_format: Option<String>,
    /// `X-Image-Meta-Is-Public` (`"true"` in any case, else false).
    pub is_public: bool,
    /// `X-Image-Meta-Size` as sent: Plankton compares it as an `int`, so any header fails.
    pub size: Option<String>,
    /// `X-Image-Meta-Checksum`: must equal the object's hash.
    pub checksum: Option<String>,
    /// `X-Image-Meta-Property-*`, names normalised.
    pub properties: BTreeMap<String, String>,
}

/// A parsed Plankton update (`PUT /images/<id>` headers), after `update_image`'s own checks.
#[derive(Debug, Clone, Default)]
pub struct UpdateImage {
    /// `X-Image-Meta-Name`.
    pub name: Option<String>,
    /// `X-Image-Meta-Disk-Format`.
    pub disk_format: Option<String>,
    /// `X-Image-Meta-Container-Format`.
    pub container_format: Option<String>,
    /// `X-Image-Meta-Is-Public`.
    pub is_public: Option<bool>,
    /// `X-Image-Meta-Property-*`: merged; an empty value removes the property (Pithos).
    pub properties: BTreeMap<String, String>,
    /// `X-Image-Meta-Status`: stored as `plankton:status`, reported from then on.
    pub status: Option<String>,
    /// `X-Image-Meta-Owner`: stored as `plankton:owner`, which `image_to_dict` never
    /// reads (the owner is the location's account), so only its length is checked.
    pub owner: Option<String>,
}

/// The Pithos object hash the simulator gives an image (its `checksum`).
pub fn image_checksum(id: &str) -> String {
    let h = id.bytes().fold(0xcbf29ce484222325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x100000001b3)
    });
    format!("{h:064x}")
}

/// `plankton/backend.py`: `MAX_META_KEY_LENGTH = 128 - len("plankton") - len("property:")`.
const MAX_META_KEY_LENGTH: usize = 128 - 8 - 9;
/// `plankton/backend.py`: `MAX_META_VALUE_LENGTH`.
const MAX_META_VALUE_LENGTH: usize = 256;

/// `PlanktonBackend._prefix_and_validate_metadata`: every key is stored as `plankton:<key>`
/// (properties as `plankton:property:<key>`) and checked with its value.
fn validate_meta<'a>(meta: impl IntoIterator<Item = (String, &'a str)>) -> ApiResult<()> {
    for (k, v) in meta {
        if format!("plankton:{k}").chars().count() > MAX_META_KEY_LENGTH {
            return Err(ApiError::bad(format!(
                "Metadata keys should be less than {MAX_META_KEY_LENGTH} characters"
            )));
        }
        if v.chars().count() > MAX_META_VALUE_LENGTH {
            return Err(ApiError::bad(format!(
                "Metadata values should be less than {MAX_META_VALUE_LENGTH} characters."
            )));
        }
    }
    Ok(())
}

fn prop_meta(props: &BTreeMap<String, String>) -> impl Iterator<Item = (String, &str)> {
    props
        .iter()
        .map(|(k, v)| (format!("property:{k}"), v.as_str()))
}

/// `backend.py split_url`: `pithos://<account>/<container>/<path>`.
pub fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let t: Vec<&str> = url.splitn(5, '/').collect();
    (t.len() == 5 && t[0] == "pithos:").then(|| (t[2], t[3], t[4]))
}

/// Disk formats Plankton accepts (`ALLOWED_DISK_FORMATS`, views.py `DISK_FORMATS`).
pub const DISK_FORMATS: [&str; 3] = ["diskdump", "extdump", "ntfsdump"];

/// Container formats Plankton accepts (`ALLOWED_CONTAINER_FORMATS`, views.py `CONTAINER_FORMATS`).
pub const CONTAINER_FORMATS: [&str; 5] = ["aki", "ari", "ami", "bare", "ovf"];

/// Size the simulator gives a registered object (it has no Pithos to ask).
const REGISTERED_SIZE: u64 = 1024 * 1024 * 1024;

impl Core {
    fn visible(img: &Image, user: &str) -> bool {
        img.is_public || img.owner == user || img.members.iter().any(|m| m == user)
    }

    /// An image visible to the user (not deleted), else 404.
    pub fn image(&self, user: &str, id: &str) -> ApiResult<&Image> {
        find(&self.state.images, id, "Image", |i| {
            i.status != ImageStatus::Deleted && Self::visible(i, user)
        })
    }

    /// An image found as `PlanktonBackend.get_pithos_object` finds it, with the faults of
    /// `handle_pithos_backend` (all with an empty message): an id that is no UUID is 400
    /// (Pithos' `_validate_uuid` raises `ValueError`), an unknown or deleted object 404, an
    /// object the user cannot read 403 (`NotAllowedError`), and an unregistered image —
    /// an object without `plankton:name` — 404 "Object '<id>' does not exist.".
    pub fn pithos_image(&self, user: &str, id: &str) -> ApiResult<&Image> {
        let key = uuid::Uuid::parse_str(id)
            .map_err(|_| ApiError::bad(""))?
            .hyphenated()
            .to_string();
        let img = self
            .state
            .images
            .get(&key)
            .filter(|i| !(i.status == ImageStatus::Deleted && i.snapshot.is_some()))
            .ok_or_else(|| ApiError::not_found(""))?;
        if !Self::visible(img, user) {
            return Err(ApiError::Forbidden(String::new()));
        }
        if img.status == ImageStatus::Deleted {
            return Err(ApiError::not_found(format!(
                "Object '{id}' does not exist."
            )));
        }
        Ok(img)
    }

    /// Images visible to the user; with `since`, changed since (deleted included).
    pub fn images_of<'a>(
        &'a self,
        user: &'a str,
        since: Option<Time>,
    ) -> impl Iterator<Item = &'a Image> + 'a {
        self.state
            .images
            .values()
            .filter(move |i| Self::visible(i, user) && listed(*i, since))
    }

    /// The image to change, found as [`Core::pithos_image`] finds it; Pithos lets only
    /// the owner write an object's metadata or permissions (403, empty message).
    pub(super) fn owned_image_mut(&mut self, user: &str, id: &str) -> ApiResult<&mut Image> {
        let key = self.pithos_image(user, id)?.id.clone();
        let img = find_mut(&mut self.state.images, &key, "Image", |_| true)?;
        if img.owner != user {
            return Err(ApiError::Forbidden(String::new()));
        }
        Ok(img)
    }

    /// `POST /image/v1.0/images/`: `PlanktonBackend.register`, in its order — store,
    /// formats, the object (only the user's own account is writable: 403 otherwise; the
    /// simulator has no Pithos, so every path there exists), size, checksum, then the
    /// metadata limits. The image id is the object's: registering a location again
    /// answers the same image, its properties merged and its readers reset.
    pub fn register_image(&mut self, user: &str, req: RegisterImage) -> ApiResult<String> {
        if let Some(store) = &req.store
            && store != "pithos"
        {
            return Err(ApiError::bad(format!(
                "Invalid store '{store}'. Only 'pithos' store is supported"
            )));
        }
        let disk_format = req.disk_format.unwrap_or_else(|| "diskdump".into());
        if !DISK_FORMATS.contains(&disk_format.as_str()) {
            return Err(ApiError::bad(format!(
                "Invalid disk format '{disk_format}'"
            )));
        }
        let container_format = req.container_format.unwrap_or_else(|| "bare".into());
        if !CONTAINER_FORMATS.contains(&container_format.as_str()) {
            return Err(ApiError::bad(format!(
                "Invalid container format '{container_format}'"
            )));
        }
        let (account, _, _) = split_url(&req.location)
            .ok_or_else(|| ApiError::bad(format!("Invalid location '{}'", req.location)))?;
        if account != user {
            return Err(ApiError::Forbidden(String::new()));
        }
        let existing = self
            .state
            .images
            .values()
            .find(|i| i.location == req.location && i.owner == user)
            .filter(|i| !(i.status == ImageStatus::Deleted && i.snapshot.is_some()))
            .map(|i| (i.id.clone(), i.size));
        let (id, size) = existing
            .clone()
            .unwrap_or_else(|| (uuid::Uuid::new_v4().to_string(), REGISTERED_SIZE));
        if req.size.is_some() {
            // A header is a string, and `isinstance(size, int)` fails for every string.
            return Err(ApiError::bad("Invalid 'size' field"));
        }
        if req
            .checksum
            .as_ref()
            .is_some_and(|c| *c != image_checksum(&id))
        {
            return Err(ApiError::bad("Invalid checksum field"));
        }
        validate_meta(
            [
                ("name".to_string(), req.name.as_str()),
                ("disk_format".to_string(), disk_format.as_str()),
                ("container_format".to_string(), container_format.as_str()),
            ]
            .into_iter()
            .chain(prop_meta(&req.properties)),
        )?;
        let now = self.now;
        let members = vec![user.to_string()];
        let mut properties = BTreeMap::new();
        if existing.is_some()
            && let Some(old) = self.state.images.remove(&id)
        {
            properties = old.properties;
        }
        merge_properties(&mut properties, req.properties);
        self.state.images.insert(
            id.clone(),
            Image {
                id: id.clone(),
                name: req.name,
                owner: user.to_string(),
                created: now,
                updated: now,
                status: ImageStatus::Active,
                due: None,
                is_public: req.is_public,
                disk_format,
                container_format,
                size,
                location: req.location,
                properties,
                members,
                snapshot: None,
                given_status: None,
            },
        );
        Ok(id)
    }

    /// `PUT /image/v1.0/images/<id>`: `PlanktonBackend.update_metadata` — found (400/403/
    /// 404), written by the owner only, properties merged. An empty name removes
    /// `plankton:name`, so re-reading the image fails and the change is rolled back: 404.
    pub fn update_image(&mut self, user: &str, id: &str, up: UpdateImage) -> ApiResult<String> {
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        let mut meta: Vec<(String, &str)> = Vec::new();
        for (k, v) in [
            ("name", &up.name),
            ("disk_format", &up.disk_format),
            ("container_format", &up.container_format),
            ("owner", &up.owner),
            ("status", &up.status),
        ] {
            if let Some(v) = v {
                meta.push((k.to_string(), v.as_str()));
            }
        }
        validate_meta(meta.into_iter().chain(prop_meta(&up.properties)))?;
        if up.name.as_deref() == Some("") {
            return Err(ApiError::not_found(format!(
                "Object '{id}' does not exist."
            )));
        }
        set_given(&mut img.name, up.name);
        set_given(&mut img.disk_format, up.disk_format);
        set_given(&mut img.container_format, up.container_format);
        set_given(&mut img.is_public, up.is_public);
        if up.status.is_some() {
            img.given_status = up.status;
        }
        merge_properties(&mut img.properties, up.properties);
        img.updated = now;
        Ok(img.id.clone())
    }

    /// An image the user may boot from: public, owned or shared, and ACTIVE.
    pub fn usable_image(&self, user: &str, id: &str) -> ApiResult<&Image> {
        // api/util.py `get_image`: Plankton's `get_image` (`handle_pithos_backend`) —
        // not a UUID 400, another user's private image 403, both with an empty message —
        // and only its ItemNotFound reworded.
        let img = self.pithos_image(user, id).map_err(|e| match e {
            ApiError::ItemNotFound(_) => ApiError::not_found(format!("Image '{id}' not found")),
            e => e,
        })?;
        // volume/volumes.py `_create_volume`: the status, upper-cased, must be AVAILABLE.
        let status = img.object_status().to_uppercase();
        if status != "AVAILABLE" {
            return Err(ApiError::bad(format!(
                "Cannot create volume from image, while image is in '{status}' status"
            )));
        }
        Ok(img)
    }

    /// `PlanktonBackend.unregister` (Plankton's and compute's `DELETE`): found as
    /// [`Core::pithos_image`] finds it, then owner only (403, empty message).
    pub fn delete_image(&mut self, user: &str, id: &str) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        img.status = ImageStatus::Deleted;
        img.due = None;
        img.updated = now;
        Ok(())
    }

    /// The image's readers (`PlanktonBackend.list_users`).
    pub fn image_members(&self, user: &str, id: &str) -> ApiResult<Vec<String>> {
        Ok(self.pithos_image(user, id)?.members.clone())
    }

    /// `PlanktonBackend.add_user` (`Some(true)`), `remove_user` (`Some(false)`) or
    /// `replace_users` (`None` + list). Adding a reader already there, or removing one
    /// that is not, writes nothing, so it succeeds for anyone who can read the image.
    pub fn set_image_members(
        &mut self,
        user: &str,
        id: &str,
        member: Option<(&str, bool)>,
        replace: Option<Vec<String>>,
    ) -> ApiResult<()> {
        let img = self.pithos_image(user, id)?;
        if let Some((m, add)) = member
            && img.members.iter().any(|x| x == m) == add
        {
            return Ok(());
        }
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        if let Some((m, add)) = member {
            if add {
                img.members.push(m.to_string());
            } else {
                img.members.retain(|x| x != m);
            }
        }
        if let Some(list) = replace {
            img.members = list;
        }
        img.updated = now;
        Ok(())
    }
}

/// Pithos' `update_object_meta` without `replace`: sets the given keys, an empty value
/// removes its key.
fn merge_properties(into: &mut BTreeMap<String, String>, new: BTreeMap<String, String>) {
    for (k, v) in new {
        if v.is_empty() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}
