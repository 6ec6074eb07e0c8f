//! A small blocking HTTP client over wasi:http (outgoing-handler), one request at a time.
//!
//! Bodies are written in chunks of at most 4096 bytes with `blocking-write-and-flush`, with an
//! explicit `Content-Length` (Synnefo runs behind WSGI, which does not read chunked bodies);
//! requests without a body never open one, so the host sends an empty body.

use std::time::Instant;

use crate::Error;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method as WasiMethod, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;
use crate::client::{Method, Request, Response, Transport, host_of, path_of};

const SECOND_NS: u64 = 1_000_000_000;
const CONNECT_TIMEOUT: u64 = 10 * SECOND_NS;
const FIRST_BYTE_TIMEOUT: u64 = 30 * SECOND_NS;
const BETWEEN_BYTES_TIMEOUT: u64 = 30 * SECOND_NS;
const CHUNK: usize = 4096;
/// Larger answers are refused: a Synnefo listing of thousands of items stays far below this.
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// The wasi:http transport.
pub struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&mut self, request: &Request) -> Result<Response, Error> {
        let started = Instant::now();
        let result = send(request);
        // u64, not as_millis()'s u128: its formatting is ~2 KB of the component.
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let path = path_of(&request.url);
        let host = host_of(&request.url);
        match &result {
            Ok(r) => log_line!(
                "okeanos-connector: {} {host}{path} -> {} ({ms} ms)",
                request.method.as_str(),
                r.status
            ),
            Err(e) => log_line!(
                "okeanos-connector: {} {host}{path} -> failed after {ms} ms: {}",
                request.method.as_str(),
                crate::fault::message(e)
            ),
        }
        result
    }
}

struct Url<'a> {
    scheme: Scheme,
    authority: &'a str,
    path_with_query: &'a str,
}

fn parse_url(url: &str) -> Result<Url<'_>, Error> {
    let bad = || {
        Error::Invalid(format!(
            "'{url}' is not an http(s) URL; check auth_url in the host configuration"
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        _ => return Err(bad()),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(bad());
    }
    Ok(Url {
        scheme,
        authority,
        path_with_query: if path.is_empty() { "/" } else { path },
    })
}

fn transport(host: &str, what: impl std::fmt::Display) -> Error {
    Error::Transport(format!("{host}: {what}"))
}

fn send(request: &Request) -> Result<Response, Error> {
    let url = parse_url(&request.url)?;
    let host = url.authority;

    // One host call for all the headers (a call into the host costs microseconds).
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    if let Some(body) = &request.body {
        entries.push(("Content-Length".into(), body.len().to_string().into_bytes()));
    }
    let headers = Fields::from_list(&entries).map_err(header_error)?;

    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Delete => WasiMethod::Delete,
    };
    let set = |ok: Result<(), ()>, what: &str| {
        ok.map_err(|()| Error::Invalid(format!("the request to {host} has an invalid {what}")))
    };
    set(outgoing.set_method(&method), "method")?;
    set(outgoing.set_scheme(Some(&url.scheme)), "scheme")?;
    set(outgoing.set_authority(Some(url.authority)), "host")?;
    set(
        outgoing.set_path_with_query(Some(url.path_with_query)),
        "path",
    )?;

    let options = RequestOptions::new();
    // A host may not support some timeouts; it then applies its own.
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let _ = options.set_first_byte_timeout(Some(FIRST_BYTE_TIMEOUT));
    let _ = options.set_between_bytes_timeout(Some(BETWEEN_BYTES_TIMEOUT));

    let body = match &request.body {
        Some(_) => Some(
            outgoing
                .body()
                .map_err(|()| transport(host, "cannot open the request body"))?,
        ),
        None => None,
    };
    let future = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|e| transport(host, describe(&e, host)))?;

    if let (Some(body), Some(bytes)) = (body, &request.body) {
        {
            let stream = body
                .write()
                .map_err(|()| transport(host, "cannot write the request body"))?;
            for chunk in bytes.chunks(CHUNK) {
                stream.blocking_write_and_flush(chunk).map_err(|e| {
                    transport(
                        host,
                        format!("writing the request body failed: {}", stream_error(e, host)),
                    )
                })?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|e| transport(host, describe(&e, host)))?;
    }

    let response = loop {
        if let Some(result) = future.get() {
            break result;
        }
        future.subscribe().block();
    };
    let response = response
        .map_err(|()| transport(host, "the response was already taken"))?
        .map_err(|e| transport(host, describe(&e, host)))?;

    let status = response.status();
    // Headers are read only where they matter, three host calls saved on the rest: the
    // `Retry-After` of 5xx answers, the ones that become `unavailable` (only the delay-seconds
    // form: a loaded proxy's 503 usually says how long to wait), and the `Date` of listings
    // that want it (the cloud's clock).
    let retry = (500..600).contains(&status);
    let (retry_after_s, date) = if retry || request.want_date {
        let headers = response.headers();
        let first = |name: &str| {
            let values = headers.get(name);
            Some(
                std::str::from_utf8(values.first()?)
                    .ok()?
                    .trim()
                    .to_string(),
            )
        };
        let retry_after_s = retry
            .then(|| first("retry-after"))
            .flatten()
            .and_then(|v| v.parse().ok());
        (
            retry_after_s,
            request.want_date.then(|| first("date")).flatten(),
        )
    } else {
        (None, None)
    };
    let incoming = response
        .consume()
        .map_err(|()| transport(host, "cannot read the response body"))?;
    let mut data = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| transport(host, "cannot read the response body"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    data.extend_from_slice(&chunk);
                    if data.len() > MAX_RESPONSE_BYTES {
                        return Err(Error::Protocol(format!(
                            "{host}: the answer is larger than {} MB",
                            MAX_RESPONSE_BYTES >> 20
                        )));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(e) => {
                    return Err(transport(
                        host,
                        format!("reading the response failed: {}", stream_error(e, host)),
                    ));
                }
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(Response {
        status,
        body: data,
        retry_after_s,
        date,
    })
}

fn header_error(e: HeaderError) -> Error {
    let why = match e {
        HeaderError::InvalidSyntax => "invalid syntax",
        HeaderError::Forbidden => "a header the host forbids",
        HeaderError::Immutable => "immutable headers",
    };
    Error::Invalid(format!("cannot send the request's headers: {why}"))
}

fn stream_error(e: StreamError, host: &str) -> String {
    match e {
        StreamError::Closed => "the connection was closed".into(),
        StreamError::LastOperationFailed(err) => {
            match crate::bindings::wasi::http::types::http_error_code(&err) {
                Some(code) => describe(&code, host),
                None => err.to_debug_string(),
            }
        }
    }
}

/// A person's reading of a wasi:http error code.
fn describe(e: &ErrorCode, host: &str) -> String {
    match e {
        // The host knows its allow-list and appends the advice itself.
        ErrorCode::HttpRequestDenied => format!("the host denied the request to {host}"),
        ErrorCode::DnsTimeout => "DNS lookup timed out".into(),
        ErrorCode::DnsError(p) => with_detail("DNS lookup failed", " (", p.rcode.as_deref(), ")"),
        ErrorCode::DestinationNotFound => "the host name does not resolve".into(),
        ErrorCode::DestinationUnavailable => "the host is unavailable".into(),
        ErrorCode::DestinationIpProhibited => "connecting to this address is prohibited".into(),
        ErrorCode::DestinationIpUnroutable => "the address is unroutable".into(),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTerminated => "the connection was closed".into(),
        ErrorCode::ConnectionTimeout => "connecting timed out".into(),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            "the server did not answer in time".into()
        }
        ErrorCode::ConnectionWriteTimeout => "sending the request timed out".into(),
        ErrorCode::TlsCertificateError => {
            "the TLS certificate was not accepted (give the host a CA bundle if the cloud uses a private CA)".into()
        }
        ErrorCode::TlsProtocolError => "TLS handshake failed".into(),
        ErrorCode::TlsAlertReceived(p) => {
            with_detail("TLS alert from the server", ": ", p.alert_message.as_deref(), "")
        }
        ErrorCode::HttpResponseIncomplete => "the answer was cut short".into(),
        ErrorCode::HttpProtocolError => "HTTP protocol error".into(),
        ErrorCode::InternalError(Some(m)) => format!("HTTP error: {m}"),
        ErrorCode::ConnectionLimitReached => "the host has too many connections open".into(),
        ErrorCode::HttpRequestMethodInvalid
        | ErrorCode::HttpRequestUriInvalid
        | ErrorCode::HttpRequestUriTooLong
        | ErrorCode::HttpRequestBodySize(_)
        | ErrorCode::HttpRequestHeaderSectionSize(_)
        | ErrorCode::HttpRequestHeaderSize(_)
        | ErrorCode::HttpRequestTrailerSectionSize(_)
        | ErrorCode::HttpRequestTrailerSize(_) => "the request was refused as malformed or too large".into(),
        ErrorCode::HttpResponseHeaderSectionSize(_)
        | ErrorCode::HttpResponseHeaderSize(_)
        | ErrorCode::HttpResponseBodySize(_)
        | ErrorCode::HttpResponseTrailerSectionSize(_)
        | ErrorCode::HttpResponseTrailerSize(_) => "the answer was too large".into(),
        ErrorCode::HttpResponseTransferCoding(_) | ErrorCode::HttpResponseContentCoding(_) => {
            "the answer's encoding is not supported".into()
        }
        _ => "HTTP error (the host gave no detail)".into(),
    }
}

/// `text`, then the host's detail between `open` and `close` when it gave one.
fn with_detail(text: &str, open: &str, detail: Option<&str>, close: &str) -> String {
    match detail {
        Some(d) => format!("{text}{open}{d}{close}"),
        None => text.to_string(),
    }
}
