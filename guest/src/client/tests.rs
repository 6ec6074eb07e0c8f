//! The session: authentication, the cached catalog, the re-authentication on 401.

use super::testing::*;
use super::*;
use serde_json::json;

const TOKENS: &str = "/identity/v2.0/tokens";
const SERVERS: &str = "/compute/v2.0/servers/detail";

/// A fake that authenticates and answers every compute request with an empty server list.
fn serving_servers() -> Fake {
    let fake = fake_with_identity();
    fake.on(|r| {
        r.url
            .starts_with(COMPUTE)
            .then(|| json(200, json!({"servers": []})))
    });
    fake
}

/// One `GET /servers/detail` through a new client (a new component call) on `cache`.
fn list_servers(fake: &Fake, cache: &MemCache) {
    let _: serde_json::Value = client(fake, cache)
        .get(Service::Compute, "/servers/detail", "x")
        .unwrap();
}

/// A cache holding a catalog with only a compute endpoint, fetched `age` seconds ago.
fn cache_with_compute_at(compute: &str, age: u64) -> MemCache {
    let cache = MemCache::default();
    let cached = CachedCatalog {
        catalog: Catalog {
            compute: Some(compute.into()),
            volume: None,
            image: None,
            network: None,
            account: None,
        },
        fetched_at: unix_now() - age,
    };
    cache.clone().set(
        &format!("catalog/v1/{AUTH}"),
        &serde_json::to_vec(&cached).unwrap(),
    );
    cache
}

#[test]
fn authenticates_then_sends_token_and_accept_headers() {
    let fake = fake_with_identity();
    fake.on(|r| {
        (r.url == format!("{COMPUTE}/flavors/detail")).then(|| json(200, json!({"flavors": []})))
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
    let fake = serving_servers();
    let cache = MemCache::default();
    list_servers(&fake, &cache);
    list_servers(&fake, &cache);
    assert_eq!(fake.paths(), [TOKENS, SERVERS, SERVERS]);
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
    let cache = cache_with_compute_at(COMPUTE, 0);
    list_servers(&fake, &cache);
    assert_eq!(fake.paths(), [SERVERS, TOKENS, SERVERS]);
    // The cache now holds the fresh catalog (with a volume endpoint).
    let fresh: CachedCatalog =
        serde_json::from_slice(&cache.0.borrow()[&format!("catalog/v1/{AUTH}")]).unwrap();
    assert!(fresh.catalog.volume.is_some());
}

#[test]
fn an_old_cached_catalog_is_refetched() {
    let fake = serving_servers();
    let cache = cache_with_compute_at("https://old.example.org/compute/v2.0", CATALOG_TTL_SECS + 1);
    list_servers(&fake, &cache);
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
            retry_after_s: None,
            date: None,
        })
    });
    let err = client(&fake, &MemCache::default()).catalog().unwrap_err();
    assert!(matches!(err, Error::Protocol(ref m) if m.contains("identity token answer")));
}

#[test]
fn session_records_are_kept_apart_by_cloud_and_token() {
    let cache = MemCache::default();
    let fake = Fake::default();
    let with = |auth_url: &str, token: &str| {
        let config = Config {
            auth_url: auth_url.into(),
            token: token.into(),
            ..config()
        };
        Client::new(config, Box::new(fake.clone()), Box::new(cache.clone()))
    };
    with(AUTH, "SECRET-TOKEN").remember("flavors", &1u32);
    assert_eq!(with(AUTH, "SECRET-TOKEN").recall("flavors", 60), Some(1u32));
    assert_eq!(with(AUTH, "OTHER-TOKEN").recall::<u32>("flavors", 60), None);
    let other_cloud = "https://accounts.other.org/identity/v2.0";
    assert_eq!(
        with(other_cloud, "SECRET-TOKEN").recall::<u32>("flavors", 60),
        None
    );
    let keys: Vec<String> = cache.0.borrow().keys().cloned().collect();
    assert!(keys.iter().all(|k| !k.contains("SECRET")), "{keys:?}");
    assert!(fake.log.borrow().is_empty(), "the cache needs no call");
}

#[test]
fn an_old_session_record_is_not_recalled() {
    let cache = MemCache::default();
    let mut c = client(&Fake::default(), &cache);
    let key = c.session_key("flavors");
    cache.clone().set(&key, &stamp(unix_now() - 601, b"1"));
    assert_eq!(c.recall::<u32>("flavors", 600), None);
    assert_eq!(c.recall::<u32>("flavors", 602), Some(1));
}
