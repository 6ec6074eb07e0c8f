//! An authenticated Synnefo session: the identity catalog (cached in a key-value bucket),
//! the common headers, the one-time re-authentication on 401, and fault mapping.

use serde::Serialize;

use crate::Error;
use crate::config::Config;
use crate::fault;
use crate::protocol::read::{self, FromJson};
use crate::protocol::{TokenAuth, TokenId, TokenRequest, TokenResponse};

mod catalog;
mod memo;
mod transport;

pub use catalog::{CATALOG_TTL_SECS, CachedCatalog, Catalog, Service, with_version};
pub use memo::stamp;
pub use transport::{Cache, Method, NoCache, Request, Response, Transport, host_of, path_of};

use catalog::{is_fresh, unix_now};

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
            let cached = self
                .cache
                .get(&key)
                .and_then(|bytes| read::from_slice::<CachedCatalog>(&bytes).ok())
                .filter(|c| c.catalog.compute.is_some())
                .filter(|c| is_fresh(c.fetched_at, CATALOG_TTL_SECS))
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
            want_date: false,
        };
        let what = format!("POST {}", path_of(&url));
        let response = success(self.transport.send(&request)?, &what)?;
        let parsed: TokenResponse = parse(&response, &what, "an identity token answer")?;
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

    /// Sends a request to a service; a 2xx answer is returned, anything else becomes an error.
    /// A 401 with a cached catalog re-authenticates once and retries once: the token may
    /// have been renewed, and the fresh catalog is trusted (no second retry).
    pub fn call(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Response, Error> {
        self.exchange(service, method, path, body, extra_headers, false)
    }

    /// `GET` of a listing filtered by `changes-since`: a 304 (nothing changed; no body) is an
    /// answer too, and the answer's `Date` is read, the time the next listing is to start from.
    pub fn get_changes(&mut self, service: Service, path: &str) -> Result<Response, Error> {
        self.exchange(service, Method::Get, path, None, &[], true)
    }

    /// [`Client::call`]; a `changes` request also takes a 304 and reads the `Date`.
    fn exchange(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra_headers: &[(&str, &str)],
        changes: bool,
    ) -> Result<Response, Error> {
        // Errors name the first attempt's path.
        let mut what = None;
        loop {
            let url = format!("{}{path}", self.catalog()?.base(service)?);
            let what = what.get_or_insert_with(|| format!("{} {}", method.as_str(), path_of(&url)));
            let mut headers = vec![
                ("X-Auth-Token".to_string(), self.config.token.clone()),
                ("Accept".to_string(), "application/json".to_string()),
            ];
            if body.is_some() {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            headers.extend(
                extra_headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            let request = Request {
                method,
                url,
                headers,
                body: body.map(<[u8]>::to_vec),
                want_date: changes,
            };
            let response = self.transport.send(&request)?;
            if response.status == 401 && self.catalog_cached {
                let key = self.cache_key();
                self.cache.delete(&key);
                self.catalog = None;
                self.authenticate()?;
                continue;
            }
            if changes && response.status == 304 {
                return Ok(response);
            }
            return success(response, what);
        }
    }

    /// GET and parse JSON.
    pub fn get<T: FromJson>(
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

/// A 2xx answer as it is; any other is the error its fault body describes.
fn success(response: Response, what: &str) -> Result<Response, Error> {
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        let e = fault::from_response(response.status, &response.body, what);
        Err(fault::with_retry_after(e, response.retry_after_s))
    }
}

/// Parses a 2xx answer.
pub fn parse<T: FromJson>(response: &Response, what: &str, expected: &str) -> Result<T, Error> {
    read::from_slice(&response.body).map_err(|e| fault::bad_body(what, expected, e))
}

#[cfg(test)]
pub mod testing;

#[cfg(test)]
mod tests;
