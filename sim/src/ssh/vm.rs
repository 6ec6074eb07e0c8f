//! One VM's emulated sshd, run in-process over the gateway's `direct-tcpip` channel.
//!
//! It authenticates like sshd (publickey only, the keys personality wrote for the login
//! user) and understands the two commands of docs/RECIPES-SSH.md. Nothing is executed:
//! an upload is hashed and forgotten, a run is a timed script of output lines.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet, SshId};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

use super::commands::{self, Command};
use super::faults::Outcome;
use super::records::{hex, key_from_seed};
use super::world::{NoScript, StartedRun};
use crate::backend::Backend;

/// How often a connected session checks that its VM is still ACTIVE.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The sshd configuration of VM `id`: its host key, publickey only.
fn config(backend: &Backend, id: u64) -> anyhow::Result<Arc<russh::server::Config>> {
    let known = backend.read(|c| {
        c.state
            .ssh
            .vms
            .get(&id)
            .map(|v| v.host_key_seed.clone())
            .filter(|s| !s.is_empty())
    });
    let seed = match known {
        Some(s) => s,
        None => backend
            .write(|c| Ok(c.vm_host_key_seed(id)))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    Ok(Arc::new(russh::server::Config {
        server_id: SshId::Standard(Cow::Borrowed("SSH-2.0-okeanos-sim-vm-sshd")),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        keys: vec![key_from_seed(&seed)?],
        // An emulator needs no constant-time rejections; keep tests quick.
        auth_rejection_time: Duration::from_millis(20),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        inactivity_timeout: None,
        ..Default::default()
    }))
}

/// Runs VM `id`'s sshd over `stream` until the client leaves or the VM stops.
pub async fn serve<S>(backend: Backend, id: u64, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = match config(&backend, id) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("VM {id}: no host key: {e:#}");
            return;
        }
    };
    let handler = VmHandler {
        backend: backend.clone(),
        id,
        user: None,
        channels: HashMap::new(),
    };
    let mut session = match russh::server::run_stream(config, stream, handler).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("VM {id}: SSH session did not start: {e}");
            return;
        }
    };
    let handle = session.handle();
    loop {
        tokio::select! {
            r = &mut session => {
                if let Err(e) = r {
                    tracing::debug!("VM {id}: SSH session ended: {e}");
                }
                return;
            }
            _ = tokio::time::sleep(WATCH_EVERY) => {
                if !backend.read(|c| c.vm_is_active(id)) {
                    tracing::info!("VM {id} is no longer ACTIVE: its sshd goes away");
                    let _ = handle
                        .disconnect(russh::Disconnect::ByApplication, "the VM stopped".into(), String::new())
                        .await;
                    // The session ends with the disconnect; its handler drop kills runs.
                    let _ = tokio::time::timeout(Duration::from_secs(5), &mut session).await;
                    return;
                }
            }
        }
    }
}

/// What an open session channel is doing.
enum ChanState {
    /// Opened, no command yet.
    Idle,
    /// Receiving a file.
    Upload {
        name: String,
        hasher: Sha256,
        size: u64,
    },
    /// A run, stopped by sending (or dropping) this.
    Running(#[allow(dead_code)] oneshot::Sender<()>),
    /// Done (command answered).
    Done,
}

struct VmHandler {
    backend: Backend,
    id: u64,
    user: Option<String>,
    channels: HashMap<ChannelId, ChanState>,
}

impl VmHandler {
    fn authorizes(&self, user: &str, key: &PublicKey) -> bool {
        self.backend.read(|c| {
            c.state
                .ssh
                .vms
                .get(&self.id)
                .is_some_and(|v| v.authorizes(user, key))
        })
    }

    fn check(&self, user: &str, key: &PublicKey) -> Auth {
        if self.authorizes(user, key) {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }
}

/// Ends a command: stderr (if any), exit status, EOF, close.
fn finish(
    session: &mut Session,
    channel: ChannelId,
    stderr: &str,
    status: u32,
) -> Result<(), russh::Error> {
    if !stderr.is_empty() {
        session.extended_data(channel, 1, stderr.as_bytes().to_vec())?;
    }
    session.exit_status_request(channel, status)?;
    session.eof(channel)?;
    session.close(channel)
}

impl russh::server::Handler for VmHandler {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.check(user, offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let auth = self.check(user, key.public_key);
        if auth == Auth::Accept {
            self.user = Some(user.to_string());
        }
        Ok(auth)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The channel's own message queue is not read: everything comes to the handler.
        self.channels.insert(channel.id(), ChanState::Idle);
        drop(channel);
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(user), Some(ChanState::Idle)) = (self.user.clone(), self.channels.get(&channel))
        else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        match commands::parse(data) {
            Command::Upload { name } => {
                self.channels.insert(
                    channel,
                    ChanState::Upload {
                        name,
                        hasher: Sha256::new(),
                        size: 0,
                    },
                );
                Ok(())
            }
            Command::Run { script, env } => {
                let names = env.into_iter().map(|(k, _)| k).collect();
                let started = self
                    .backend
                    .write(|c| Ok(c.ssh_start_run(self.id, &user, &script, names)));
                match started {
                    Ok(Ok(run)) => {
                        let (tx, rx) = oneshot::channel();
                        self.channels.insert(channel, ChanState::Running(tx));
                        tokio::spawn(run_recipe(
                            self.backend.clone(),
                            self.id,
                            user,
                            script,
                            run,
                            session.handle(),
                            channel,
                            rx,
                        ));
                        Ok(())
                    }
                    Ok(Err(NoScript { message, status })) => {
                        self.channels.insert(channel, ChanState::Done);
                        finish(session, channel, &message, status)
                    }
                    Err(e) => {
                        self.channels.insert(channel, ChanState::Done);
                        finish(session, channel, &format!("okeanos-sim: {e}\n"), 1)
                    }
                }
            }
            Command::NotEmulated => {
                self.channels.insert(channel, ChanState::Done);
                finish(
                    session,
                    channel,
                    "sh: command not emulated by okeanos-sim\n",
                    127,
                )
            }
        }
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(ChanState::Upload { hasher, size, .. }) = self.channels.get_mut(&channel) {
            hasher.update(data);
            *size += data.len() as u64;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ChanState::Upload { .. }) = self.channels.get(&channel) else {
            return Ok(());
        };
        let Some(ChanState::Upload { name, hasher, size }) =
            self.channels.insert(channel, ChanState::Done)
        else {
            return Ok(());
        };
        let user = self.user.clone().unwrap_or_default();
        let sha = hex(&hasher.finalize());
        let stored = self.backend.write(|c| {
            c.ssh_store_file(self.id, &user, &name, size, sha);
            Ok(())
        });
        match stored {
            Ok(()) => finish(session, channel, "", 0),
            Err(e) => finish(session, channel, &format!("okeanos-sim: {e}\n"), 1),
        }
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(ChanState::Running(stop)) = self.channels.remove(&channel) {
            let _ = stop.send(());
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }
}

/// The emulated run: output lines spread over the recipe time, then the exit status,
/// or forever for a hang. Recorded before the client sees the exit status; recorded as
/// killed when the channel, the connection or the VM goes first.
#[allow(clippy::too_many_arguments)]
async fn run_recipe(
    backend: Backend,
    id: u64,
    user: String,
    script: String,
    run: StartedRun,
    handle: russh::server::Handle,
    channel: ChannelId,
    stop: oneshot::Receiver<()>,
) {
    let out = |text: String| {
        let handle = handle.clone();
        async move {
            let _ = handle.data(channel, text.into_bytes()).await;
        }
    };
    let err = |text: String| {
        let handle = handle.clone();
        async move {
            let _ = handle.extended_data(channel, 1, text.into_bytes()).await;
        }
    };
    let step = run.recipe_time / 3;
    let rule = run.rule.as_deref().unwrap_or("");
    let emulate = async {
        out(format!(
            "okeanos-sim: running {script} (sha256 {}) as {user} on VM '{}' (id {id})\n",
            run.sha256, run.vm_name
        ))
        .await;
        tokio::time::sleep(step).await;
        out("okeanos-sim: this is an emulated run: nothing is executed\n".into()).await;
        tokio::time::sleep(step).await;
        out("okeanos-sim: configuring…\n".into()).await;
        tokio::time::sleep(run.recipe_time.saturating_sub(step * 2)).await;
        match run.outcome {
            Outcome::Exit(0) => {
                out(format!("okeanos-sim: {script} done\n")).await;
                0
            }
            Outcome::Exit(code) => {
                err(format!(
                    "okeanos-sim: {script} fails with exit code {code} (fault rule '{rule}')\n"
                ))
                .await;
                code
            }
            Outcome::Hang => {
                err(format!(
                    "okeanos-sim: {script} hangs (fault rule '{rule}') until the channel is closed\n"
                ))
                .await;
                std::future::pending().await
            }
        }
    };
    let code = tokio::select! {
        code = emulate => Some(code),
        _ = stop => None,
    };
    let _ = backend.write(|c| {
        c.ssh_end_run(id, run.index, code.map(i32::from));
        Ok(())
    });
    if let Some(code) = code {
        let _ = handle.exit_status_request(channel, u32::from(code)).await;
        let _ = handle.eof(channel).await;
        let _ = handle.close(channel).await;
    }
}
