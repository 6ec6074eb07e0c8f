//! One error type for the whole crate.
//!
//! Every message names the thing that failed (address, user, VM, jump host) and, where the user
//! can act, what to check. No message ever contains key material: keys appear only as their
//! SHA256 fingerprints.

use std::time::Duration;

/// What can go wrong reaching a VM over SSH or running a recipe there.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `[ssh] jump` setting could not be parsed.
    #[error(
        "invalid jump host {input:?}: {reason} (expected user@host:port, e.g. \
         admin@bastion.example.org:22 or admin@[2001:db8::1]:2222)"
    )]
    BadJump { input: String, reason: String },

    /// A value handed to the crate does not fit the wire contract (a file name, an env name, a
    /// run id). This is a bug or a bad setting on the caller's side, never a remote failure.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    /// The VM's sshd never answered before the caller's deadline.
    #[error(
        "{addr} did not answer SSH within {}s (last attempt: {last}); check that the VM \
         is running and reachable on that port (firewall, network, or a longer boot)",
        waited.as_secs()
    )]
    Unreachable {
        addr: String,
        waited: Duration,
        last: String,
    },

    /// The VM's sshd answered but refused the run key for this user, even after the few
    /// retries allowed for keys that arrive late in boot.
    #[error(
        "SSH authentication refused for user {user:?} at {addr}: the run's key is not in \
         that user's authorized_keys; check recipe_user names a user of the image"
    )]
    AuthRefused { user: String, addr: String },

    /// The VM presented a different host key than at first contact within this run.
    #[error(
        "host key of {vm} changed within this run: first {expected}, now {got}; refusing \
         to talk to it (another machine may answer on its address)"
    )]
    HostKeyChanged {
        vm: String,
        expected: String,
        got: String,
    },

    /// The jump host could not be reached (or its SSH handshake failed) before the deadline.
    #[error("jump host {jump} unreachable: {reason}; check the [ssh] jump setting and the network")]
    JumpUnreachable { jump: String, reason: String },

    /// The jump host refused every key offered (the ssh-agent's keys, then the run key).
    #[error(
        "jump host {jump} refused authentication for user {user:?} with the ssh-agent's \
         keys{agent_note} and the run key; load a key it accepts into your ssh-agent"
    )]
    JumpAuthRefused {
        jump: String,
        user: String,
        /// Why the agent's keys were not tried, if they were not (" (no SSH_AUTH_SOCK)").
        agent_note: String,
    },

    /// The jump host will not forward to the VM at all (`AllowTcpForwarding no` or similar).
    #[error(
        "jump host {jump} does not allow forwarding to {target} ({reason}); \
         it must permit TCP forwarding (direct-tcpip)"
    )]
    JumpForwardingRefused {
        jump: String,
        target: String,
        reason: String,
    },

    /// The recipe exited with a non-zero status.
    #[error("recipe exited with status {code}{}", tail(last_lines))]
    RecipeFailed { code: u32, last_lines: Vec<String> },

    /// The recipe was killed by a signal on the VM.
    #[error("recipe was killed by signal {signal}{}", tail(last_lines))]
    RecipeKilled {
        signal: String,
        last_lines: Vec<String>,
    },

    /// The recipe's channel closed without an exit status (sshd or the VM went away).
    #[error(
        "recipe ended without an exit status (connection lost){}",
        tail(last_lines)
    )]
    RecipeLost { last_lines: Vec<String> },

    /// The recipe ran past its timeout; its channel was closed.
    #[error(
        "recipe timed out after {}s and its session was closed; raise recipe_timeout if it \
         needs longer{}",
        after.as_secs(), tail(last_lines)
    )]
    TimedOut {
        after: Duration,
        last_lines: Vec<String>,
    },

    /// Uploading a file to the VM failed.
    #[error("upload of {name} to {addr} failed: {reason}")]
    Upload {
        name: String,
        addr: String,
        reason: String,
    },

    /// An established session failed (channel refused, connection dropped).
    #[error("SSH session with {addr} failed: {reason}")]
    Session { addr: String, reason: String },

    /// Generating, saving or loading the run key failed (never shows the key itself).
    #[error("run key: {0}")]
    Key(String),

    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// Writing the recipe's output to the caller's sink failed.
    #[error("writing recipe output: {0}")]
    Sink(#[source] std::io::Error),
}

/// Formats a recipe's last output lines after its error message, indented, or nothing.
fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("; last output lines:");
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_failure_shows_code_and_lines() {
        let e = Error::RecipeFailed {
            code: 3,
            last_lines: vec!["installing".into(), "boom".into()],
        };
        assert_eq!(
            e.to_string(),
            "recipe exited with status 3; last output lines:\n    installing\n    boom"
        );
        let e = Error::RecipeFailed {
            code: 1,
            last_lines: vec![],
        };
        assert_eq!(e.to_string(), "recipe exited with status 1");
    }

    #[test]
    fn auth_refused_names_user_and_address() {
        let e = Error::AuthRefused {
            user: "ubuntu".into(),
            addr: "192.0.2.7:22".into(),
        };
        let s = e.to_string();
        assert!(
            s.contains("\"ubuntu\"") && s.contains("192.0.2.7:22"),
            "{s}"
        );
    }
}
