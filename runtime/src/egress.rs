//! Outgoing HTTP of a connector: the allowlist is enforced here, in the one place every
//! wasi:http request passes through (`WasiHttpHooks::send_request`).

use crate::http_client::{Failure, HttpClient};
use crate::policy::EgressPolicy;
use parking_lot::Mutex;
use std::sync::Arc;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// What went wrong with outgoing requests during one call, so the call's error can say how
/// to fix it (the guest only sees a wasi:http error code).
#[derive(Debug, Default)]
pub struct Incidents {
    /// Destinations denied by the allowlist, as the rule that would allow them.
    pub denied: Vec<String>,
    /// Hosts whose TLS certificate was not trusted.
    pub untrusted: Vec<(String, String)>,
}

impl Incidents {
    /// What the user can do about them, appended to the call's error: the one place where
    /// allow-list and TLS advice is written.
    pub fn advice(&self) -> String {
        let mut out = String::new();
        if let Some(rule) = self.denied.first() {
            out.push_str(&allowlist_advice(rule));
        }
        if let Some((host, detail)) = self.untrusted.first() {
            out.push_str(&format!(
                " (the TLS certificate of {host} is not trusted: {detail}. If this cloud uses its own CA, put the CA certificate (PEM) in a file and set `ca_certs` to it in the cloud's configuration)"
            ));
        }
        out
    }
}

fn allowlist_advice(rule: &str) -> String {
    format!(
        " (the host denied a request to {rule}: add \"{rule}\" to the connector's allowed_hosts if it is legitimate)"
    )
}

pub type SharedIncidents = Arc<Mutex<Incidents>>;

/// Nanoseconds one call's requests spent waiting for the cloud (see [`EgressHooks::waited`]).
pub type SharedWait = Arc<std::sync::atomic::AtomicU64>;

pub struct EgressHooks {
    connector: Arc<str>,
    policy: Arc<EgressPolicy>,
    client: HttpClient,
    pub(crate) incidents: SharedIncidents,
    /// Summed over the call's requests, from sending each to its answer's head (or its
    /// failure): the share of a call that is the cloud's, so that the rest, the sandbox's and
    /// the connector's own, can be told apart (`connector_call_cloud_wait_seconds`). A request
    /// still waiting when its call is cut short (the call's deadline) is not counted.
    pub(crate) waited: SharedWait,
}

impl EgressHooks {
    pub fn new(connector: Arc<str>, policy: Arc<EgressPolicy>, client: HttpClient) -> Self {
        EgressHooks {
            connector,
            policy,
            client,
            incidents: SharedIncidents::default(),
            waited: SharedWait::default(),
        }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        _ = fut;
        // Deny by default: a request goes out only if an allowed-hosts rule matches its
        // scheme, host and port exactly. The denial is logged with the rule that would allow it.
        if let Err(rule) = self.policy.check(request.uri()) {
            tracing::warn!(
                connector = %self.connector,
                method = %request.method(),
                destination = %rule,
                "denied an outgoing request{}",
                allowlist_advice(&rule)
            );
            self.incidents.lock().denied.push(rule);
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let client = self.client.clone();
        let incidents = self.incidents.clone();
        let waited = self.waited.clone();
        Box::new(async move {
            let sent = std::time::Instant::now();
            let answer = client.send(request, options).await;
            let nanos = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX);
            waited.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
            match answer {
                Ok(response) => Ok((
                    response,
                    // The pool drives the connection; nothing more to await per request.
                    Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
                )),
                Err((error, failure)) => {
                    if let Failure::Certificate { host, detail } = failure {
                        incidents.lock().untrusted.push((host, detail));
                    } else if let Failure::Other(text) = failure {
                        tracing::debug!("outgoing request failed: {text}");
                    }
                    Err(error)
                }
            }
        })
    }
}
