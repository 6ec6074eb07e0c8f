//! An authenticated session on one VM: upload files and run the recipe, one `exec` channel per
//! command, exactly as `docs/RECIPES-SSH.md` says.
//!
//! Methods take `&self`, so a caller may upload and run on one session from several tasks; each
//! command has its own channel and nothing is held across commands.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{Handle, Msg};
use russh::{Channel, ChannelMsg, Disconnect, Sig};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::Error;
use crate::hostkeys::Pin;
use crate::hostkeys::Pinning;
use crate::recipe::{Tail, run_command, upload_command};
use crate::target::Target;

/// Longest stderr kept from a failed upload for its error message.
const MAX_UPLOAD_STDERR: usize = 2048;

/// An authenticated SSH session on a VM (through its jump host, if any).
pub struct Session {
    handle: Handle<Pinning>,
    /// The jump connection the session's transport runs over; kept alive with it.
    _jump: Option<Arc<Handle<Pinning>>>,
    target: Target,
    pin: Pin,
}

/// How a recipe run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The recipe's exit status, if it exited.
    pub exit_code: Option<u32>,
    /// The signal that killed it (`KILL`, `SEGV`, …), if one did.
    pub signal: Option<String>,
    /// It ran past its timeout and its channel was closed.
    pub timed_out: bool,
    /// The last lines of its stdout and stderr (at most [`crate::recipe::TAIL_LINES`]).
    pub last_lines: Vec<String>,
    /// From the `exec` request to the end (or the timeout).
    pub elapsed: Duration,
}

impl RunOutcome {
    /// Exited 0 in time.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// `Ok(self)` on success, else the error that says how it failed: [`Error::TimedOut`]
    /// (`timeout` is the limit that was set), [`Error::RecipeKilled`], [`Error::RecipeFailed`]
    /// or [`Error::RecipeLost`], each with the last output lines.
    pub fn into_result(self, timeout: Duration) -> Result<RunOutcome, Error> {
        if self.success() {
            return Ok(self);
        }
        let last_lines = self.last_lines;
        Err(if self.timed_out {
            Error::TimedOut {
                after: timeout,
                last_lines,
            }
        } else if let Some(signal) = self.signal {
            Error::RecipeKilled { signal, last_lines }
        } else if let Some(code) = self.exit_code {
            Error::RecipeFailed { code, last_lines }
        } else {
            Error::RecipeLost { last_lines }
        })
    }
}

impl Session {
    pub(crate) fn new(
        handle: Handle<Pinning>,
        jump: Option<Arc<Handle<Pinning>>>,
        target: Target,
        pin: Pin,
    ) -> Session {
        Session {
            handle,
            _jump: jump,
            target,
            pin,
        }
    }

    /// The VM this session is logged in to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The SHA256 fingerprint (`SHA256:…`) of the VM's host key.
    pub fn host_key_fingerprint(&self) -> &str {
        match &self.pin {
            Pin::Recorded(fp) | Pin::Known(fp) => fp,
        }
    }

    /// This connection was the run's first contact with the VM (its key was just recorded).
    pub fn first_contact(&self) -> bool {
        matches!(self.pin, Pin::Recorded(_))
    }

    /// Writes `bytes` to `~/.slipstream/NAME` on the VM (mode 0600 in a 0700 directory):
    /// `umask 077 && mkdir -p .slipstream && cat > .slipstream/NAME`, the bytes as the channel's
    /// data, then EOF. Succeeds when the command exits 0.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let command = upload_command(name)?;
        let failed = |reason: String| Error::Upload {
            name: name.to_string(),
            addr: self.target.addr.to_string(),
            reason,
        };
        let mut channel = self.open(&command).await?;
        channel
            .data(bytes)
            .await
            .map_err(|e| failed(format!("sending the file: {e}")))?;
        channel
            .eof()
            .await
            .map_err(|e| failed(format!("sending end of file: {e}")))?;
        let mut stderr = Vec::new();
        let mut status = None;
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::ExtendedData { data, .. } | ChannelMsg::Data { data } => {
                    let room = MAX_UPLOAD_STDERR.saturating_sub(stderr.len());
                    stderr.extend_from_slice(&data[..data.len().min(room)]);
                }
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::Failure => return Err(failed("sshd refused the command".into())),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        match status {
            Some(0) => Ok(()),
            Some(code) => Err(failed(format!(
                "exit status {code}: {}",
                String::from_utf8_lossy(&stderr).trim()
            ))),
            None => Err(failed("the channel closed without an exit status".into())),
        }
    }

    /// Runs the uploaded recipe: `cd .slipstream && env K='v'… sh recipe.sh`, with `env` in the
    /// order given (the caller puts `SLIPSTREAM_RUN_ID`, `SLIPSTREAM_NODE`, `SLIPSTREAM_INDEX`,
    /// `SLIPSTREAM_RUN_JSON` first).
    ///
    /// stdout and stderr are written to `sink` as they arrive (flushed per chunk). When
    /// `timeout` passes, the channel is asked to signal `TERM` to the recipe and is closed; the
    /// outcome then says `timed_out` and the call returns. Closing the channel does not stop
    /// the remote process: OpenSSH delivers the signal (to the whole process group) only for
    /// non-root logins and refuses it for root ("session signalling requires privilege
    /// separation"), so a timed-out recipe may keep running on the VM until the VM is
    /// deleted. A non-zero exit is not an `Err` here: see [`RunOutcome::into_result`].
    pub async fn run<W>(
        &self,
        env: &[(String, String)],
        timeout: Duration,
        sink: &mut W,
    ) -> Result<RunOutcome, Error>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let command = run_command(env)?;
        let started = Instant::now();
        let mut channel = self.open(&command).await?;
        let mut tail = Tail::default();
        let mut exit_code = None;
        let mut signal = None;
        let deadline = started + timeout;
        let timed_out = loop {
            let msg = match tokio::time::timeout_at(deadline, channel.wait()).await {
                Err(_) => break true,
                Ok(None) => break false,
                Ok(Some(msg)) => msg,
            };
            match msg {
                ChannelMsg::Data { data } => {
                    tail.feed(0, &data);
                    write(sink, &data).await?;
                }
                ChannelMsg::ExtendedData { data, .. } => {
                    tail.feed(1, &data);
                    write(sink, &data).await?;
                }
                ChannelMsg::ExitStatus { exit_status } => exit_code = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => signal = Some(sig_name(&signal_name)),
                ChannelMsg::Failure => {
                    return Err(Error::Session {
                        addr: self.target.addr.to_string(),
                        reason: "sshd refused to run the recipe command".into(),
                    });
                }
                ChannelMsg::Close => break false,
                _ => {}
            }
        };
        if timed_out {
            let _ = channel.signal(Sig::TERM).await;
            let _ = channel.close().await;
        }
        Ok(RunOutcome {
            exit_code,
            signal,
            timed_out,
            last_lines: tail.finish(),
            elapsed: started.elapsed(),
        })
    }

    /// Ends the session politely (the VM's sshd sees a clean disconnect). Dropping the session
    /// also ends it.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "done", "en")
            .await;
    }

    /// Opens a session channel and sends the one `exec` request it will carry.
    async fn open(&self, command: &str) -> Result<Channel<Msg>, Error> {
        let lost = |e: russh::Error| Error::Session {
            addr: self.target.addr.to_string(),
            reason: e.to_string(),
        };
        let channel = self.handle.channel_open_session().await.map_err(lost)?;
        channel.exec(true, command).await.map_err(lost)?;
        Ok(channel)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .field("host_key", &self.host_key_fingerprint())
            .field("through_jump", &self._jump.is_some())
            .finish()
    }
}

async fn write<W: AsyncWrite + Unpin + ?Sized>(sink: &mut W, data: &[u8]) -> Result<(), Error> {
    sink.write_all(data).await.map_err(Error::Sink)?;
    sink.flush().await.map_err(Error::Sink)
}

fn sig_name(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(exit_code: Option<u32>, signal: Option<&str>, timed_out: bool) -> RunOutcome {
        RunOutcome {
            exit_code,
            signal: signal.map(str::to_string),
            timed_out,
            last_lines: vec!["last".into()],
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn outcomes_map_to_the_right_errors() {
        let t = Duration::from_secs(60);
        assert!(outcome(Some(0), None, false).into_result(t).is_ok());
        assert!(matches!(
            outcome(Some(3), None, false).into_result(t),
            Err(Error::RecipeFailed { code: 3, .. })
        ));
        assert!(matches!(
            outcome(None, Some("KILL"), false).into_result(t),
            Err(Error::RecipeKilled { .. })
        ));
        assert!(matches!(
            outcome(None, None, true).into_result(t),
            Err(Error::TimedOut { after, .. }) if after == t
        ));
        assert!(matches!(
            outcome(None, None, false).into_result(t),
            Err(Error::RecipeLost { .. })
        ));
        // Exit 0 after the timeout still counts as a timeout.
        assert!(outcome(Some(0), None, true).into_result(t).is_err());
    }

    #[test]
    fn signal_names_are_bare() {
        assert_eq!(sig_name(&Sig::KILL), "KILL");
        assert_eq!(sig_name(&Sig::Custom("XCPU".into())), "XCPU");
    }
}
