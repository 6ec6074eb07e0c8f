//! An authenticated Synnefo session: the identity catalog (cached in a key-value bucket),
//! the common headers, the one-time re-authentication on 401, and fault mapping.
//!
//! The transport and the cache are traits so that everything here runs natively in tests;
//! the component plugs in wasi:http and wasi:keyvalue.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::config::Config;
use crate::fault;
use crate::protocol::{TokenAuth, TokenId, TokenRequest, TokenResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One HTTP request. Headers never include anything but what Synnefo needs.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one request and reads the whole answer; fails only when no HTTP answer came.
pub trait Transport {
    fn send(&mut self, request: &Request) -> Result<Response, Error>;
}

/// Where the catalog is kept between calls. Failures are silent: the cache is an optimisation.
pub trait Cache {
    fn get(&mut self, key: &str) -> Option<Vec<u8>>;
    fn set(&mut self, key: &str, value: &[u8]);
    fn delete(&mut self, key: &str);
}

/// A cache that keeps nothing.
pub struct NoCache;

impl Cache for NoCache {
    fn get(&mut self, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn set(&mut self, _: &str, _: &[u8]) {}
    fn delete(&mut self, _: &str) {}
}

/// The Synnefo services the connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Compute,
    Volume,
    Image,
}

impl Service {
    fn kind(self) -> &'static str {
        match self {
            Service::Compute => "compute",
            Service::Volume => "volume",
            Service::Image => "image",
        }
    }
}

/// The service endpoints of a deployment, versioned. Holds no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub compute: Option<String>,
    pub volume: Option<String>,
    pub image: Option<String>,
    pub network: Option<String>,
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
        }
    }

    fn base(&self, service: Service) -> Result<&str, Error> {
        let url = match service {
            Service::Compute => &self.compute,
            Service::Volume => &self.volume,
            Service::Image => &self.image,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedCatalog {
    pub catalog: Catalog,
    /// Unix seconds.
    pub fetched_at: u64,
}

fn unix_now() -> u64 {
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

/// The path part of a URL, for messages (`https://h/compute/v2.0/servers` → `/compute/v2.0/servers`).
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// The host (authority) of a URL, for messages.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

pub struct Client {
    pub config: Config,
    transport: Box<dyn Transport>,
    cache: Box<dyn Cache>,
    catalog: Option<Catalog>,
    /// Whether `catalog` came from the cache (a 401 then means: authenticate again).
    catalog_cached: bool,
}

impl Client {
    pub fn new(config: Config, transport: Box<dyn Transport>, cache: Box<dyn Cache>) -> Client {
        Client {
            config,
            transport,
            cache,
            catalog: None,
            catalog_cached: false,
        }
    }

    fn cache_key(&self) -> String {
        format!("catalog/v1/{}", self.config.auth_url)
    }

    /// The catalog: from memory, else the cache, else the identity service.
    pub fn catalog(&mut self) -> Result<&Catalog, Error> {
        if self.catalog.is_none() {
            let key = self.cache_key();
            let now = unix_now();
            let cached = self
                .cache
                .get(&key)
                .and_then(|bytes| serde_json::from_slice::<CachedCatalog>(&bytes).ok())
                .filter(|c| c.catalog.compute.is_some())
                .filter(|c| c.fetched_at <= now && now - c.fetched_at < CATALOG_TTL_SECS)
                .map(|c| c.catalog);
            match cached {
                Some(c) => {
                    self.catalog = Some(c);
                    self.catalog_cached = true;
                }
                None => self.authenticate()?,
            }
        }
        Ok(self.catalog.as_ref().expect("catalog set above"))
    }

    /// `POST {auth_url}/tokens` and remember the catalog.
    fn authenticate(&mut self) -> Result<(), Error> {
        let url = format!("{}/tokens", self.config.auth_url);
        let body = serde_json::to_vec(&TokenRequest {
            auth: TokenAuth {
                token: TokenId {
                    id: &self.config.token,
                },
            },
        })
        .expect("a token request serializes");
        let request = Request {
            method: Method::Post,
            url: url.clone(),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: Some(body),
        };
        let what = format!("POST {}", path_of(&url));
        let response = self.transport.send(&request)?;
        if !(200..300).contains(&response.status) {
            return Err(fault::from_response(response.status, &response.body, &what));
        }
        let parsed: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|e| fault::bad_body(&what, "an identity token answer", e))?;
        let catalog = Catalog::from_token_response(&parsed);
        if catalog.compute.is_none() {
            return Err(Error::Protocol(format!(
                "{what}: the service catalog has no compute endpoint; is auth_url the ~Okeanos identity endpoint?"
            )));
        }
        let cached = CachedCatalog {
            catalog: catalog.clone(),
            fetched_at: unix_now(),
        };
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            let key = self.cache_key();
            self.cache.set(&key, &bytes);
        }
        self.catalog = Some(catalog);
        self.catalog_cached = false;
        Ok(())
    }

    fn build(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Result<Request, Error> {
        let base = self.catalog()?.base(service)?.to_string();
        let mut headers = vec![
            ("X-Auth-Token".to_string(), self.config.token.clone()),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(Request {
            method,
            url: format!("{base}{path}"),
            headers,
            body: body.map(<[u8]>::to_vec),
        })
    }

    /// Sends a request to a service; a 2xx answer is returned, anything else becomes an error.
    /// A 401 with a cached catalog re-authenticates once and retries once.
    pub fn call(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Response, Error> {
        let request = self.build(service, method, path, body, extra_headers)?;
        let mut response = self.transport.send(&request)?;
        if response.status == 401 && self.catalog_cached {
            let key = self.cache_key();
            self.cache.delete(&key);
            self.catalog = None;
            self.authenticate()?;
            let request = self.build(service, method, path, body, extra_headers)?;
            response = self.transport.send(&request)?;
        }
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            let what = format!("{} {}", method.as_str(), path_of(&request.url));
            Err(fault::from_response(response.status, &response.body, &what))
        }
    }

    /// GET and parse JSON.
    pub fn get<T: DeserializeOwned>(
        &mut self,
        service: Service,
        path: &str,
        expected: &str,
    ) -> Result<T, Error> {
        let response = self.call(service, Method::Get, path, None, &[])?;
        parse(&response, &format!("GET {path}"), expected)
    }

    /// Sends a JSON body, returns the raw answer.
    pub fn send_json<B: Serialize>(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<Response, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Invalid(format!("cannot encode the request: {e}")))?;
        self.call(service, method, path, Some(&bytes), &[])
    }
}

/// Parses a 2xx answer.
pub fn parse<T: DeserializeOwned>(
    response: &Response,
    what: &str,
    expected: &str,
) -> Result<T, Error> {
    serde_json::from_slice(&response.body).map_err(|e| fault::bad_body(what, expected, e))
}

#[cfg(test)]
pub mod testing {
    //! A scripted transport and an in-memory cache for tests.
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    pub type Handler = Box<dyn FnMut(&Request) -> Option<Response>>;

    /// Answers each request with the first handler that returns `Some`; records every request.
    #[derive(Clone, Default)]
    pub struct Fake {
        pub log: Rc<RefCell<Vec<Request>>>,
        handlers: Rc<RefCell<Vec<Handler>>>,
    }

    impl Fake {
        pub fn on(&self, h: impl FnMut(&Request) -> Option<Response> + 'static) {
            self.handlers.borrow_mut().push(Box::new(h));
        }
        pub fn requests(&self) -> Vec<(String, String)> {
            self.log
                .borrow()
                .iter()
                .map(|r| (r.method.as_str().to_string(), path_of(&r.url).to_string()))
                .collect()
        }
    }

    impl Transport for Fake {
        fn send(&mut self, request: &Request) -> Result<Response, Error> {
            self.log.borrow_mut().push(request.clone());
            for h in self.handlers.borrow_mut().iter_mut() {
                if let Some(r) = h(request) {
                    return Ok(r);
                }
            }
            Ok(json(
                400,
                serde_json::json!({"badRequest": {"code": 400, "message": "API endpoint not found"}}),
            ))
        }
    }

    #[derive(Clone, Default)]
    pub struct MemCache(pub Rc<RefCell<HashMap<String, Vec<u8>>>>);

    impl Cache for MemCache {
        fn get(&mut self, key: &str) -> Option<Vec<u8>> {
            self.0.borrow().get(key).cloned()
        }
        fn set(&mut self, key: &str, value: &[u8]) {
            self.0.borrow_mut().insert(key.into(), value.to_vec());
        }
        fn delete(&mut self, key: &str) {
            self.0.borrow_mut().remove(key);
        }
    }

    pub fn json(status: u16, v: serde_json::Value) -> Response {
        Response {
            status,
            body: v.to_string().into_bytes(),
        }
    }

    pub const AUTH: &str = "https://accounts.example.org/identity/v2.0";
    pub const COMPUTE: &str = "https://cyclades.example.org/compute/v2.0";

    pub fn token_answer() -> serde_json::Value {
        serde_json::json!({"access": {
        "token": {"id": "t", "expires": "2030-01-01T00:00:00+00:00",
                  "tenant": {"id": "user-uuid", "name": "Some One"}},
        "user": {"id": "user-uuid", "name": "Some One", "roles": [], "roles_links": []},
        "serviceCatalog": [
            {"name": "cyclades_compute", "type": "compute", "endpoints_links": [],
             "endpoints": [{"versionId": "v2.0", "publicURL": COMPUTE, "region": "default"}]},
            {"name": "cyclades_volume", "type": "volume",
             "endpoints": [{"publicURL": "https://cyclades.example.org/volume"}]},
            {"name": "cyclades_plankton", "type": "image",
             "endpoints": [{"publicURL": "https://cyclades.example.org/image/"}]},
            {"name": "cyclades_network", "type": "network",
             "endpoints": [{"publicURL": "https://cyclades.example.org/network"}]},
            {"name": "astakos_account", "type": "account",
             "endpoints": [{"publicURL": "https://accounts.example.org/account/v1.0"}]}
        ]}})
    }

    pub fn config() -> Config {
        Config {
            auth_url: AUTH.into(),
            token: "SECRET-TOKEN".into(),
            project: None,
            disk_template: None,
        }
    }

    /// A fake that authenticates `SECRET-TOKEN`.
    pub fn fake_with_identity() -> Fake {
        let fake = Fake::default();
        fake.on(|r| {
            (r.url == format!("{AUTH}/tokens")).then(|| {
                let body: serde_json::Value =
                    serde_json::from_slice(r.body.as_deref().unwrap_or(b"null")).unwrap();
                if body["auth"]["token"]["id"] == "SECRET-TOKEN" {
                    json(200, token_answer())
                } else {
                    json(401, serde_json::json!({"unauthorized": {"code": 401, "message": "Invalid token"}}))
                }
            })
        });
        fake
    }

    pub fn client(fake: &Fake, cache: &MemCache) -> Client {
        Client::new(config(), Box::new(fake.clone()), Box::new(cache.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

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

    #[test]
    fn authenticates_then_sends_token_and_accept_headers() {
        let fake = fake_with_identity();
        fake.on(|r| {
            (r.url == format!("{COMPUTE}/flavors/detail"))
                .then(|| json(200, json!({"flavors": []})))
        });
        let cache = MemCache::default();
        let mut c = client(&fake, &cache);
        let v: serde_json::Value = c
            .get(Service::Compute, "/flavors/detail", "flavors")
            .unwrap();
        assert_eq!(v, json!({"flavors": []}));
        let log = fake.log.borrow();
        assert_eq!(log.len(), 2);
        let auth = &log[0];
        assert!(
            auth.headers.iter().all(|(k, _)| k != "X-Auth-Token"),
            "no token header to identity"
        );
        let get = &log[1];
        assert!(
            get.headers
                .contains(&("X-Auth-Token".into(), "SECRET-TOKEN".into()))
        );
        assert!(
            get.headers
                .contains(&("Accept".into(), "application/json".into()))
        );
        assert!(
            get.headers.iter().all(|(k, _)| k != "Content-Type"),
            "no body, no content type"
        );
        assert!(get.body.is_none());
        // The catalog is cached, without the token.
        let cached = cache.0.borrow();
        let (key, value) = cached.iter().next().unwrap();
        assert!(!key.contains("SECRET") && !String::from_utf8_lossy(value).contains("SECRET"));
    }

    #[test]
    fn cached_catalog_skips_identity() {
        let fake = fake_with_identity();
        fake.on(|r| {
            r.url
                .starts_with(COMPUTE)
                .then(|| json(200, json!({"servers": []})))
        });
        let cache = MemCache::default();
        let _: serde_json::Value = client(&fake, &cache)
            .get(Service::Compute, "/servers/detail", "x")
            .unwrap();
        let _: serde_json::Value = client(&fake, &cache)
            .get(Service::Compute, "/servers/detail", "x")
            .unwrap();
        let paths: Vec<_> = fake.requests().into_iter().map(|(_, p)| p).collect();
        assert_eq!(
            paths,
            vec![
                "/identity/v2.0/tokens",
                "/compute/v2.0/servers/detail",
                "/compute/v2.0/servers/detail"
            ]
        );
    }

    #[test]
    fn a_401_with_a_cached_catalog_reauthenticates_once() {
        let fake = fake_with_identity();
        let mut calls = 0;
        fake.on(move |r| {
            r.url.starts_with(COMPUTE).then(|| {
                calls += 1;
                if calls == 1 {
                    json(
                        401,
                        json!({"unauthorized": {"code": 401, "message": "Token expired"}}),
                    )
                } else {
                    json(200, json!({"servers": []}))
                }
            })
        });
        let cache = MemCache::default();
        let stale = Catalog {
            compute: Some(COMPUTE.into()),
            volume: None,
            image: None,
            network: None,
        };
        cache.clone().set(
            &format!("catalog/v1/{AUTH}"),
            &serde_json::to_vec(&CachedCatalog {
                catalog: stale,
                fetched_at: unix_now(),
            })
            .unwrap(),
        );
        let _: serde_json::Value = client(&fake, &cache)
            .get(Service::Compute, "/servers/detail", "x")
            .unwrap();
        let paths: Vec<_> = fake.requests().into_iter().map(|(_, p)| p).collect();
        assert_eq!(
            paths,
            vec![
                "/compute/v2.0/servers/detail",
                "/identity/v2.0/tokens",
                "/compute/v2.0/servers/detail"
            ]
        );
        // The cache now holds the fresh catalog (with a volume endpoint).
        let fresh: CachedCatalog =
            serde_json::from_slice(&cache.0.borrow()[&format!("catalog/v1/{AUTH}")]).unwrap();
        assert!(fresh.catalog.volume.is_some());
    }

    #[test]
    fn an_old_cached_catalog_is_refetched() {
        let fake = fake_with_identity();
        fake.on(|r| {
            r.url
                .starts_with(COMPUTE)
                .then(|| json(200, json!({"servers": []})))
        });
        let cache = MemCache::default();
        let old = CachedCatalog {
            catalog: Catalog {
                compute: Some("https://old.example.org/compute/v2.0".into()),
                volume: None,
                image: None,
                network: None,
            },
            fetched_at: unix_now() - CATALOG_TTL_SECS - 1,
        };
        cache.clone().set(
            &format!("catalog/v1/{AUTH}"),
            &serde_json::to_vec(&old).unwrap(),
        );
        let _: serde_json::Value = client(&fake, &cache)
            .get(Service::Compute, "/servers/detail", "x")
            .unwrap();
        let urls: Vec<String> = fake.log.borrow().iter().map(|r| r.url.clone()).collect();
        assert_eq!(
            urls,
            vec![
                format!("{AUTH}/tokens"),
                format!("{COMPUTE}/servers/detail")
            ]
        );
    }

    #[test]
    fn a_service_missing_from_the_catalog_is_a_protocol_error() {
        let fake = Fake::default();
        fake.on(|_| {
            Some(json(
                200,
                json!({"access": {"serviceCatalog": [
                    {"type": "compute", "endpoints": [{"publicURL": COMPUTE}]}
                ]}}),
            ))
        });
        let err = client(&fake, &MemCache::default())
            .get::<serde_json::Value>(Service::Volume, "/volumes/detail", "x")
            .unwrap_err();
        assert!(matches!(err, Error::Protocol(ref m) if m.contains("no 'volume' service")));
    }

    #[test]
    fn a_401_without_a_cache_is_unauthorized_and_not_retried() {
        let fake = fake_with_identity();
        fake.on(|r| {
            r.url.starts_with(COMPUTE).then(|| {
                json(
                    401,
                    json!({"unauthorized": {"code": 401, "message": "Invalid token"}}),
                )
            })
        });
        let err = client(&fake, &MemCache::default())
            .get::<serde_json::Value>(Service::Compute, "/servers/detail", "x")
            .unwrap_err();
        assert!(
            matches!(err, Error::Unauthorized(ref m) if m.contains("Invalid token") && !m.contains("SECRET"))
        );
        assert_eq!(fake.log.borrow().len(), 2);
    }

    #[test]
    fn a_refused_token_is_unauthorized() {
        let fake = fake_with_identity();
        let mut c = Client::new(
            Config {
                token: "wrong".into(),
                ..config()
            },
            Box::new(fake.clone()),
            Box::new(NoCache),
        );
        let err = c.catalog().unwrap_err();
        assert!(
            matches!(err, Error::Unauthorized(ref m) if m.contains("check the token in the host configuration"))
        );
    }

    #[test]
    fn non_json_identity_answer_is_a_protocol_error() {
        let fake = Fake::default();
        fake.on(|_| {
            Some(Response {
                status: 200,
                body: b"<html>login</html>".to_vec(),
            })
        });
        let err = client(&fake, &MemCache::default()).catalog().unwrap_err();
        assert!(matches!(err, Error::Protocol(ref m) if m.contains("identity token answer")));
    }
}
