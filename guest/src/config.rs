//! The connector's configuration, read from wasi:config by the caller of [`Config::load`].

use crate::Error;

/// The configuration keys the host must (or may) set.
pub const AUTH_URL: &str = "auth_url";
pub const TOKEN: &str = "token";
pub const PROJECT: &str = "project";
pub const DISK_TEMPLATE: &str = "disk_template";

#[derive(Clone)]
pub struct Config {
    /// The identity endpoint, e.g. `https://accounts.okeanos.grnet.gr/identity/v2.0`.
    pub auth_url: String,
    /// Never logged, never stored, sent only as `X-Auth-Token` and in the token request.
    pub token: String,
    /// Default project (tenant) for new VMs.
    pub project: Option<String>,
    /// Preferred disk template when several flavors fit a shape.
    pub disk_template: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("auth_url", &self.auth_url)
            .field("token", &"<redacted>")
            .field("project", &self.project)
            .field("disk_template", &self.disk_template)
            .finish()
    }
}

impl Config {
    /// Builds the configuration from a key lookup (wasi:config `get` in the component).
    pub fn load(
        mut get: impl FnMut(&str) -> Result<Option<String>, String>,
    ) -> Result<Config, Error> {
        let mut value = |key: &str| -> Result<Option<String>, Error> {
            get(key)
                .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
                .map_err(|e| {
                    crate::fault::unavailable(format!(
                        "cannot read the configuration key '{key}' from the host: {e}"
                    ))
                })
        };
        let required = |key: &str, v: Option<String>| {
            v.ok_or_else(|| {
                Error::Invalid(format!(
                    "the configuration key '{key}' is not set: the host configuration must set it for the okeanos connector"
                ))
            })
        };
        let auth_url = required(AUTH_URL, value(AUTH_URL)?)?;
        let token = required(TOKEN, value(TOKEN)?)?;
        if !(auth_url.starts_with("https://") || auth_url.starts_with("http://")) {
            return Err(Error::Invalid(format!(
                "the configuration key '{AUTH_URL}' must be an http(s) URL such as https://accounts.okeanos.grnet.gr/identity/v2.0, not '{auth_url}'"
            )));
        }
        Ok(Config {
            auth_url: auth_url.trim_end_matches('/').to_string(),
            token,
            project: value(PROJECT)?,
            disk_template: value(DISK_TEMPLATE)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl FnMut(&str) -> Result<Option<String>, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| Ok(map.get(k).cloned())
    }

    #[test]
    fn full_configuration() {
        let c = Config::load(lookup(&[
            (
                "auth_url",
                "https://accounts.okeanos.grnet.gr/identity/v2.0/",
            ),
            ("token", "secret"),
            ("project", "p"),
            ("disk_template", ""),
        ]))
        .unwrap();
        assert_eq!(
            c.auth_url,
            "https://accounts.okeanos.grnet.gr/identity/v2.0"
        );
        assert_eq!(c.project.as_deref(), Some("p"));
        assert_eq!(c.disk_template, None);
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn missing_keys_are_named() {
        let e = Config::load(lookup(&[("token", "t")])).unwrap_err();
        assert!(
            matches!(e, Error::Invalid(ref m) if m.contains("'auth_url'") && m.contains("host configuration must set it"))
        );
        let e = Config::load(lookup(&[("auth_url", "https://x/identity/v2.0")])).unwrap_err();
        assert!(matches!(e, Error::Invalid(ref m) if m.contains("'token'")));
    }

    #[test]
    fn bad_url_and_store_errors() {
        let e = Config::load(lookup(&[("auth_url", "accounts"), ("token", "t")])).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));
        let e = Config::load(|_| Err("vault down".to_string())).unwrap_err();
        assert!(matches!(e, Error::Unavailable(ref u) if u.message.contains("vault down")));
    }
}
