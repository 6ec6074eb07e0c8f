//! The HTTP client behind a connector's wasi:http: one pooled client per connector, TLS always
//! verified against the system roots plus an optional CA bundle (`ca_certs`).
//!
//! wasmtime's default sender opens a new connection (and TLS handshake) per request and trusts
//! only the bundled Mozilla roots; a pooled client reuses connections across calls, and the
//! roots are those of the machine, which is what users of a private cloud CA expect.

use crate::policy::TlsSettings;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

pub type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled HTTP(S) client.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Connector, WasiBody>,
}

/// What went wrong in a request, for the error message the user sees.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The server's certificate is not trusted (or does not match the host name).
    Certificate {
        host: String,
        detail: String,
    },
    Other(String),
}

impl HttpClient {
    pub fn new(tls: &TlsSettings) -> anyhow::Result<Self> {
        let config = tls_config(tls)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(15)));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build(https);
        Ok(HttpClient { client })
    }

    /// Sends one request with the guest's timeouts; returns the response or a wasi:http error
    /// plus a description of the failure.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, (Error, Failure)> {
        let host = request.uri().host().unwrap_or("").to_string();
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(Duration::from_secs(120));
        let between_bytes = options
            .and_then(|o| o.between_bytes_timeout)
            .unwrap_or(Duration::from_secs(120));
        let response = match tokio::time::timeout(first_byte, self.client.request(request)).await {
            Err(_) => {
                return Err((
                    Error::ConnectionReadTimeout,
                    Failure::Other(format!("no answer from {host} within {first_byte:?}")),
                ));
            }
            Ok(Err(e)) => return Err(classify(&host, &e)),
            Ok(Ok(r)) => r,
        };
        Ok(response.map(|body| {
            TimedBody {
                inner: body,
                timeout: between_bytes,
                sleep: None,
            }
            .boxed_unsync()
        }))
    }
}

fn classify(host: &str, e: &hyper_util::client::legacy::Error) -> (Error, Failure) {
    // Walk the source chain: rustls' certificate errors are nested in the connect error.
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ");
    if text.contains("certificate") || text.contains("UnknownIssuer") {
        return (
            Error::TlsCertificateError,
            Failure::Certificate {
                host: host.to_string(),
                detail: text,
            },
        );
    }
    let error = if text.contains("refused") {
        Error::ConnectionRefused
    } else if text.contains("dns") || text.contains("resolve") || text.contains("lookup") {
        Error::DestinationNotFound
    } else if e.is_connect() {
        Error::DestinationUnavailable
    } else {
        Error::ConnectionTerminated
    };
    (error, Failure::Other(text))
}

/// The system's CA roots (or, if the machine has none, the bundled Mozilla roots), read once
/// per process: every connector version (each hot swap) gets its own client, and reading and
/// parsing the system bundle took most of a swap's time.
fn base_roots() -> &'static rustls::RootCertStore {
    static ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!(
                "no system CA certificates found (install the ca-certificates package): trusting the bundled Mozilla roots"
            );
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        roots
    })
}

/// System roots (or, if the machine has none, the bundled Mozilla roots) plus `extra_ca_pem`.
fn tls_config(tls: &TlsSettings) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = base_roots().clone();
    if let Some(pem) = &tls.extra_ca_pem {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.context("the ca_certs bundle is not a valid PEM file")?;
            roots
                .add(cert)
                .context("the ca_certs bundle holds a certificate that is not a valid CA")?;
            n += 1;
        }
        if n == 0 {
            anyhow::bail!(
                "the ca_certs bundle holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)"
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A response body that fails when no bytes arrive for `timeout`.
struct TimedBody {
    inner: hyper::body::Incoming,
    timeout: Duration,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        use std::task::Poll;
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                self.sleep = None;
                Poll::Ready(r.map(|f| f.map_err(Error::from)))
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
