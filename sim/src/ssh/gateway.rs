//! The SSH gateway: the cloud's bastion. Any user with any public key gets in; a
//! `direct-tcpip` channel to `<VM address>:22` is handed to that VM's emulated sshd when
//! it answers, and refused like a closed port ("connect failed: Connection refused")
//! otherwise.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelOpenFailure, MethodKind, MethodSet, SshId};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::records::{key_from_seed, new_key_seed};
use super::world::Refusal;
use crate::backend::Backend;

/// A bound gateway, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    backend: Backend,
}

impl Gateway {
    /// Binds `listen` (port 0 allowed). Its host key is made once and kept in the state.
    pub async fn bind(listen: SocketAddr, backend: Backend) -> anyhow::Result<Gateway> {
        let seed = backend
            .write(|c| {
                let orphans = c.ssh_kill_orphan_runs();
                if orphans > 0 {
                    tracing::info!(
                        "{orphans} recipe run(s) of a previous process recorded as killed"
                    );
                }
                Ok(c.state
                    .ssh
                    .gateway_key_seed
                    .get_or_insert_with(new_key_seed)
                    .clone())
            })
            .map_err(|e| anyhow::anyhow!("saving the gateway's host key: {e}"))?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("binding the SSH gateway to {listen}: {e}"))?;
        let config = Arc::new(russh::server::Config {
            server_id: SshId::Standard(Cow::Borrowed("SSH-2.0-okeanos-sim-gateway")),
            methods: MethodSet::from(&[MethodKind::PublicKey][..]),
            keys: vec![key_from_seed(&seed)?],
            auth_rejection_time: Duration::from_millis(20),
            auth_rejection_time_initial: Some(Duration::ZERO),
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        Ok(Gateway {
            listener,
            config,
            backend,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` flips to true, then disconnects every session.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut sessions = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                _ = shutdown.changed() => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
            };
            let (socket, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("SSH gateway: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let handler = GatewayHandler {
                backend: self.backend.clone(),
                peer,
            };
            let config = self.config.clone();
            let mut stop = shutdown.clone();
            sessions.spawn(async move {
                let mut session = match russh::server::run_stream(config, socket, handler).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!("SSH gateway: {peer}: {e}");
                        return;
                    }
                };
                let handle = session.handle();
                tokio::select! {
                    r = &mut session => {
                        if let Err(e) = r {
                            tracing::debug!("SSH gateway: {peer}: {e}");
                        }
                    }
                    _ = stop.changed() => {
                        let _ = handle
                            .disconnect(russh::Disconnect::ByApplication, "okeanos-sim is shutting down".into(), String::new())
                            .await;
                        let _ = tokio::time::timeout(Duration::from_secs(2), session).await;
                    }
                }
            });
        }
        drop(self.listener);
        while sessions.join_next().await.is_some() {}
    }
}

struct GatewayHandler {
    backend: Backend,
    peer: SocketAddr,
}

impl russh::server::Handler for GatewayHandler {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        _key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let target = self
            .backend
            .read(|c| c.ssh_target(host_to_connect, port_to_connect));
        match target {
            Ok(id) => {
                tracing::debug!(
                    "SSH gateway: {} → {host_to_connect}:{port_to_connect} (VM {id})",
                    self.peer
                );
                reply.accept().await;
                tokio::spawn(super::vm::serve(
                    self.backend.clone(),
                    id,
                    channel.into_stream(),
                ));
            }
            Err(why) => {
                let why = match why {
                    Refusal::BadAddress => "not an IP address",
                    Refusal::NoVm => "no VM has this address",
                    Refusal::Port => "only port 22 answers",
                    Refusal::NotActive => "the VM is not ACTIVE",
                    Refusal::Booting => "the VM is still booting",
                };
                tracing::debug!(
                    "SSH gateway: {} → {host_to_connect}:{port_to_connect} refused: {why}",
                    self.peer
                );
                reply
                    .reject(ChannelOpenFailure::Other {
                        code: ChannelOpenFailure::ConnectFailed.code(),
                        reason: "Connection refused".into(),
                    })
                    .await;
            }
        }
        Ok(())
    }
}
