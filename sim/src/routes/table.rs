//! Route tables: a service lists each path once with its handlers ([`Methods`], which
//! also know the methods they answer), and every other method on that path gets the
//! service's 405 with exactly that `Allow` header — so the header can never disagree
//! with the handlers.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{self, MethodRouter};

use super::paths;
use super::render::not_allowed;
use crate::state::AppState;

/// How a service answers a method it does not serve on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongMethod {
    /// Compute, network, identity: a JSON `notAllowed` fault.
    Json,
    /// Volume and image: an empty body.
    Empty,
}

impl WrongMethod {
    /// How `Allow` joins the methods: snf_django/lib/api `render_fault` uses
    /// `','.join(fault.allowed_methods)`; Django's `HttpResponseNotAllowed` (volume/urls.py,
    /// plankton/urls.py) uses `', '.join(permitted_methods)`.
    fn separator(self) -> &'static str {
        match self {
            WrongMethod::Json => ",",
            WrongMethod::Empty => ", ",
        }
    }
}

/// The methods `Allow` names, in the order it names them.
const ORDER: [&str; 5] = ["GET", "HEAD", "POST", "PUT", "DELETE"];

/// The handlers of one path, and which methods they answer.
pub struct Methods {
    answered: [bool; 5],
    /// What Synnefo's 405 names when it is not what the handlers answer (a demux that
    /// serves a method it does not list, or lists them in its own order).
    named: Option<&'static [&'static str]>,
    /// How this path answers a wrong method when it differs from its service's way.
    wrong: Option<WrongMethod>,
    router: MethodRouter<AppState>,
}

impl Methods {
    fn with(mut self, method: &str, router: MethodRouter<AppState>) -> Self {
        let at = ORDER
            .iter()
            .position(|m| *m == method)
            .expect("known method");
        self.answered[at] = true;
        self.router = self.router.merge(router);
        self
    }

    fn with_all(mut self, other: Methods) -> Self {
        for (on, theirs) in self.answered.iter_mut().zip(other.answered) {
            *on |= theirs;
        }
        self.router = self.router.merge(other.router);
        self
    }

    /// Adds a `POST` handler.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, h: H) -> Self {
        self.with("POST", routing::post(h))
    }

    /// Adds a `PUT` handler.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, h: H) -> Self {
        self.with("PUT", routing::put(h))
    }

    /// Adds a `DELETE` handler.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, h: H) -> Self {
        self.with("DELETE", routing::delete(h))
    }

    /// Adds a `HEAD` handler of its own (instead of the `GET` handler without a body).
    pub fn head_with<H: Handler<T, AppState>, T: 'static>(self, h: H) -> Self {
        self.with("HEAD", routing::head(h))
    }

    /// Names `HEAD` in `Allow` too (a `GET` handler answers it already).
    pub fn head(self) -> Self {
        self.with("HEAD", MethodRouter::new())
    }

    /// Names exactly `methods`, in this order, in the 405's `Allow` — for a path whose
    /// Synnefo view lists something else than the methods it serves.
    pub fn allow_only(mut self, methods: &'static [&'static str]) -> Self {
        self.named = Some(methods);
        self
    }

    /// A path Synnefo routes straight to one `@api.api_method(http_method=…)` view, not
    /// through a demux: the decorator's 405 is the JSON `notAllowed` fault (`Allow` joined
    /// by `render_fault`) even in the volume and image services, whose demuxes answer
    /// Django's empty `HttpResponseNotAllowed`.
    pub fn single_view(mut self) -> Self {
        self.wrong = Some(WrongMethod::Json);
        self
    }

    /// The `Allow` header: the methods answered (in `ORDER`) or those named, joined as
    /// the service joins them.
    fn allow(&self, wrong: WrongMethod) -> String {
        let listed: Vec<&str> = match self.named {
            Some(named) => named.to_vec(),
            None => ORDER
                .iter()
                .zip(self.answered)
                .filter(|(_, on)| *on)
                .map(|(m, _)| *m)
                .collect(),
        };
        listed.join(wrong.separator())
    }
}

fn none() -> Methods {
    Methods {
        answered: [false; 5],
        named: None,
        wrong: None,
        router: MethodRouter::new(),
    }
}

/// A path answering `GET` with `h`.
pub fn get<H: Handler<T, AppState>, T: 'static>(h: H) -> Methods {
    none().with("GET", routing::get(h))
}

/// A path answering `POST` with `h`.
pub fn post<H: Handler<T, AppState>, T: 'static>(h: H) -> Methods {
    none().post(h)
}

/// A path answering `PUT` with `h`.
pub fn put<H: Handler<T, AppState>, T: 'static>(h: H) -> Methods {
    none().put(h)
}

/// A path answering `DELETE` with `h`.
pub fn delete<H: Handler<T, AppState>, T: 'static>(h: H) -> Methods {
    none().delete(h)
}

/// The router of `(path under prefix, handlers)` entries.
fn table<const N: usize>(
    prefix: &str,
    wrong: WrongMethod,
    entries: [(&str, Methods); N],
) -> Router<AppState> {
    entries
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            let wrong = methods.wrong.unwrap_or(wrong);
            let allow = methods.allow(wrong);
            let methods =
                (methods.router).fallback(not_allowed(allow, wrong == WrongMethod::Empty));
            router.route(&format!("{prefix}{path}"), methods)
        })
}

/// A service: where its paths live and how it answers a wrong method.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    prefix: &'static str,
    wrong: WrongMethod,
}

/// Identity and account (full paths, JSON 405s).
pub const ROOT: Service = Service::new("", WrongMethod::Json);
/// Cyclades compute.
pub const COMPUTE: Service = Service::new(paths::COMPUTE, WrongMethod::Json);
/// Cyclades block storage.
pub const VOLUME: Service = Service::new(paths::VOLUME, WrongMethod::Empty);
/// Plankton.
pub const IMAGE: Service = Service::new(paths::IMAGE, WrongMethod::Empty);
/// Cyclades network.
pub const NETWORK: Service = Service::new(paths::NETWORK, WrongMethod::Json);

impl Service {
    const fn new(prefix: &'static str, wrong: WrongMethod) -> Self {
        Service { prefix, wrong }
    }

    /// The service's router of `(path under its prefix, handlers)` entries.
    pub fn table<const N: usize>(self, entries: [(&str, Methods); N]) -> Router<AppState> {
        table(self.prefix, self.wrong, entries)
    }

    /// The same, under a sub-prefix (`/servers` of compute, …).
    pub fn table_under<const N: usize>(
        self,
        sub: &str,
        entries: [(&str, Methods); N],
    ) -> Router<AppState> {
        table(&format!("{}{sub}", self.prefix), self.wrong, entries)
    }

    /// A collection: `/<kind>` lists with `list` (and creates with `create`, when
    /// given), `/<kind>/detail` lists with `list` too, `/<kind>/{id}` is `one`.
    pub fn collection<H: Handler<T, AppState>, T: 'static>(
        self,
        kind: &str,
        list: H,
        create: Option<Methods>,
        one: Methods,
    ) -> Router<AppState> {
        let mut all = get(list.clone());
        if let Some(create) = create {
            all = all.with_all(create);
        }
        self.table([
            (&format!("/{kind}"), all),
            (&format!("/{kind}/detail"), get(list).single_view()),
            (&format!("/{kind}/{{id}}"), one),
        ])
    }
}
