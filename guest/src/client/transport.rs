//! What a session needs from outside: a transport that sends one request, and a cache for
//! what it keeps between calls. Both are traits so that the session runs natively in tests; the component
//! plugs in wasi:http and wasi:keyvalue.

use crate::Error;

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
    /// Whether to read the answer's `Date` (host calls saved on every other request).
    pub want_date: bool,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The answer's `Retry-After`, in seconds (only the delay form; a date is ignored).
    pub retry_after_s: Option<u32>,
    /// The answer's `Date` (the cloud's clock), when the request wanted it.
    pub date: Option<String>,
}

/// Sends one request and reads the whole answer; fails only when no HTTP answer came.
pub trait Transport {
    fn send(&mut self, request: &Request) -> Result<Response, Error>;
}

/// Where the catalog and the create path's records are kept between calls. Failures are
/// silent: the cache is an optimisation.
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
