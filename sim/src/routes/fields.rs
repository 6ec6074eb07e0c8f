//! Reading the fields of a request: JSON envelopes and typed fields (400 with Synnefo's
//! messages when malformed), path ids, and query parameters such as `changes-since`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::backend::model::Time;
use crate::error::{ApiError, ApiResult};

/// The one key of an object envelope (`{"server":{…}}`), else 400.
pub fn envelope<'a>(body: &'a Value, key: &str) -> ApiResult<&'a Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::bad(format!("Malformed request: missing or invalid '{key}'")))
}

/// An optional string field (400 when present but not a string).
pub fn opt_str(obj: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad(format!(
            "Malformed request: '{key}' must be a string"
        ))),
    }
}

/// An optional integer field that may come as a number or a numeric string.
pub fn opt_u64(obj: &Map<String, Value>, key: &str) -> ApiResult<Option<u64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_u64(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad(format!("Malformed request: invalid '{key}'"))),
    }
}

/// A required string field: 400 `Malformed request: missing '<key>'` when absent.
pub fn required_str(obj: &Map<String, Value>, key: &str) -> ApiResult<String> {
    opt_str(obj, key)?.ok_or_else(|| missing(key))
}

/// A required integer field, like [`required_str`].
pub fn required_u64(obj: &Map<String, Value>, key: &str) -> ApiResult<u64> {
    opt_u64(obj, key)?.ok_or_else(|| missing(key))
}

/// A required string→string map under `key` of the body (`{"metadata": {…}}`).
pub fn required_map(body: &Value, key: &str) -> ApiResult<BTreeMap<String, String>> {
    string_map(Some(body.get(key).ok_or_else(|| missing(key))?), key)
}

fn missing(key: &str) -> ApiError {
    ApiError::bad(format!("Malformed request: missing '{key}'"))
}

/// A number or numeric string as u64.
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An optional boolean (accepts "true"/"false" strings too).
pub fn opt_bool(obj: &Map<String, Value>, key: &str) -> ApiResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad(format!("Malformed request: invalid '{key}'"))),
    }
}

/// A string→string map (metadata); 400 on other shapes.
pub fn string_map(v: Option<&Value>, what: &str) -> ApiResult<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(ApiError::bad(format!(
                    "Malformed {what}: values must be strings"
                ))),
            })
            .collect(),
        Some(_) => Err(ApiError::bad(format!(
            "Malformed {what}: must be an object"
        ))),
    }
}

/// Parses an id path segment; a non-numeric id is simply not found.
pub fn parse_id(s: &str, what: &str) -> ApiResult<u64> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("{what} {s} not found")))
}

/// `POLL_LIMIT` of Synnefo's `app_settings/default/api.py`: how old a `changes-since`
/// may be, in seconds.
const POLL_LIMIT: i64 = 3600;

/// Parses `changes-since` as snf-django-lib `snf_django/lib/api/utils.py` `isoparse`
/// does: absent or empty is no filter; the value is read by `dateutil`, then moved to UTC
/// with `astimezone`, which on Python 2 refuses a naive time — so a time without a zone
/// is as invalid as garbage; a time in the future, or more than `POLL_LIMIT` ago, is 400.
/// The query is decoded as Django decodes it (`+` is a space).
pub fn changes_since(query: Option<&str>) -> ApiResult<Option<Time>> {
    let Some(raw) = query_param(query, "changes-since") else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let t =
        parse_aware_time(&raw).ok_or_else(|| ApiError::bad("Invalid changes-since parameter."))?;
    let now = Utc::now();
    if t > now {
        return Err(ApiError::bad("changes-since value set in the future."));
    }
    if now - t > chrono::TimeDelta::seconds(POLL_LIMIT) {
        return Err(ApiError::bad("Too old changes-since value."));
    }
    Ok(Some(t))
}

/// The time-zone-aware forms `dateutil.parser.parse` reads that clients send: ISO 8601
/// (`T` or a space between date and time, optional fraction, `Z`, `±HH:MM`, `±HHMM`, or a
/// trailing ` UTC`/` GMT`), the basic form (`20180411T103000Z`) and RFC 2822 dates. A time
/// without a zone is `None`: `isoparse` rejects it.
fn parse_aware_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.with_timezone(&Utc));
    }
    let (body, utc_name) = match s.rsplit_once(' ') {
        Some((b, z)) if ["UTC", "GMT", "Z"].contains(&z.to_ascii_uppercase().as_str()) => {
            (b.trim_end(), true)
        }
        _ => (s, false),
    };
    let body = body.replacen(' ', "T", 1);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y%m%dT%H%M%S%.f"] {
        if utc_name {
            if let Ok(n) = NaiveDateTime::parse_from_str(&body, fmt) {
                return Some(n.and_utc());
            }
            continue;
        }
        for zone in ["Z", "%:z", "%z"] {
            let f = format!("{fmt}{zone}");
            if zone == "Z" {
                if let Some(b) = body.strip_suffix(['Z', 'z'])
                    && let Ok(n) = NaiveDateTime::parse_from_str(b, fmt)
                {
                    return Some(n.and_utc());
                }
            } else if let Ok(t) = DateTime::parse_from_str(&body, &f) {
                return Some(t.with_timezone(&Utc));
            }
        }
    }
    None
}

/// Percent-decoding of query values as Django does it (`%2B` is `+`, `+` a space).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            // Django's QueryDict decodes a '+' as a space.
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query parameter (decoded).
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_since_limits() {
        assert!(changes_since(None).unwrap().is_none());
        assert!(changes_since(Some("changes-since=garbage")).is_err());
        let old = (Utc::now() - chrono::TimeDelta::seconds(7200)).to_rfc3339();
        assert!(changes_since(Some(&format!("changes-since={old}"))).is_err());
        let recent = (Utc::now() - chrono::TimeDelta::seconds(10))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert!(
            changes_since(Some(&format!("changes-since={recent}")))
                .unwrap()
                .is_some()
        );
    }
}
