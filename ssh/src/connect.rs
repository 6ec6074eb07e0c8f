//! Opening an authenticated session to a VM: directly, or through a jump host like OpenSSH's
//! `ProxyJump`, with a bounded wait for the VM's sshd.
//!
//! A VM is ACTIVE in the cloud well before its sshd answers, so the first attempts are expected
//! to fail: connection refused or reset, a jump host that cannot reach the VM yet (channel open
//! failure), or a handshake cut short. Those are retried with exponential back-off and jitter
//! (so many VMs booting together do not retry in lock-step) until the caller's deadline. A
//! refused key is different: it is retried only a few times, since keys written during boot may
//! land just after sshd starts, and then reported naming the user.
//!
//! Every connection is independent (its own TCP connection, and its own jump connection), so
//! the caller's concurrency limit is the only limit; nothing here serializes sessions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::{ChannelOpenFailure, client::AuthResult};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Error;
use crate::hostkeys::{HandshakeError, HostKeys, Pin, Pinning};
use crate::key::RunKey;
use crate::session::Session;
use crate::target::{Jump, Target};

/// How many times a refused key is tried before [`Error::AuthRefused`].
pub const DEFAULT_AUTH_ATTEMPTS: u32 = 3;
/// The longest one attempt (TCP connect, handshake, authentication) may take.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// First pause between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Opens sessions for one run: the run key, the run's host-key pins, the jump host if any.
/// Cheap to clone; clones share the pins.
#[derive(Debug, Clone)]
pub struct Connector {
    key: RunKey,
    host_keys: HostKeys,
    jump: Option<Jump>,
    agent_socket: Option<PathBuf>,
    auth_attempts: u32,
    attempt_timeout: Duration,
    config: Arc<client::Config>,
}

impl Connector {
    /// A connector for a run. The ssh-agent (used only for the jump host) is the one named by
    /// `SSH_AUTH_SOCK`, if set.
    pub fn new(key: RunKey, host_keys: HostKeys) -> Connector {
        let config = client::Config {
            // Notice a VM or network that died mid-recipe within about a minute, even when the
            // recipe prints nothing for a long time.
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 4,
            nodelay: true,
            ..Default::default()
        };
        Connector {
            key,
            host_keys,
            jump: None,
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            auth_attempts: DEFAULT_AUTH_ATTEMPTS,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            config: Arc::new(config),
        }
    }

    /// Reach VMs through this jump host (or directly with `None`).
    pub fn with_jump(mut self, jump: Option<Jump>) -> Connector {
        self.jump = jump;
        self
    }

    /// Use this ssh-agent socket for the jump host instead of `SSH_AUTH_SOCK` (`None`: no agent).
    pub fn with_agent_socket(mut self, socket: Option<PathBuf>) -> Connector {
        self.agent_socket = socket;
        self
    }

    /// How many times a refused key is tried before giving up (at least 1).
    pub fn with_auth_attempts(mut self, attempts: u32) -> Connector {
        self.auth_attempts = attempts.max(1);
        self
    }

    /// The longest one connection attempt may take before it counts as "not yet".
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Connector {
        self.attempt_timeout = timeout;
        self
    }

    /// The run's host-key pins (VM id → fingerprint).
    pub fn host_keys(&self) -> &HostKeys {
        &self.host_keys
    }

    /// The jump host, if any.
    pub fn jump(&self) -> Option<&Jump> {
        self.jump.as_ref()
    }

    /// Opens an authenticated session as `target.user` on `target.addr`, retrying "not yet"
    /// failures until `deadline`.
    ///
    /// Errors: [`Error::Unreachable`] (the VM never answered; with the last reason),
    /// [`Error::AuthRefused`], [`Error::HostKeyChanged`], and with a jump host
    /// [`Error::JumpUnreachable`], [`Error::JumpAuthRefused`], [`Error::JumpForwardingRefused`].
    pub async fn connect(&self, target: &Target, deadline: Instant) -> Result<Session, Error> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut jump_conn: Option<Arc<Handle<Pinning>>> = None;
        let mut auth_refusals = 0;
        let mut last = Failure::NotYet("no attempt was made before the deadline".into());
        // Shared by the attempts of this call, so a key recorded by an attempt that then failed
        // still makes the session the first contact.
        let seen = Arc::new(Mutex::new(None));
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(self.gave_up(target, started, last));
            }
            let attempt_deadline = deadline.min(now + self.attempt_timeout);
            let attempt = self.attempt(target, &mut jump_conn, &seen);
            last = match tokio::time::timeout_at(attempt_deadline, attempt).await {
                Ok(Ok(session)) => return Ok(session),
                Ok(Err(Failure::Fatal(e))) => return Err(e),
                Ok(Err(Failure::AuthRefused)) => {
                    auth_refusals += 1;
                    if auth_refusals >= self.auth_attempts {
                        return Err(Error::AuthRefused {
                            user: target.user.clone(),
                            addr: target.addr.to_string(),
                        });
                    }
                    Failure::AuthRefused
                }
                Ok(Err(other)) => other,
                Err(_) => {
                    let reason =
                        format!("no answer within {}s", (attempt_deadline - now).as_secs());
                    // Stuck before the jump connection was up: the jump host is the one silent.
                    let at_jump = self.jump.as_ref().filter(|_| jump_conn.is_none());
                    // A stuck jump connection must not be reused.
                    jump_conn = None;
                    match at_jump {
                        Some(jump) => Failure::JumpNotYet(format!("{jump}: {reason}")),
                        None => Failure::NotYet(reason),
                    }
                }
            };
            if matches!(last, Failure::JumpNotYet(_)) {
                jump_conn = None;
            }
            tracing::debug!(vm = %target.vm_id, addr = %target.addr, reason = %last.reason(),
                "SSH not ready yet");
            let pause = jittered(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
            tokio::time::sleep_until(deadline.min(Instant::now() + pause)).await;
        }
    }

    fn gave_up(&self, target: &Target, started: Instant, last: Failure) -> Error {
        match (last, &self.jump) {
            (Failure::JumpNotYet(reason), Some(jump)) => Error::JumpUnreachable {
                jump: jump.to_string(),
                reason: format!("{reason} (gave up after {}s)", started.elapsed().as_secs()),
            },
            (Failure::AuthRefused, _) => Error::AuthRefused {
                user: target.user.clone(),
                addr: target.addr.to_string(),
            },
            (last, _) => Error::Unreachable {
                addr: target.addr.to_string(),
                waited: started.elapsed(),
                last: last.reason(),
            },
        }
    }

    /// One try: reach the VM's sshd, pin its host key, authenticate with the run key.
    async fn attempt(
        &self,
        target: &Target,
        jump_conn: &mut Option<Arc<Handle<Pinning>>>,
        seen: &Arc<Mutex<Option<Pin>>>,
    ) -> Result<Session, Failure> {
        let addr = target.addr;
        let pinning = Pinning {
            id: target.vm_id.clone(),
            host_keys: self.host_keys.clone(),
            seen: seen.clone(),
        };
        let (mut handle, jump_handle) = match &self.jump {
            None => {
                let tcp = TcpStream::connect(addr)
                    .await
                    .map_err(|e| Failure::NotYet(format!("{addr}: {e}")))?;
                let _ = tcp.set_nodelay(true);
                let h = client::connect_stream(self.config.clone(), tcp, pinning)
                    .await
                    .map_err(|e| handshake_failure(e, &addr.to_string()))?;
                (h, None)
            }
            Some(jump) => {
                let jh = match jump_conn.as_ref().filter(|h| !h.is_closed()) {
                    Some(h) => h.clone(),
                    None => {
                        let h = Arc::new(self.connect_jump(jump).await?);
                        *jump_conn = Some(h.clone());
                        h
                    }
                };
                let channel = jh
                    .channel_open_direct_tcpip(
                        addr.ip().to_string(),
                        addr.port().into(),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| match e {
                        russh::Error::ChannelOpenFailure(
                            why @ (ChannelOpenFailure::AdministrativelyProhibited
                            | ChannelOpenFailure::UnknownChannelType),
                        ) => Failure::Fatal(Error::JumpForwardingRefused {
                            jump: jump.to_string(),
                            target: addr.to_string(),
                            reason: format!("{why:?}"),
                        }),
                        russh::Error::ChannelOpenFailure(why) => Failure::NotYet(format!(
                            "jump host {jump} could not connect to {addr} ({})",
                            open_failure_text(&why)
                        )),
                        other => Failure::JumpNotYet(format!("connection to {jump} lost: {other}")),
                    })?;
                let h = client::connect_stream(self.config.clone(), channel.into_stream(), pinning)
                    .await
                    .map_err(|e| handshake_failure(e, &format!("{addr} (through {jump})")))?;
                (h, Some(jh))
            }
        };
        let key = PrivateKeyWithHashAlg::new(self.key.private(), None);
        match handle
            .authenticate_publickey(target.user.clone(), key)
            .await
        {
            Ok(AuthResult::Success) => {}
            Ok(AuthResult::Failure { .. }) => return Err(Failure::AuthRefused),
            Err(e) => {
                return Err(Failure::NotYet(format!(
                    "{addr}: during authentication: {e}"
                )));
            }
        }
        let pin = seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .expect("the host key is checked before authentication");
        if let Pin::Recorded(fp) = &pin {
            tracing::info!(vm = %target.vm_id, addr = %addr, fingerprint = %fp,
                "recorded the VM's SSH host key");
        }
        Ok(Session::new(handle, jump_handle, target.clone(), pin))
    }

    /// Connects and authenticates to the jump host: the ssh-agent's keys first, then the run key.
    async fn connect_jump(&self, jump: &Jump) -> Result<Handle<Pinning>, Failure> {
        let not_yet = |e: &dyn std::fmt::Display| Failure::JumpNotYet(format!("{jump}: {e}"));
        let tcp = TcpStream::connect((jump.host.as_str(), jump.port))
            .await
            .map_err(|e| not_yet(&e))?;
        let _ = tcp.set_nodelay(true);
        let pin_id = format!("jump host {}:{}", jump.host, jump.port);
        let mut handle = client::connect_stream(
            self.config.clone(),
            tcp,
            Pinning::new(&pin_id, &self.host_keys),
        )
        .await
        .map_err(|e| match e {
            HandshakeError::Pin(e) => Failure::Fatal(e),
            HandshakeError::Ssh(e) => not_yet(&e),
        })?;

        let agent_note = match &self.agent_socket {
            None => " (none: SSH_AUTH_SOCK is not set)".to_string(),
            Some(path) => match self.try_agent(&mut handle, jump, path).await {
                Ok(true) => return Ok(handle),
                Ok(false) => String::new(),
                Err(note) => note,
            },
        };
        let key = PrivateKeyWithHashAlg::new(self.key.private(), None);
        match handle.authenticate_publickey(jump.user.clone(), key).await {
            Ok(AuthResult::Success) => Ok(handle),
            Ok(AuthResult::Failure { .. }) => Err(Failure::Fatal(Error::JumpAuthRefused {
                jump: jump.to_string(),
                user: jump.user.clone(),
                agent_note,
            })),
            Err(e) => Err(not_yet(&e)),
        }
    }

    /// Offers each key of the ssh-agent at `path` to the jump host. `Ok(true)`: one was
    /// accepted; `Err(note)`: the agent could not be used, and why (for the error message).
    async fn try_agent(
        &self,
        handle: &mut Handle<Pinning>,
        jump: &Jump,
        path: &std::path::Path,
    ) -> Result<bool, String> {
        let mut agent = AgentClient::connect_uds(path)
            .await
            .map_err(|e| format!(" (none: ssh-agent at {} unusable: {e})", path.display()))?;
        let identities = agent
            .request_identities()
            .await
            .map_err(|e| format!(" (none: ssh-agent did not list its keys: {e})"))?;
        if identities.is_empty() {
            return Err(" (none: the ssh-agent holds no keys)".to_string());
        }
        for identity in identities {
            // Certificates are not offered: the contract only uses plain public keys.
            let AgentIdentity::PublicKey { key, .. } = identity else {
                continue;
            };
            let hash_alg = if key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .ok()
                    .flatten()
                    .flatten()
            } else {
                None
            };
            match handle
                .authenticate_publickey_with(jump.user.clone(), key, hash_alg, &mut agent)
                .await
            {
                Ok(AuthResult::Success) => return Ok(true),
                Ok(AuthResult::Failure { .. }) => {}
                // The agent declined to sign (e.g. a confirm-only key): try the next one.
                Err(e) => tracing::debug!(jump = %jump, "ssh-agent did not sign: {e}"),
            }
        }
        Ok(false)
    }
}

/// Why one attempt failed.
enum Failure {
    /// The VM's sshd is not answering yet: retry.
    NotYet(String),
    /// The jump host itself failed: drop its connection and retry.
    JumpNotYet(String),
    /// The key was refused: retry a few times only.
    AuthRefused,
    /// Retrying cannot help.
    Fatal(Error),
}

impl Failure {
    fn reason(&self) -> String {
        match self {
            Failure::NotYet(r) | Failure::JumpNotYet(r) => r.clone(),
            Failure::AuthRefused => "the key was refused".to_string(),
            Failure::Fatal(e) => e.to_string(),
        }
    }
}

fn handshake_failure(e: HandshakeError, addr: &str) -> Failure {
    match e {
        HandshakeError::Pin(e) => Failure::Fatal(e),
        HandshakeError::Ssh(e @ russh::Error::NoCommonAlgo { .. }) => {
            Failure::Fatal(Error::Session {
                addr: addr.to_string(),
                reason: e.to_string(),
            })
        }
        HandshakeError::Ssh(e) => Failure::NotYet(format!("{addr}: {}", handshake_text(&e))),
    }
}

/// Words a handshake error; "Disconnected" alone says little about what happened.
fn handshake_text(e: &russh::Error) -> String {
    match e {
        russh::Error::Disconnect | russh::Error::HUP => {
            "the connection closed during the SSH handshake".to_string()
        }
        other => other.to_string(),
    }
}

fn open_failure_text(why: &ChannelOpenFailure) -> String {
    match why {
        ChannelOpenFailure::ConnectFailed => "connect failed".to_string(),
        ChannelOpenFailure::ResourceShortage => "resource shortage".to_string(),
        other => format!("{other:?}"),
    }
}

/// `base` ± 25 %, so VMs booting together spread their retries.
fn jittered(base: Duration) -> Duration {
    let factor = 0.75 + rand::random::<f64>() * 0.5;
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(750) && d <= Duration::from_millis(1250));
        }
    }
}
