//! A scripted transport and an in-memory cache for tests.

use super::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub type Handler = Box<dyn FnMut(&Request) -> Option<Response>>;
pub type Unanswered = Box<dyn Fn(&Request) -> bool>;

/// Answers each request with the first handler that returns `Some`; records every request.
#[derive(Clone, Default)]
pub struct Fake {
    pub log: Rc<RefCell<Vec<Request>>>,
    handlers: Rc<RefCell<Vec<Handler>>>,
    /// Requests that get no answer at all (a transport error), checked before the handlers.
    unanswered: Rc<RefCell<Vec<Unanswered>>>,
}

impl Fake {
    /// Requests for which `when` holds fail as if the connection broke.
    pub fn drop_when(&self, when: impl Fn(&Request) -> bool + 'static) {
        self.unanswered.borrow_mut().push(Box::new(when));
    }
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
    /// The paths requested so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|(_, p)| p).collect()
    }
}

impl Transport for Fake {
    fn send(&mut self, request: &Request) -> Result<Response, Error> {
        self.log.borrow_mut().push(request.clone());
        if self.unanswered.borrow().iter().any(|when| when(request)) {
            return Err(Error::Transport("the connection was reset".into()));
        }
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
        retry_after_s: None,
        date: None,
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
                json(
                    401,
                    serde_json::json!({"unauthorized": {"code": 401, "message": "Invalid token"}}),
                )
            }
        })
    });
    fake
}

pub fn client(fake: &Fake, cache: &MemCache) -> Client {
    Client::new(config(), Box::new(fake.clone()), Box::new(cache.clone()))
}
