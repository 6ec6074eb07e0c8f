//! Request parsing with JSON errors: query strings (repeated keys allowed, e.g. `?tag=a=1&tag=b=2`),
//! JSON bodies (unknown fields are errors naming the field) and durations.

use super::error::ApiError;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The query string's pairs, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
            .map_err(|e| ApiError::invalid(format!("invalid query string: {e}")))?;
        Ok(Params(pairs))
    }

    /// Fails on a parameter the route does not know: a typo should not be silently ignored.
    pub fn only(self, known: &[&str]) -> Result<Self, ApiError> {
        if let Some((k, _)) = self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!(
                "unknown query parameter `{k}` (this route takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        Ok(self)
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `?wait`, `?wait=true`, `?wait=1` → true; absent, `false`, `0` → false.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some("" | "true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "`{key}={other}`: use true or false"
            ))),
        }
    }

    pub fn duration(&self, key: &str) -> Result<Option<Duration>, ApiError> {
        self.get(key).map(|v| duration(key, v)).transpose()
    }

    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::invalid(format!("`{key}={v}` is not a number")))
            })
            .transpose()
    }
}

pub fn duration(key: &str, value: &str) -> Result<Duration, ApiError> {
    humantime::parse_duration(value).map_err(|e| {
        ApiError::invalid(format!(
            "`{key}` = `{value}` is not a duration like \"30s\" or \"10m\": {e}"
        ))
    })
}

/// A JSON body; an empty body reads as `{}` (for bodies whose fields are all optional).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_keys_are_kept() {
        let p = Params::parse(Some("tag=a%3D1&tag=b=2&wait")).unwrap();
        assert_eq!(p.all("tag"), vec!["a=1", "b=2"]);
        assert!(p.flag("wait").unwrap());
        assert!(p.only(&["tag"]).is_err());
    }
}
