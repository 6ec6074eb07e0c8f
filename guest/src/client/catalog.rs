//! The service catalog: which endpoint serves compute, volume and image, as the identity
//! service lists them, and how it is kept in the cache between calls.

use serde::Serialize;

use crate::Error;
use crate::protocol::TokenResponse;
use crate::protocol::read::records;

/// The Synnefo services the connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Compute,
    Volume,
    Image,
    Account,
}

impl Service {
    fn kind(self) -> &'static str {
        match self {
            Service::Compute => "compute",
            Service::Volume => "volume",
            Service::Image => "image",
            Service::Account => "account",
        }
    }
}

/// The service endpoints of a deployment, versioned. Holds no secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub compute: Option<String>,
    pub volume: Option<String>,
    pub image: Option<String>,
    pub network: Option<String>,
    /// Astakos' account API (quotas); absent from catalogs cached before it was read.
    pub account: Option<String>,
}

records! {
    Catalog => |f| Catalog {
        compute: f.or_default("compute")?,
        volume: f.or_default("volume")?,
        image: f.or_default("image")?,
        network: f.or_default("network")?,
        account: f.or_default("account")?,
    };
    CachedCatalog => |f| CachedCatalog {
        catalog: f.required("catalog")?,
        fetched_at: f.required("fetched_at")?,
    };
}

impl Catalog {
    /// Reads an identity answer. The publicURLs of `volume`, `network` and `image` usually lack
    /// the API version (kamaki appends it); `compute`'s includes it.
    pub fn from_token_response(resp: &TokenResponse) -> Catalog {
        let find = |kind: &str| {
            resp.access
                .service_catalog
                .iter()
                .filter(|s| s.kind == kind)
                .flat_map(|s| s.endpoints.iter())
                .find_map(|e| e.public_url.clone())
                .map(|u| u.trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty())
        };
        Catalog {
            compute: find("compute").map(|u| with_version(&u, "v2.0")),
            volume: find("volume").map(|u| with_version(&u, "v2.0")),
            image: find("image").map(|u| with_version(&u, "v1.0")),
            network: find("network").map(|u| with_version(&u, "v2.0")),
            account: find("account").map(|u| with_version(&u, "v1.0")),
        }
    }

    pub(super) fn base(&self, service: Service) -> Result<&str, Error> {
        let url = match service {
            Service::Compute => &self.compute,
            Service::Volume => &self.volume,
            Service::Image => &self.image,
            Service::Account => &self.account,
        };
        url.as_deref().ok_or_else(|| {
            Error::Protocol(format!(
                "the identity service catalog lists no '{}' service; is auth_url the ~Okeanos identity endpoint?",
                service.kind()
            ))
        })
    }
}

/// How long a cached catalog is trusted before the identity service is asked again, so that
/// a deployment that moves its endpoints is followed within the hour.
pub const CATALOG_TTL_SECS: u64 = 3600;

/// What the key-value bucket holds: the catalog and when it was fetched. No token.
#[derive(Debug, Clone, Serialize)]
pub struct CachedCatalog {
    pub catalog: Catalog,
    /// Unix seconds.
    pub fetched_at: u64,
}

/// Whether a record fetched at `fetched_at` (unix seconds) is younger than `ttl_secs`; one
/// stamped in the future (a clock that moved back) is not trusted.
pub(super) fn is_fresh(fetched_at: u64, ttl_secs: u64) -> bool {
    let now = unix_now();
    fetched_at <= now && now - fetched_at < ttl_secs
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Appends `/version` unless the URL's last path segment already is a version (`v2.0`, `v1`).
pub fn with_version(url: &str, version: &str) -> String {
    let url = url.trim_end_matches('/');
    let last = url.rsplit('/').next().unwrap_or("");
    let is_version = last.len() >= 2
        && last.starts_with('v')
        && last[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        && last[1..].starts_with(|c: char| c.is_ascii_digit());
    if is_version {
        url.to_string()
    } else {
        format!("{url}/{version}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::testing::*;
    use crate::client::{host_of, path_of};

    #[test]
    fn catalog_appends_versions_where_missing() {
        let resp: TokenResponse = serde_json::from_value(token_answer()).unwrap();
        let c = Catalog::from_token_response(&resp);
        assert_eq!(c.compute.as_deref(), Some(COMPUTE));
        assert_eq!(
            c.volume.as_deref(),
            Some("https://cyclades.example.org/volume/v2.0")
        );
        assert_eq!(
            c.image.as_deref(),
            Some("https://cyclades.example.org/image/v1.0")
        );
        assert_eq!(
            c.network.as_deref(),
            Some("https://cyclades.example.org/network/v2.0")
        );
    }

    #[test]
    fn version_detection() {
        assert_eq!(
            with_version("https://h/volume/v2.0/", "v2.0"),
            "https://h/volume/v2.0"
        );
        assert_eq!(
            with_version("https://h/image/v1", "v1.0"),
            "https://h/image/v1"
        );
        assert_eq!(
            with_version("https://h/image", "v1.0"),
            "https://h/image/v1.0"
        );
        assert_eq!(
            with_version("https://h/vault", "v2.0"),
            "https://h/vault/v2.0"
        );
        assert_eq!(path_of("https://h:8443/a/b?c=1"), "/a/b?c=1");
        assert_eq!(host_of("https://h:8443/a/b"), "h:8443");
    }
}
