//! Where to connect: a VM's address and login user, and the optional jump host.
//!
//! The jump host is written like OpenSSH's `ProxyJump`: `[user@]host[:port]`, with an IPv6
//! literal in brackets. As in OpenSSH, an omitted user is the local login name (`$USER`, then
//! `$LOGNAME`), and `root` only if neither is set; an omitted port is 22.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::Error;

/// The SSH port the contract uses on every VM.
pub const SSH_PORT: u16 = 22;

/// A jump host (`[ssh] jump = "user@host:port"`), reached like OpenSSH's `ProxyJump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// Login user on the jump host.
    pub user: String,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port, 22 unless given.
    pub port: u16,
}

impl Jump {
    /// Parses `[user@]host[:port]`; see the module doc for the defaults.
    pub fn parse(input: &str) -> Result<Jump, Error> {
        let bad = |reason: &str| Error::BadJump {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains spaces or control characters"));
        }
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) => {
                if u.is_empty() {
                    return Err(bad("the user before '@' is empty"));
                }
                (u.to_string(), r)
            }
            None => (default_user(), s),
        };
        let (host, port) = if let Some(after) = rest.strip_prefix('[') {
            let (host, tail) = after
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address opened with '[' is not closed with ']'"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("the address in brackets is not an IPv6 address"));
            }
            let port = match tail {
                "" => None,
                t => Some(
                    t.strip_prefix(':')
                        .ok_or_else(|| bad("expected ':port' after ']'"))?,
                ),
            };
            (host, port)
        } else {
            match rest.matches(':').count() {
                0 => (rest, None),
                1 => {
                    let (h, p) = rest.split_once(':').expect("one colon");
                    (h, Some(p))
                }
                _ => {
                    return Err(bad(
                        "write an IPv6 address in brackets: user@[2001:db8::1]:22",
                    ));
                }
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host.starts_with('-') {
            return Err(bad("the host cannot start with '-'"));
        }
        let port = match port {
            None => SSH_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(bad("the port must be a number from 1 to 65535")),
                Ok(p) => p,
            },
        };
        Ok(Jump {
            user,
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Jump {
    /// `user@host:port`, with brackets around an IPv6 address; parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

impl std::str::FromStr for Jump {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Jump::parse(s)
    }
}

fn default_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_string())
}

/// The address to reach a VM at: its first IPv4 address, else its first IPv6 address.
pub fn pick_address<I: IntoIterator<Item = IpAddr>>(addresses: I) -> Option<IpAddr> {
    let mut first_v6 = None;
    for a in addresses {
        match a {
            IpAddr::V4(_) => return Some(a),
            IpAddr::V6(_) if first_v6.is_none() => first_v6 = Some(a),
            IpAddr::V6(_) => {}
        }
    }
    first_v6
}

/// One VM to log in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The VM's id: the key of its host-key record for this run.
    pub vm_id: String,
    /// Where its sshd listens (port 22 on a VM; tests use other ports).
    pub addr: SocketAddr,
    /// The login user (`recipe_user`).
    pub user: String,
}

impl Target {
    /// A VM reached on port 22 of `addr`.
    pub fn new(vm_id: impl Into<String>, addr: IpAddr, user: impl Into<String>) -> Target {
        Target {
            vm_id: vm_id.into(),
            addr: SocketAddr::new(addr, SSH_PORT),
            user: user.into(),
        }
    }

    /// The same VM on another port.
    pub fn with_port(mut self, port: u16) -> Target {
        self.addr.set_port(port);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jump(s: &str) -> Jump {
        Jump::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_user_host_port_forms() {
        assert_eq!(
            jump("admin@bastion.example.org:2222"),
            Jump {
                user: "admin".into(),
                host: "bastion.example.org".into(),
                port: 2222
            }
        );
        assert_eq!(jump("admin@10.0.0.1").port, 22);
        let v6 = jump("ops@[2001:db8::1]:2200");
        assert_eq!((v6.host.as_str(), v6.port), ("2001:db8::1", 2200));
        assert_eq!(jump("ops@[::1]").port, 22);
        assert_eq!(v6.to_string(), "ops@[2001:db8::1]:2200");
        assert_eq!(jump(&v6.to_string()), v6);
        // A user with '@' in it (rare, but OpenSSH splits on the last one too).
        assert_eq!(jump("a@b@host").user, "a@b");
    }

    #[test]
    fn user_defaults_to_the_local_login() {
        let j = jump("bastion");
        assert!(!j.user.is_empty());
        assert_eq!((j.host.as_str(), j.port), ("bastion", 22));
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        for (input, needle) in [
            ("", "empty"),
            ("@host", "user"),
            ("u@", "host is empty"),
            ("u@host:", "port"),
            ("u@host:0", "port"),
            ("u@host:70000", "port"),
            ("u@host:ssh", "port"),
            ("u@2001:db8::1", "brackets"),
            ("u@[2001:db8::1", "closed"),
            ("u@[nothex]:22", "IPv6"),
            ("u@[::1]22", "':port'"),
            ("u@ho st", "spaces"),
            ("u@-oProxyCommand=x", "'-'"),
        ] {
            let err = Jump::parse(input).expect_err(input).to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn picks_first_ipv4_else_first_ipv6() {
        let a: Vec<IpAddr> = ["2001:db8::5", "192.0.2.9", "192.0.2.10"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(pick_address(a), Some("192.0.2.9".parse().unwrap()));
        let b: Vec<IpAddr> = ["2001:db8::5", "2001:db8::6"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(pick_address(b), Some("2001:db8::5".parse().unwrap()));
        assert_eq!(pick_address(Vec::new()), None);
    }

    #[test]
    fn target_defaults_to_port_22() {
        let t = Target::new("vm-1", "192.0.2.1".parse().unwrap(), "root");
        assert_eq!(t.addr.to_string(), "192.0.2.1:22");
        assert_eq!(t.with_port(2022).addr.port(), 2022);
    }
}
