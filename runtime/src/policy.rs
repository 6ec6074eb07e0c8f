//! The sandbox policy of one connector: where it may send HTTP requests and how much memory
//! and time a call may use.
//!
//! Allowed hosts are parsed once into [`HostRule`]s. The default is to deny everything; plain
//! `http` is accepted only for loopback hosts (a local simulator), never for a real cloud.

use std::fmt;
use std::time::Duration;

/// One allowed destination: `[scheme://]host[:port]`, where host may be `*.domain`
/// (any subdomain, not the domain itself) and port may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pub scheme: Scheme,
    pub host: HostPattern,
    /// `None` = any port (`host:*`); a rule without a port means the scheme's default.
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// `*.example.org`: stored as `.example.org`.
    Subdomains(String),
}

/// Why an allowed-hosts entry was rejected.
#[derive(Debug, thiserror::Error)]
#[error("invalid allowed host `{entry}`: {reason}")]
pub struct RuleError {
    entry: String,
    reason: String,
}

impl HostRule {
    /// Parses `https://*.okeanos.grnet.gr`, `accounts.okeanos.grnet.gr`, `http://127.0.0.1:8080`…
    pub fn parse(entry: &str) -> Result<Self, RuleError> {
        let err = |reason: &str| RuleError {
            entry: entry.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = entry.trim().trim_end_matches('/');
        let (scheme, rest) = match trimmed.split_once("://") {
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("http", rest)) => (Scheme::Http, rest),
            Some((other, _)) => return Err(err(&format!("scheme `{other}` is not http or https"))),
            None => (Scheme::Https, trimmed),
        };
        if rest.contains('/') {
            return Err(err("give a host, not a URL with a path"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| err("bad port"))?;
        let host = host.to_ascii_lowercase();
        if host.is_empty() {
            return Err(err("empty host"));
        }
        let pattern = if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err(err("a wildcard must look like `*.example.org`"));
            }
            HostPattern::Subdomains(format!(".{domain}"))
        } else if host.contains('*') {
            return Err(err(
                "only a leading `*.` wildcard is supported; allowing every host defeats the sandbox",
            ));
        } else {
            HostPattern::Exact(host.clone())
        };
        if scheme == Scheme::Http && !is_loopback(&host) {
            return Err(err(
                "plain http is only allowed for a loopback simulator (127.0.0.1, ::1, localhost); use https",
            ));
        }
        let port = match port {
            PortSpec::Default => Some(scheme.default_port()),
            PortSpec::Any => None,
            PortSpec::Exact(p) => Some(p),
        };
        Ok(HostRule {
            scheme,
            host: pattern,
            port,
        })
    }

    fn matches(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme {
            return false;
        }
        let port_ok = match self.port {
            Some(p) => p == port,
            None => true,
        };
        let host_ok = match &self.host {
            HostPattern::Exact(h) => h == host,
            HostPattern::Subdomains(suffix) => host.ends_with(suffix.as_str()),
        };
        port_ok && host_ok
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Exact(h) => h.clone(),
            HostPattern::Subdomains(s) => format!("*{s}"),
        };
        write!(f, "{}://{host}", self.scheme.as_str())?;
        match self.port {
            Some(p) if p == self.scheme.default_port() => Ok(()),
            Some(p) => write!(f, ":{p}"),
            None => write!(f, ":*"),
        }
    }
}

/// A rule's port: omitted (the scheme's default), `*` (any) or a number.
enum PortSpec {
    Default,
    Any,
    Exact(u16),
}

fn split_host_port(s: &str) -> Option<(&str, PortSpec)> {
    let port = |p: &str| match p {
        "*" => Some(PortSpec::Any),
        p => p.parse().ok().map(PortSpec::Exact),
    };
    // [v6]:port
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            None if after.is_empty() => Some((host, PortSpec::Default)),
            Some(p) => Some((host, port(p)?)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Some((host, port(p)?)),
        // A bare IPv6 address, or no port at all.
        _ => Some((s, PortSpec::Default)),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The egress allowlist of a connector. Empty = deny all.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    rules: Vec<HostRule>,
}

impl EgressPolicy {
    pub fn new(rules: Vec<HostRule>) -> Self {
        Self { rules }
    }

    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, RuleError> {
        entries
            .iter()
            .map(|e| HostRule::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self::new)
    }

    pub fn rules(&self) -> &[HostRule] {
        &self.rules
    }

    /// Whether a request to this URI may go out. `Err` holds the entry that would allow it,
    /// for the denial message.
    pub fn check(&self, uri: &http::Uri) -> Result<(), String> {
        let scheme = match uri.scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") => Scheme::Http,
            other => return Err(format!("unsupported scheme {other:?}")),
        };
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        if self.rules.iter().any(|r| r.matches(scheme, &host, port)) {
            Ok(())
        } else {
            let shown = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            Err(format!("{}://{shown}:{port}", scheme.as_str()))
        }
    }
}

/// Resource limits of one call of a connector.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory the guest may grow to.
    pub memory_bytes: usize,
    /// CPU time the guest may spend executing (measured in epoch ticks), per call.
    pub cpu_time: Duration,
    /// Wall-clock time of a whole call, including time blocked on HTTP.
    pub wall_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            cpu_time: Duration::from_secs(5),
            wall_time: Duration::from_secs(120),
        }
    }
}

/// How TLS certificates are checked. Certificates are always verified.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Extra trusted CA certificates (PEM), for clouds whose CA is not a public one.
    pub extra_ca_pem: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(rules: &[&str], uri: &str) -> bool {
        EgressPolicy::parse(rules)
            .unwrap()
            .check(&uri.parse().unwrap())
            .is_ok()
    }

    #[test]
    fn empty_policy_denies_everything() {
        assert!(!allows(
            &[],
            "https://accounts.okeanos.grnet.gr/identity/v2.0/tokens"
        ));
    }

    #[test]
    fn exact_host_defaults_to_https_443() {
        let rules = ["accounts.okeanos.grnet.gr"];
        assert!(allows(&rules, "https://accounts.okeanos.grnet.gr/x"));
        assert!(!allows(&rules, "https://accounts.okeanos.grnet.gr:8443/x"));
        assert!(!allows(&rules, "https://evil.example/x"));
    }

    #[test]
    fn wildcard_matches_subdomains_only() {
        let rules = ["https://*.okeanos.grnet.gr"];
        assert!(allows(
            &rules,
            "https://cyclades.okeanos.grnet.gr/compute/v2.0/servers"
        ));
        assert!(!allows(&rules, "https://okeanos.grnet.gr/"));
        assert!(!allows(&rules, "https://okeanos.grnet.gr.evil.example/"));
    }

    #[test]
    fn http_only_for_loopback_and_exact_port() {
        assert!(HostRule::parse("http://cyclades.okeanos.grnet.gr").is_err());
        let rules = ["http://127.0.0.1:8080"];
        assert!(allows(&rules, "http://127.0.0.1:8080/identity/v2.0/tokens"));
        assert!(!allows(&rules, "http://127.0.0.1:8081/"));
        assert!(!allows(&rules, "https://127.0.0.1:8080/"));
        assert!(allows(&["http://[::1]:*"], "http://[::1]:9/"));
    }

    #[test]
    fn bare_wildcards_are_refused() {
        assert!(HostRule::parse("*").is_err());
        assert!(HostRule::parse("https://*").is_err());
        assert!(HostRule::parse("ftp://x.org").is_err());
    }

    #[test]
    fn denial_names_the_rule_to_add() {
        let p = EgressPolicy::default();
        let e = p
            .check(&"https://evil.example/x".parse().unwrap())
            .unwrap_err();
        assert_eq!(e, "https://evil.example:443");
    }
}
