//! The flavor list and the image records a VM is created from, reused between calls through
//! the cache: a deployment of N VMs is N `create-vm` calls, and without the cache each would
//! list the flavors and fetch the image again before its `POST /servers`.
//!
//! The cache is trusted to find records, never to say one is missing: it holds only images
//! that were found, and `create_vm` (in `vms`) lists the flavors again before failing on a
//! name, shape or creation right the cached list refuses. A create the cloud refuses after
//! cached records built it is rebuilt from fresh ones and sent once more.

use super::validate::{is_uuid, non_empty};
use crate::Error;
use crate::api;
use crate::client::Client;
use crate::protocol::{Flavor, Image};
use crate::sizing::{close_matches, suggestion_text};

/// How long the cached flavor list is trusted. A deployment's creates follow its
/// `resolve-size` within minutes; a flavor withdrawn meanwhile is caught by the retry.
pub const FLAVORS_TTL_SECS: u64 = 600;
/// How long a cached image record is trusted (as for flavors).
pub const IMAGE_TTL_SECS: u64 = 600;

/// The cache name of the flavor list.
pub(super) const FLAVORS: &str = "flavors";

/// The cache name of an image looked up by `lookup` (its id or its name, as given).
fn image_name(lookup: &str) -> String {
    format!("image/{lookup}")
}

/// Where one operation's lookups read from, and whether any answer came from the cache.
pub struct Lookup {
    fresh: bool,
    /// Some answer came from the cache, so a refusal built on it may be stale.
    pub cached: bool,
}

impl Lookup {
    /// Reads the cache first (the create path).
    pub fn cache_first() -> Lookup {
        Lookup {
            fresh: false,
            cached: false,
        }
    }

    /// Reads the cloud only. Every lookup writes what it read into the cache, so that the
    /// calls a host makes once per deployment (`list-flavors`, `resolve-size`, `get-image`)
    /// warm it for the creates that follow.
    pub fn fresh() -> Lookup {
        Lookup {
            fresh: true,
            cached: false,
        }
    }

    pub fn flavors(&mut self, c: &mut Client) -> Result<Vec<Flavor>, Error> {
        if !self.fresh
            && let Some(flavors) = c.recall(FLAVORS, FLAVORS_TTL_SECS)
        {
            self.cached = true;
            return Ok(flavors);
        }
        let flavors = api::list_flavors(c)?;
        c.remember(FLAVORS, &flavors);
        Ok(flavors)
    }

    /// By id (uuid-shaped) or exact name; a name must be unambiguous. An image found by
    /// name is cached under its id too.
    pub fn image(&mut self, c: &mut Client, image: &str) -> Result<Image, Error> {
        let image = non_empty("image id or name", image)?;
        let name = image_name(image);
        if !self.fresh
            && let Some(found) = c.recall(&name, IMAGE_TTL_SECS)
        {
            self.cached = true;
            return Ok(found);
        }
        let found = if is_uuid(image) {
            api::get_image(c, image)?
        } else {
            pick_image(&api::list_images(c)?, image)?
        };
        c.remember(&name, &found);
        if found.id != image {
            c.remember(&image_name(&found.id), &found);
        }
        Ok(found)
    }

    /// Forgets the cached flavor list and the records of `image` (and of `found`, the image
    /// it named), and reads the cloud from now on.
    pub fn refresh(&mut self, c: &mut Client, image: &str, found: Option<&Image>) {
        c.forget(FLAVORS);
        c.forget(&image_name(image.trim()));
        if let Some(found) = found {
            c.forget(&image_name(&found.id));
        }
        *self = Lookup::fresh();
    }
}

/// The image named `name` among `all`.
pub fn pick_image(all: &[Image], name: &str) -> Result<Image, Error> {
    let live: Vec<&Image> = all
        .iter()
        .filter(|i| !i.status.eq_ignore_ascii_case("DELETED"))
        .collect();
    let named: Vec<&&Image> = live.iter().filter(|i| i.name == name).collect();
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
