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

/// Parses `changes-since` from a query string: at most an hour old, else 400.
pub fn changes_since(query: Option<&str>) -> ApiResult<Option<Time>> {
    let Some(raw) = query.and_then(|q| {
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "changes-since").then_some(v)
        })
    }) else {
        return Ok(None);
    };
    let decoded = percent_decode(raw);
    let t = DateTime::parse_from_rfc3339(&decoded)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&decoded, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
        })
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&decoded, "%Y-%m-%dT%H:%M:%S").map(|n| n.and_utc())
        })
        .map_err(|_| ApiError::bad("Invalid changes-since parameter."))?;
    if Utc::now() - t > chrono::TimeDelta::seconds(3600) {
        return Err(ApiError::bad("Too old changes-since value."));
    }
    Ok(Some(t))
}

/// Minimal percent-decoding for query values (`%2B`, `+`, `%3A`).
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
            // A literal '+' in an ISO timestamp is usually meant as '+', keep it.
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
