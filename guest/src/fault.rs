//! Synnefo faults → connector errors, in one place.
//!
//! Synnefo answers errors with `{"<faultName>": {"code": N, "message": "…", "details": "…"}}`
//! (`badRequest`, `itemNotFound`, `overLimit`, …; some deployments use `fault`), and the
//! volume and image services answer some errors (405) with an empty body. The HTTP status
//! decides the error kind; the message is Synnefo's own plus what the user can do.

use crate::Error;
use crate::protocol::read::{self, Json};
use crate::wit::UnavailableError;

/// What a fault envelope says.
#[derive(Debug, Default, PartialEq)]
pub struct Fault {
    /// The envelope's key, e.g. `itemNotFound`.
    pub name: String,
    pub message: String,
    pub details: String,
}

/// Reads a fault body; `None` when it is empty or not a fault envelope.
pub fn parse_fault(body: &[u8]) -> Option<Fault> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let Ok(Json::Object(members)) = read::parse(text.as_bytes()) else {
        // Not JSON (a proxy's HTML page, a plain-text message): keep a short excerpt.
        let excerpt: String = strip_markup(text).chars().take(200).collect();
        return (!excerpt.is_empty()).then(|| Fault {
            message: excerpt,
            ..Fault::default()
        });
    };
    let field = |o: &Json, k: &str| {
        read::get(o, k)
            .and_then(crate::protocol::scalar_to_string)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    // The envelope has one key whose value is an object; prefer `fault` or any object with a
    // message. (In key order, as a map would hold them.)
    let (name, inner) = read::members(Json::Object(members), "a map")
        .ok()?
        .into_iter()
        .find(|(_, o)| read::get(o, "message").is_some() || read::get(o, "details").is_some())?;
    Some(Fault {
        name: name.into_owned(),
        message: field(&inner, "message"),
        details: field(&inner, "details"),
    })
}

fn strip_markup(text: &str) -> String {
    if !text.starts_with('<') {
        return text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The connector error for a non-2xx answer to `what` (e.g. `GET /servers/42`, never a URL
/// with credentials).
pub fn from_response(status: u16, body: &[u8], what: &str) -> Error {
    let fault = parse_fault(body);
    let mut said = match &fault {
        Some(f) if !f.message.is_empty() => f.message.clone(),
        Some(f) if !f.details.is_empty() => f.details.clone(),
        _ => format!("HTTP {status}"),
    };
    if let Some(f) = &fault
        && !f.details.is_empty()
        && !f.message.is_empty()
        && f.details != f.message
    {
        said = format!("{said} ({})", f.details);
    }
    let text = |hint: &str| {
        if hint.is_empty() {
            format!("{what}: {said}")
        } else {
            format!("{what}: {said}; {hint}")
        }
    };
    match status {
        401 => Error::Unauthorized(text(
            "check the token in the host configuration (~Okeanos tokens expire; copy a fresh one from the dashboard)",
        )),
        403 => Error::Forbidden(text(
            "the account or the resource does not allow this operation",
        )),
        404 => Error::NotFound(text("")),
        409 => Error::Conflict(text(
            "the resource is busy with another operation; retry when it has finished",
        )),
        413 => Error::QuotaExceeded(text(
            "free some resources or ask for a larger quota for the project",
        )),
        400 => Error::Invalid(text("")),
        405 => Error::Protocol(text("the service does not allow this method on this URL")),
        503 => unavailable(text("the cloud cannot serve now; retry later")),
        500..=599 => unavailable(text("the cloud failed; retry later")),
        _ => Error::Protocol(text("unexpected HTTP status")),
    }
}

/// The cloud could not serve; how long it asked to wait is added from the answer's headers
/// by the caller that has them ([`with_retry_after`]).
pub fn unavailable(message: String) -> Error {
    Error::Unavailable(UnavailableError {
        message,
        retry_after_s: None,
    })
}

/// Adds the answer's `Retry-After` (seconds) to an unavailable error.
pub fn with_retry_after(mut e: Error, retry_after_s: Option<u32>) -> Error {
    if let Error::Unavailable(u) = &mut e {
        u.retry_after_s = retry_after_s;
    }
    e
}

/// The error for a 2xx answer whose body is not what `what` should return.
pub fn bad_body(what: &str, expected: &str, err: impl std::fmt::Display) -> Error {
    Error::Protocol(format!(
        "{what}: the answer is not {expected} ({err}); is auth_url an ~Okeanos/Synnefo identity endpoint?"
    ))
}

/// The message an error carries, whatever its kind (for logs: no `Debug` of the error types
/// in the component).
pub fn message(e: &Error) -> &str {
    match e {
        Error::Unauthorized(m)
        | Error::Forbidden(m)
        | Error::NotFound(m)
        | Error::Conflict(m)
        | Error::QuotaExceeded(m)
        | Error::Invalid(m)
        | Error::Unavailable(UnavailableError { message: m, .. })
        | Error::Unsupported(m)
        | Error::Transport(m)
        | Error::Protocol(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(name: &str, code: u16, message: &str, details: &str) -> Vec<u8> {
        serde_json::json!({ name: {"code": code, "message": message, "details": details} })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn every_status_maps_to_its_kind() {
        let cases: &[(u16, &str)] = &[
            (400, "invalid"),
            (401, "unauthorized"),
            (403, "forbidden"),
            (404, "not-found"),
            (405, "protocol"),
            (409, "conflict"),
            (413, "quota-exceeded"),
            (500, "unavailable"),
            (501, "unavailable"),
            (503, "unavailable"),
            (302, "protocol"),
            (418, "protocol"),
        ];
        for (status, kind) in cases {
            let e = from_response(*status, &envelope("x", *status, "m", ""), "GET /x");
            let got = match e {
                Error::Invalid(_) => "invalid",
                Error::Unauthorized(_) => "unauthorized",
                Error::Forbidden(_) => "forbidden",
                Error::NotFound(_) => "not-found",
                Error::Conflict(_) => "conflict",
                Error::QuotaExceeded(_) => "quota-exceeded",
                Error::Unavailable(_) => "unavailable",
                Error::Protocol(_) => "protocol",
                _ => "other",
            };
            assert_eq!(got, *kind, "status {status}");
        }
    }

    #[test]
    fn named_envelope_message_and_details() {
        let body = envelope(
            "overLimit",
            413,
            "Resource Limit Exceeded for your account.",
            "Limit for resource 'CPU' exceeded for your account. Available: 0, Requested: 2",
        );
        let e = from_response(413, &body, "POST /servers");
        assert!(matches!(e, Error::QuotaExceeded(_)));
        let m = message(&e);
        assert!(
            m.starts_with("POST /servers: Resource Limit Exceeded"),
            "{m}"
        );
        assert!(m.contains("Available: 0, Requested: 2"), "{m}");
        assert!(m.contains("larger quota"), "{m}");
    }

    #[test]
    fn fault_key_envelope() {
        let body = br#"{"fault":{"code":401,"message":"Invalid token","details":""}}"#;
        let f = parse_fault(body).unwrap();
        assert_eq!(f.name, "fault");
        assert_eq!(f.message, "Invalid token");
        let e = from_response(401, body, "POST /tokens");
        assert!(matches!(e, Error::Unauthorized(_)));
        assert!(message(&e).contains("Invalid token"));
        assert!(message(&e).contains("check the token in the host configuration"));
    }

    #[test]
    fn item_not_found_without_details() {
        let body = br#"{"itemNotFound": {"message": "Server 9 not found", "code": 404}}"#;
        let e = from_response(404, body, "GET /servers/9");
        assert_eq!(message(&e), "GET /servers/9: Server 9 not found");
    }

    #[test]
    fn empty_body_of_volume_or_image_405() {
        assert_eq!(parse_fault(b""), None);
        assert_eq!(parse_fault(b"  \n"), None);
        let e = from_response(405, b"", "PUT /volumes/1");
        assert!(matches!(e, Error::Protocol(_)));
        assert!(message(&e).contains("HTTP 405"));
    }

    #[test]
    fn html_and_text_bodies() {
        let e = from_response(
            502,
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            "GET /servers/detail",
        );
        assert!(matches!(e, Error::Unavailable(_)));
        assert!(message(&e).contains("502 Bad Gateway"), "{}", message(&e));
        let e = from_response(400, b"Bad things", "GET /x");
        assert_eq!(message(&e), "GET /x: Bad things");
    }

    #[test]
    fn json_without_envelope() {
        assert_eq!(parse_fault(br#"{"servers": []}"#), None);
        assert_eq!(parse_fault(b"[1,2]").unwrap().message, "[1,2]");
        let e = from_response(400, br#"{"a": 1}"#, "GET /x");
        assert_eq!(message(&e), "GET /x: HTTP 400");
    }

    #[test]
    fn details_equal_to_message_are_not_repeated() {
        let e = from_response(400, &envelope("badRequest", 400, "Bad", "Bad"), "POST /x");
        assert_eq!(message(&e), "POST /x: Bad");
    }

    #[test]
    fn a_503_carries_how_long_the_cloud_asked_to_wait() {
        let e = with_retry_after(from_response(503, b"", "GET /x"), Some(3));
        assert!(matches!(
            e,
            Error::Unavailable(UnavailableError {
                retry_after_s: Some(3),
                ..
            })
        ));
        // Only unavailable errors carry it.
        let e = with_retry_after(from_response(404, b"", "GET /x"), Some(3));
        assert!(matches!(e, Error::NotFound(_)));
    }
}
