//! Images (Plankton, and the compute view of it): public images, registered images and
//! snapshots, their properties, visibility and members.

use std::collections::BTreeMap;

use super::lookup::{find, find_mut, listed};
use super::model::{Image, ImageStatus, Time};
use super::world::{Core, set_given};
use crate::error::{ApiError, ApiResult};

/// A parsed Plankton registration (`POST /images/` headers).
#[derive(Debug, Clone, Default)]
pub struct RegisterImage {
    /// `X-Image-Meta-Name`.
    pub name: String,
    /// `X-Image-Meta-Location`.
    pub location: String,
    /// `X-Image-Meta-Disk-Format`.
    pub disk_format: Option<String>,
    /// `X-Image-Meta-Container-Format`.
    pub container_format: Option<String>,
    /// `X-Image-Meta-Is-Public`.
    pub is_public: bool,
    /// `X-Image-Meta-Size`.
    pub size: Option<u64>,
    /// `X-Image-Meta-Property-*`.
    pub properties: BTreeMap<String, String>,
}

/// Disk formats Plankton accepts.
pub const DISK_FORMATS: [&str; 3] = ["diskdump", "extdump", "ntfsdump"];

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

    /// Only the owner changes an image; others who can see it get 403.
    pub(super) fn owned_image_mut(&mut self, user: &str, id: &str) -> ApiResult<&mut Image> {
        let img = self.image(user, id)?;
        if img.owner != user {
            return Err(ApiError::Forbidden(format!(
                "Image {id} is not owned by the user"
            )));
        }
        find_mut(&mut self.state.images, id, "Image", |_| true)
    }

    /// `POST /image/v1.0/images/`: registers an image from a Pithos location.
    pub fn register_image(&mut self, user: &str, req: RegisterImage) -> ApiResult<String> {
        if req.name.is_empty() {
            return Err(ApiError::bad("Missing image name (X-Image-Meta-Name)"));
        }
        if !req.location.starts_with("pithos://") {
            return Err(ApiError::bad(
                "Invalid location: expected pithos://<account>/<container>/<path>",
            ));
        }
        let disk_format = req.disk_format.unwrap_or_else(|| "diskdump".into());
        if !DISK_FORMATS.contains(&disk_format.as_str()) {
            return Err(ApiError::bad(format!(
                "Invalid disk format '{disk_format}'"
            )));
        }
        let container_format = req.container_format.unwrap_or_else(|| "bare".into());
        if container_format != "bare" {
            return Err(ApiError::bad(format!(
                "Invalid container format '{container_format}'"
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now;
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
                size: req.size.unwrap_or(1024 * 1024 * 1024),
                location: req.location,
                properties: req.properties,
                members: vec![],
                snapshot: None,
            },
        );
        Ok(id)
    }

    /// `PUT /image/v1.0/images/<id>`: name, visibility, properties.
    pub fn update_image(
        &mut self,
        user: &str,
        id: &str,
        name: Option<String>,
        is_public: Option<bool>,
        properties: Option<BTreeMap<String, String>>,
    ) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        set_given(&mut img.name, name);
        set_given(&mut img.is_public, is_public);
        set_given(&mut img.properties, properties);
        img.updated = now;
        Ok(())
    }

    /// An image the user may boot from: public, owned or shared, and ACTIVE.
    pub fn usable_image(&self, user: &str, id: &str) -> ApiResult<&Image> {
        let img = self.image(user, id)?;
        if img.status != ImageStatus::Active {
            return Err(ApiError::bad(format!(
                "Image {id} is not available (status {:?})",
                img.status
            )));
        }
        Ok(img)
    }

    /// Deletes an image (owner only).
    pub fn delete_image(&mut self, user: &str, id: &str) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        img.status = ImageStatus::Deleted;
        img.due = None;
        img.updated = now;
        Ok(())
    }

    /// Adds (`Some(true)`), removes (`Some(false)`) one member, or replaces all (`None` + list).
    pub fn set_image_members(
        &mut self,
        user: &str,
        id: &str,
        member: Option<(&str, bool)>,
        replace: Option<Vec<String>>,
    ) -> ApiResult<()> {
        let now = self.now;
        let img = self.owned_image_mut(user, id)?;
        if let Some((m, add)) = member {
            if add {
                if !img.members.iter().any(|x| x == m) {
                    img.members.push(m.to_string());
                }
            } else {
                let before = img.members.len();
                img.members.retain(|x| x != m);
                if img.members.len() == before {
                    return Err(ApiError::not_found(format!("Member {m} not found")));
                }
            }
        }
        if let Some(list) = replace {
            img.members = list;
        }
        img.updated = now;
        Ok(())
    }
}
