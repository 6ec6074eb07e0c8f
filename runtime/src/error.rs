//! Errors of a connector call, as the host's callers see them.

use crate::bindings::types;
use std::fmt;
use std::time::Duration;

/// The kind of a cloud error reported by a connector (the WIT `error` variant's cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    QuotaExceeded,
    Invalid,
    Unavailable,
    Unsupported,
    Transport,
    Protocol,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::QuotaExceeded => "quota-exceeded",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Transport => "transport",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// An error the connector returned (the cloud refused, or could not be reached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    pub kind: ErrorKind,
    pub message: String,
    /// How long the cloud asked to wait before trying again (`Retry-After` of a 503).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl From<types::Error> for CloudError {
    fn from(e: types::Error) -> Self {
        use types::Error as E;
        let (kind, message) = match e {
            E::Unauthorized(m) => (ErrorKind::Unauthorized, m),
            E::Forbidden(m) => (ErrorKind::Forbidden, m),
            E::NotFound(m) => (ErrorKind::NotFound, m),
            E::Conflict(m) => (ErrorKind::Conflict, m),
            E::QuotaExceeded(m) => (ErrorKind::QuotaExceeded, m),
            E::Invalid(m) => (ErrorKind::Invalid, m),
            E::Unavailable(u) => {
                return CloudError {
                    kind: ErrorKind::Unavailable,
                    message: u.message,
                    retry_after: u.retry_after_s.map(|s| Duration::from_secs(s.into())),
                };
            }
            E::Unsupported(m) => (ErrorKind::Unsupported, m),
            E::Transport(m) => (ErrorKind::Transport, m),
            E::Protocol(m) => (ErrorKind::Protocol, m),
        };
        CloudError {
            kind,
            message,
            retry_after: None,
        }
    }
}

/// Why a call into a connector failed. Everything but [`CallError::Cloud`] is the sandbox
/// stopping a misbehaving connector: the host itself keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    Cloud(CloudError),
    #[error("connector `{connector}` crashed in `{op}`: {message}")]
    Trap {
        connector: String,
        op: &'static str,
        message: String,
    },
    #[error(
        "connector `{connector}` did not finish `{op}` within {}; the cloud may be slow or unreachable (raise `call_timeout` in the connector's limits if it is just slow)",
        humantime::format_duration(*.limit)
    )]
    Timeout {
        connector: String,
        op: &'static str,
        limit: Duration,
    },
    #[error(
        "connector `{connector}` used more than its CPU budget of {} in `{op}` and was stopped (a loop in the connector? raise `cpu_time` in its limits if the work is legitimate)",
        humantime::format_duration(*.limit)
    )]
    CpuBudget {
        connector: String,
        op: &'static str,
        limit: Duration,
    },
    #[error(
        "connector `{connector}` tried to grow its memory beyond {} MiB in `{op}` and was stopped (raise `memory_mb` in its limits if it needs more)",
        .limit_bytes >> 20
    )]
    Memory {
        connector: String,
        op: &'static str,
        limit_bytes: usize,
    },
    #[error(
        "the host is at its limit for `{op}` on connector `{connector}`: {running} calls running and {queued} waiting (raise `max_instances` / `max_queued` under [engine]); try again in {}",
        humantime::format_duration(*.retry_after)
    )]
    Busy {
        connector: String,
        op: &'static str,
        running: usize,
        queued: usize,
        retry_after: Duration,
    },
    #[error("connector `{connector}` could not be started for `{op}`: {message}")]
    Instantiate {
        connector: String,
        op: &'static str,
        message: String,
    },
}

impl CallError {
    /// The cloud error's kind, if this is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            CallError::Cloud(e) => Some(e.kind),
            _ => None,
        }
    }

    /// A short label for metrics and JSON: the cloud error kind or the sandbox reason.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Cloud(e) => e.kind.as_str(),
            CallError::Trap { .. } => "trap",
            CallError::Timeout { .. } => "timeout",
            CallError::CpuBudget { .. } => "cpu-budget",
            CallError::Memory { .. } => "memory",
            CallError::Instantiate { .. } => "instantiate",
            CallError::Busy { .. } => "busy",
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind() == Some(ErrorKind::NotFound)
    }
}
