//! The create path through the cache: what a deployment of many VMs sends, and how stale
//! cached records are caught without ever creating a wrong VM.

use super::*;
use crate::protocol;
use crate::wit::Vm;

const UBUNTU_NAME: &str = "CELAR-Ubuntu-14.04-LTS";
const POST_SERVERS: (&str, &str) = ("POST", "/compute/v2.0/servers");
const GET_FLAVORS: (&str, &str) = ("GET", "/compute/v2.0/flavors/detail");
const GET_IMAGES: (&str, &str) = ("GET", "/compute/v2.0/images/detail");
/// A create refused, the records refreshed, the create sent once more.
const RETRIED: &[(&str, &str)] = &[POST_SERVERS, GET_FLAVORS, GET_IMAGES, POST_SERVERS];

fn is_create(r: &Request) -> bool {
    r.method == Method::Post && r.url == format!("{COMPUTE}/servers")
}

/// `cloud()`, creating server 99 for every create the handlers added before let through.
fn creating(fake: &Fake) {
    fake.on(|r| is_create(r).then(|| json(202, json!({"server": server(99, "BUILD", json!({}))}))));
}

/// Answers the creates for which `when` holds with `status` and a fault saying `message`.
fn refuse_creates(
    fake: &Fake,
    status: u16,
    message: &'static str,
    when: impl Fn(&Request) -> bool + 'static,
) {
    fake.on(move |r| {
        (is_create(r) && when(r)).then(|| {
            json(
                status,
                json!({"fault": {"code": status, "message": message}}),
            )
        })
    });
}

/// One `create-vm` call: a new client (a new component instance) on the shared `cache`.
fn create(fake: &Fake, cache: &MemCache, spec: &VmSpec) -> Result<Vm, Error> {
    create_vm(&mut client(fake, cache), spec)
}

/// A create from `cache`, after which the request log is cleared.
fn warm(fake: &Fake, cache: &MemCache) {
    create(fake, cache, &spec(UBUNTU_NAME)).unwrap();
    fake.log.borrow_mut().clear();
}

/// A create from a warm `cache` sends its `POST /servers` and nothing else.
fn creates_with_one_post(fake: &Fake, cache: &MemCache, spec: &VmSpec) {
    fake.log.borrow_mut().clear();
    create(fake, cache, spec).unwrap();
    assert_eq!(sent(fake), calls(&[POST_SERVERS]));
}

/// Replaces the cached flavor list by one whose only flavor the cloud does not have.
fn cache_withdrawn_flavor(fake: &Fake, cache: &MemCache) {
    let stale: Vec<protocol::Flavor> = serde_json::from_value(json!([
        {"id": 9, "name": "C2R2048D20old", "vcpus": 2, "ram": 2048, "disk": 20,
         "SNF:disk_template": "ext_vlmc", "SNF:allow_create": true}
    ]))
    .unwrap();
    client(fake, cache).remember(super::super::lookup::FLAVORS, &stale);
}

fn sent(fake: &Fake) -> Vec<(String, String)> {
    fake.requests()
}

fn calls(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn flavor_ref(fake: &Fake, i: usize) -> serde_json::Value {
    body_of(&fake.log.borrow()[i])["server"]["flavorRef"].clone()
}

#[test]
fn the_second_create_sends_only_its_post() {
    let fake = cloud();
    creating(&fake);
    let cache = MemCache::default();
    create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap();
    let fresh = body_of(fake.log.borrow().last().unwrap());
    fake.log.borrow_mut().clear();
    create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap();
    assert_eq!(sent(&fake), calls(&[POST_SERVERS]));
    // Cached records build the same body as fresh ones (the image's OS/USERS, the keys).
    assert_eq!(body_of(&fake.log.borrow()[0]), fresh);
}

#[test]
fn a_deployment_of_100_vms_costs_about_one_request_per_vm() {
    let fake = cloud();
    creating(&fake);
    let cache = MemCache::default();
    let sp = spec(UBUNTU_NAME);
    // What the host calls once per deployment, each call a new instance.
    resolve_size(&mut client(&fake, &cache), &sp.size).unwrap();
    get_image(&mut client(&fake, &cache), UBUNTU_NAME).unwrap();
    for _ in 0..100 {
        create(&fake, &cache, &sp).unwrap();
    }
    let sent = sent(&fake);
    // The identity call, one flavor listing, one image listing, and the 100 creates.
    assert_eq!(sent.len(), 103, "{sent:?}");
    assert_eq!(
        sent.iter()
            .filter(|r| **r == calls(&[POST_SERVERS])[0])
            .count(),
        100
    );
}

#[test]
fn a_create_by_id_after_get_image_by_name_reads_the_cache() {
    let fake = cloud();
    creating(&fake);
    let cache = MemCache::default();
    get_image(&mut client(&fake, &cache), UBUNTU_NAME).unwrap();
    list_flavors(&mut client(&fake, &cache)).unwrap();
    creates_with_one_post(&fake, &cache, &spec(UBUNTU));
}

#[test]
fn a_withdrawn_cached_flavor_is_refreshed_once_and_the_create_sent_again() {
    let fake = cloud();
    refuse_creates(&fake, 404, "Flavor 9 not found.", |r| {
        body_of(r)["server"]["flavorRef"] == 9
    });
    creating(&fake);
    let cache = MemCache::default();
    warm(&fake, &cache);
    cache_withdrawn_flavor(&fake, &cache);
    let vm = create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap();
    assert_eq!(vm.id, "99");
    assert_eq!(sent(&fake), calls(RETRIED));
    assert_eq!(flavor_ref(&fake, 0), 9);
    assert_eq!(flavor_ref(&fake, 3), 3);
    // The fresh records replaced the stale ones.
    creates_with_one_post(&fake, &cache, &spec(UBUNTU_NAME));
}

#[test]
fn a_create_refused_again_after_the_refresh_is_returned() {
    let fake = cloud();
    let cache = MemCache::default();
    refuse_creates(&fake, 400, "Invalid personality", |_| true);
    // Nothing came from the cache: the refusal is returned as it is.
    let err = create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap_err();
    assert!(matches!(err, Error::Invalid(ref m) if m.contains("Invalid personality")));
    let posts = |f: &Fake| sent(f).iter().filter(|r| r.1.ends_with("/servers")).count();
    assert_eq!(posts(&fake), 1);
    // From the cache: one refresh, one more create, then the refusal.
    fake.log.borrow_mut().clear();
    let err = create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert_eq!(sent(&fake), calls(RETRIED));
}

#[test]
fn a_create_that_may_have_happened_is_never_retried() {
    let cache = MemCache::default();
    let warming = cloud();
    creating(&warming);
    warm(&warming, &cache);
    cache_withdrawn_flavor(&warming, &cache);
    // No answer at all: the VM may exist.
    let fake = cloud();
    fake.drop_when(is_create);
    let err = create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(sent(&fake), calls(&[POST_SERVERS]));
    // Nor any answer but not-found or invalid.
    for status in [500, 503, 409, 413, 403] {
        let fake = cloud();
        refuse_creates(&fake, status, "no", |_| true);
        create(&fake, &cache, &spec(UBUNTU_NAME)).unwrap_err();
        assert_eq!(sent(&fake), calls(&[POST_SERVERS]), "status {status}");
    }
}

#[test]
fn a_name_the_cache_does_not_know_is_looked_up_in_the_cloud() {
    let fake = cloud();
    creating(&fake);
    let cache = MemCache::default();
    warm(&fake, &cache);
    cache_withdrawn_flavor(&fake, &cache);
    // A flavor the cloud has, missing from the stale list: found in a fresh listing.
    let mut sp = spec(UBUNTU_NAME);
    sp.size = Size::Flavor("C2R2048D40ext_vlmc".into());
    create(&fake, &cache, &sp).unwrap();
    assert_eq!(sent(&fake), calls(&[GET_FLAVORS, GET_IMAGES, POST_SERVERS]));
    assert_eq!(flavor_ref(&fake, 2), 4);
    // An unknown flavor: the suggestions come from the fresh listing.
    cache_withdrawn_flavor(&fake, &cache);
    fake.log.borrow_mut().clear();
    sp.size = Size::Flavor("C2R2048D40ext_vlm".into());
    let err = create(&fake, &cache, &sp).unwrap_err();
    assert!(
        matches!(err, Error::NotFound(ref m) if m.contains("did you mean: C2R2048D40ext_vlmc")),
        "{err:?}"
    );
    assert_eq!(sent(&fake), calls(&[GET_FLAVORS]));
    // An unknown image name is never answered from the cache.
    fake.log.borrow_mut().clear();
    let err = create(&fake, &cache, &spec("CELAR-Ubuntu-14.04")).unwrap_err();
    assert!(
        matches!(err, Error::NotFound(ref m) if m.contains("did you mean: CELAR-Ubuntu-14.04-LTS")),
        "{err:?}"
    );
    assert_eq!(sent(&fake), calls(&[GET_IMAGES]));
}
