//! The SSH gateway and the VMs' emulated sshd (docs/RECIPES-SSH.md), driven with russh's
//! client exactly as the host drives them: through the gateway as a jump host, a
//! `direct-tcpip` channel to the VM's address, the VM's SSH session over that channel.

mod sim_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use parking_lot::Mutex;
use rand::RngCore;
use russh::client::{self, AuthResult};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelOpenFailure};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sim_support::{Sim, VLMC};

use okeanos_sim::SimConfig;

const RECIPE: &[u8] = b"#!/bin/sh\necho configuring\ntouch /tmp/okeanos-sim-must-never-run\n";
const SECRET: &str = "s3cr3t-value-never-recorded";

fn new_key() -> PrivateKey {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    PrivateKey::from(Ed25519Keypair::from_seed(&seed))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A simulator with the gateway on a free port, quick builds and recipes.
async fn sim(boot: Duration) -> Sim {
    sim_with(SimConfig {
        timings: sim_support::quick(),
        ssh_listen: Some("127.0.0.1:0".parse().unwrap()),
        ssh_boot_time: boot,
        recipe_time: Duration::from_millis(400),
        ..Default::default()
    })
    .await
}

async fn sim_with(config: SimConfig) -> Sim {
    Sim::with(config).await
}

/// Personality that authorizes `key` for root and for `user`, as the connector writes it.
fn personality(key: &PrivateKey) -> Value {
    let line = format!(
        "{} slipstream-run-test\n",
        key.public_key().to_openssh().unwrap()
    );
    json!([
        {"path": "/root/.ssh/authorized_keys", "contents": b64(&line)},
        {"path": "/home/user/.ssh/authorized_keys", "contents": b64(&line)},
        {"path": "/etc/motd", "contents": b64("hello\n")},
    ])
}

/// Creates an ACTIVE server whose personality authorizes `key`; returns id and IPv4.
async fn vm(s: &Sim, name: &str, image: &str, key: &PrivateKey) -> (u64, String) {
    let r = s
        .post(
            "/compute/v2.0/servers",
            json!({"server": {"name": name, "imageRef": image, "flavorRef": VLMC,
                "personality": personality(key)}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text);
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    (id, address(&srv, 4))
}

fn address(server: &Value, version: u64) -> String {
    server["addresses"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap())
        .find(|a| a["version"] == version)
        .unwrap_or_else(|| panic!("no IPv{version} address in {server}"))["addr"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn recipes(s: &Sim, id: u64) -> Value {
    let r = s.get(&format!("/_sim/servers/{id}/recipes")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.json()
}

/// Polls the records of `id` until `pred` holds (generous deadline).
async fn wait_recipes(s: &Sim, id: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = recipes(s, id).await;
        if pred(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out; last records {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client that accepts and remembers the server's host key.
#[derive(Clone, Default)]
struct Client {
    host_key: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let PublicKeyOrCertificate::PublicKey { key, .. } = key {
            *self.host_key.lock() = Some(key.clone());
        }
        Ok(true)
    }
}

fn client_config() -> Arc<client::Config> {
    Arc::new(client::Config {
        inactivity_timeout: None,
        ..Default::default()
    })
}

async fn auth(h: &mut client::Handle<Client>, user: &str, key: &PrivateKey) -> AuthResult {
    h.authenticate_publickey(
        user,
        PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None),
    )
    .await
    .expect("authentication exchange")
}

/// Connects to the gateway as any user with any key.
async fn gateway(s: &Sim) -> client::Handle<Client> {
    let addr = s.sim.ssh_addr().expect("gateway address");
    let mut h = client::connect(client_config(), addr, Client::default())
        .await
        .expect("connect to the gateway");
    let r = auth(&mut h, "jumper", &new_key()).await;
    assert!(r.success(), "the gateway lets any key in: {r:?}");
    h
}

/// Opens `ip:22` through the gateway and starts the VM's SSH session over it.
async fn jump(
    gw: &client::Handle<Client>,
    ip: &str,
) -> Result<(client::Handle<Client>, PublicKey), russh::Error> {
    let ch = gw
        .channel_open_direct_tcpip(ip, 22, "127.0.0.1", 40000)
        .await?;
    let c = Client::default();
    let h = client::connect_stream(client_config(), ch.into_stream(), c.clone()).await?;
    let key = c.host_key.lock().clone().expect("host key seen");
    Ok((h, key))
}

/// A VM session authenticated as `user`.
async fn login(
    gw: &client::Handle<Client>,
    ip: &str,
    user: &str,
    key: &PrivateKey,
) -> client::Handle<Client> {
    let (mut h, _) = jump(gw, ip).await.expect("jump to the VM");
    let r = auth(&mut h, user, key).await;
    assert!(r.success(), "{user} with the run key: {r:?}");
    h
}

fn assert_refused(r: Result<impl Sized, russh::Error>) {
    match r {
        Err(russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed)) => {}
        Err(e) => panic!("expected connect failed, got {e:?}"),
        Ok(_) => panic!("expected connect failed, the channel opened"),
    }
}

#[derive(Debug, Default)]
struct Exec {
    status: Option<u32>,
    stdout: String,
    stderr: String,
}

/// Runs one command (with `stdin` sent then EOF) to its end.
async fn exec(h: &client::Handle<Client>, command: &str, stdin: Option<&[u8]>) -> Exec {
    let mut ch = h.channel_open_session().await.expect("session channel");
    ch.exec(true, command).await.expect("exec");
    if let Some(data) = stdin {
        ch.data(data).await.expect("stdin");
        ch.eof().await.expect("eof");
    }
    let mut out = Exec::default();
    let deadline = Duration::from_secs(30);
    while let Some(msg) = tokio::time::timeout(deadline, ch.wait())
        .await
        .expect("command ends")
    {
        match msg {
            ChannelMsg::Data { data } => out.stdout.push_str(&String::from_utf8_lossy(&data)),
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                out.stderr.push_str(&String::from_utf8_lossy(&data))
            }
            ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
            _ => {}
        }
    }
    out
}

fn run_command(extra: &str) -> String {
    format!(
        "cd .slipstream && env SLIPSTREAM_RUN_ID='run-1' SLIPSTREAM_NODE='web' SLIPSTREAM_INDEX='1' SLIPSTREAM_RUN_JSON='run.json' {extra}sh recipe.sh"
    )
}

const UPLOAD: &str = "umask 077 && mkdir -p .slipstream && cat > .slipstream/";

async fn upload(h: &client::Handle<Client>, name: &str, bytes: &[u8]) {
    let r = exec(h, &format!("{UPLOAD}{name}"), Some(bytes)).await;
    assert_eq!(r.status, Some(0), "upload {name}: {r:?}");
}

#[tokio::test]
async fn the_gateway_refuses_until_the_vm_has_booted() {
    let s = sim(Duration::from_secs(3600)).await;
    let key = new_key();
    let (id, ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    assert_refused(jump(&gw, &ip).await);
    assert_refused(jump(&gw, "10.250.250.250").await);
    assert_refused(jump(&gw, "not-an-address").await);
    // A real boot time passes, measured from when the VM became ACTIVE.
    s.sim
        .backend()
        .set_ssh_times(Duration::from_millis(1500), Duration::from_millis(300));
    let active = Instant::now();
    let deadline = active + Duration::from_secs(60);
    loop {
        match jump(&gw, &ip).await {
            Ok(_) => break,
            Err(russh::Error::ChannelOpenFailure(ChannelOpenFailure::ConnectFailed)) => {
                assert!(Instant::now() < deadline, "the VM never answered");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let since: chrono::DateTime<chrono::Utc> = s
        .sim
        .backend()
        .read(|c| c.state.ssh.vms[&id].active_since.expect("active since"));
    assert!(
        chrono::Utc::now() - since >= chrono::TimeDelta::milliseconds(1500),
        "answered before the boot time"
    );
    // Only port 22 answers.
    assert_refused(
        gw.channel_open_direct_tcpip(ip.as_str(), 80, "127.0.0.1", 1)
            .await,
    );
}

#[tokio::test]
async fn the_vm_sshd_accepts_only_the_personality_keys_for_their_users() {
    let s = sim(Duration::ZERO).await;
    let key = new_key();
    let (id, ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let srv = s.wait_server(id, "ACTIVE").await;
    let gw = gateway(&s).await;

    let (mut h, host_key) = jump(&gw, &ip).await.expect("jump");
    let wrong = auth(&mut h, "root", &new_key()).await;
    assert!(
        matches!(
            wrong,
            AuthResult::Failure {
                partial_success: false,
                ..
            }
        ),
        "a key not in authorized_keys is refused: {wrong:?}"
    );
    let nobody = auth(&mut h, "nobody", &key).await;
    assert!(
        !nobody.success(),
        "a user without authorized_keys is refused"
    );
    let motd = auth(&mut h, "motd", &key).await;
    assert!(!motd.success(), "only authorized_keys paths count");
    assert!(auth(&mut h, "root", &key).await.success());

    // Same key as the non-root user of /home/user, over the VM's IPv6 address too.
    let (mut h6, host_key6) = jump(&gw, &address(&srv, 6)).await.expect("jump over IPv6");
    assert!(auth(&mut h6, "user", &key).await.success());

    // One host key per VM, stable across connections, shown by the admin API.
    assert_eq!(host_key, host_key6);
    let (_, again) = jump(&gw, &ip).await.unwrap();
    assert_eq!(host_key, again);
    let v = recipes(&s, id).await;
    assert_eq!(
        v["host_key_fingerprint"],
        host_key.fingerprint(HashAlg::Sha256).to_string()
    );
    assert_eq!(v["users"], json!(["root", "user"]));
    let (other, _) = vm(&s, "web-2", sim_support::UBUNTU, &key).await;
    assert_ne!(
        recipes(&s, other).await["host_key_fingerprint"],
        v["host_key_fingerprint"]
    );
}

#[tokio::test]
async fn upload_and_run_are_emulated_and_recorded() {
    let s = sim(Duration::ZERO).await;
    let key = new_key();
    let (id, ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    let h = login(&gw, &ip, "user", &key).await;

    // Before any upload, the run fails like sh does, and nothing is recorded.
    let r = exec(&h, &run_command(""), None).await;
    assert_eq!(r.status, Some(2), "{r:?}");
    assert!(r.stderr.contains("can't cd to .slipstream"), "{r:?}");

    upload(&h, "run.json", br#"{"nodes": {}}"#).await;
    let r = exec(&h, &run_command(""), None).await;
    assert_eq!(r.status, Some(2), "{r:?}");
    assert!(r.stderr.contains("cannot open recipe.sh"), "{r:?}");

    upload(&h, "recipe.sh", RECIPE).await;
    let started = Instant::now();
    let r = exec(
        &h,
        &run_command(&format!("DB_PASSWORD='{SECRET}' Q='it'\\''s' ")),
        None,
    )
    .await;
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "takes the recipe time"
    );
    let sha = sha256_hex(RECIPE);
    assert!(
        r.stdout
            .contains(&format!("running recipe.sh (sha256 {sha}) as user")),
        "{r:?}"
    );
    assert!(r.stdout.lines().count() >= 3, "{r:?}");
    assert!(!std::path::Path::new("/tmp/okeanos-sim-must-never-run").exists());

    let v = recipes(&s, id).await;
    let recs = v["recipes"].as_array().unwrap();
    assert_eq!(recs.len(), 1, "{v}");
    let rec = &recs[0];
    assert_eq!(rec["user"], "user");
    assert_eq!(rec["script"], "recipe.sh");
    assert_eq!(rec["sha256"], sha.as_str());
    assert_eq!(rec["exit_code"], 0);
    assert_eq!(rec["status"], "exited");
    assert_eq!(rec["server_id"], id);
    assert_eq!(rec["server_name"], "web-1");
    assert_eq!(
        rec["env"],
        json!([
            "SLIPSTREAM_RUN_ID",
            "SLIPSTREAM_NODE",
            "SLIPSTREAM_INDEX",
            "SLIPSTREAM_RUN_JSON",
            "DB_PASSWORD",
            "Q"
        ])
    );
    assert!(rec["finished"].as_str().unwrap() >= rec["started"].as_str().unwrap());
    assert_eq!(v["inherited"], json!([]));
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{v}");
    assert!(files.iter().any(|f| f["name"] == "recipe.sh"
        && f["sha256"] == sha.as_str()
        && f["size"] == RECIPE.len()
        && f["user"] == "user"));
    let state = s.get("/_sim/state").await.text;
    assert!(!state.contains(SECRET), "env values are never kept");
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        state["ssh"]["vms"][id.to_string()]["host_key_seed"],
        "(redacted)",
        "the state view shows no private host key"
    );

    // Files are per user: root has none.
    let root = login(&gw, &ip, "root", &key).await;
    assert_eq!(exec(&root, &run_command(""), None).await.status, Some(2));

    // Anything else is not emulated, and nothing ever runs.
    for cmd in ["id", "sh recipe.sh", &format!("{} ; id", run_command(""))] {
        let r = exec(&h, cmd, None).await;
        assert_eq!(r.status, Some(127), "{cmd}: {r:?}");
        assert!(
            r.stderr.contains("command not emulated by okeanos-sim"),
            "{r:?}"
        );
    }
    assert_eq!(
        recipes(&s, id).await["recipes"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn fault_rules_set_exit_codes_and_hangs_by_vm_name() {
    let s = sim(Duration::ZERO).await;
    let key = new_key();
    let (web, web_ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let (db, db_ip) = vm(&s, "db-1", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    let r = s
        .post(
            "/_sim/recipe-faults",
            json!({"name_pattern": "web-*", "exit_code": 3}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let r = s
        .post("/_sim/recipe-faults", json!({"name_pattern": "web-*"}))
        .await;
    assert_eq!(r.status.as_u16(), 400, "a rule says what happens");

    let w = login(&gw, &web_ip, "root", &key).await;
    upload(&w, "recipe.sh", RECIPE).await;
    let r = exec(&w, &run_command(""), None).await;
    assert_eq!(r.status, Some(3), "{r:?}");
    assert!(r.stderr.contains("exit code 3"), "{r:?}");
    let d = login(&gw, &db_ip, "root", &key).await;
    upload(&d, "recipe.sh", RECIPE).await;
    assert_eq!(exec(&d, &run_command(""), None).await.status, Some(0));
    let v = recipes(&s, web).await;
    assert_eq!(v["recipes"][0]["exit_code"], 3);
    assert_eq!(v["recipes"][0]["status"], "exited");

    // A hang: output, then no exit until the client closes the channel.
    s.post(
        "/_sim/recipe-faults",
        json!({"name_pattern": "db", "hang": true}),
    )
    .await;
    let mut ch = d.channel_open_session().await.unwrap();
    ch.exec(true, run_command("")).await.unwrap();
    // Output comes, then nothing: no exit status, no EOF, no close.
    let mut stderr = String::new();
    let mut quiet_since: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let wait = match quiet_since {
            Some(t) if t.elapsed() >= Duration::from_secs(1) => break,
            Some(_) => Duration::from_millis(200),
            None => Duration::from_secs(1),
        };
        match tokio::time::timeout(wait, ch.wait()).await {
            Ok(Some(ChannelMsg::ExtendedData { data, .. })) => {
                stderr.push_str(&String::from_utf8_lossy(&data))
            }
            Ok(Some(m @ (ChannelMsg::ExitStatus { .. } | ChannelMsg::Eof | ChannelMsg::Close)))
            | Ok(Some(m @ ChannelMsg::ExitSignal { .. })) => {
                panic!("a hanging recipe does not end: {m:?}")
            }
            Ok(None) => panic!("a hanging recipe does not end"),
            Ok(Some(_)) | Err(_) => {}
        }
        if stderr.contains("hangs") && quiet_since.is_none() {
            quiet_since = Some(Instant::now());
        }
        assert!(Instant::now() < deadline, "no hang message: {stderr}");
    }
    let v = recipes(&s, db).await;
    assert_eq!(v["recipes"][1]["status"], "running", "{v}");
    assert_eq!(v["recipes"][1]["exit_code"], Value::Null);
    ch.close().await.unwrap();
    let v = wait_recipes(&s, db, |v| v["recipes"][1]["status"] == "killed").await;
    assert_eq!(v["recipes"][1]["exit_code"], Value::Null);
    assert!(v["recipes"][1]["finished"].is_string());

    // Cleared rules: web exits 0 again.
    let r = s.delete("/_sim/recipe-faults").await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(
        s.get("/_sim/recipe-faults").await.json()["rules"],
        json!([])
    );
    assert_eq!(exec(&w, &run_command(""), None).await.status, Some(0));
}

#[tokio::test]
async fn a_snapshot_carries_the_records_to_the_vms_built_from_it() {
    let s = sim(Duration::ZERO).await;
    let key = new_key();
    let (builder, ip) = vm(&s, "builder", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    let h = login(&gw, &ip, "root", &key).await;
    upload(&h, "recipe.sh", RECIPE).await;
    assert_eq!(exec(&h, &run_command(""), None).await.status, Some(0));
    let ran = recipes(&s, builder).await["recipes"].clone();

    let srv = s.wait_server(builder, "ACTIVE").await;
    let root = srv["volumes"][0].as_u64().unwrap();
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "display_name": "golden"}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text);
    let snap = r.json()["snapshot"]["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/volume/v2.0/snapshots/{snap}"), |v| {
        v["snapshot"]["status"] == "AVAILABLE"
    })
    .await;
    // What runs on the builder after the snapshot is not in it.
    assert_eq!(exec(&h, &run_command(""), None).await.status, Some(0));

    let (clone, clone_ip) = vm(&s, "clone", &snap, &key).await;
    let v = recipes(&s, clone).await;
    assert_eq!(v["inherited"], ran, "{v}");
    assert_eq!(v["inherited"][0]["server_name"], "builder");
    assert_eq!(v["recipes"], json!([]));
    // A generation later, the chain is kept: inherited first, then what ran.
    let h2 = login(&gw, &clone_ip, "root", &key).await;
    upload(&h2, "recipe.sh", b"echo second\n").await;
    assert_eq!(exec(&h2, &run_command(""), None).await.status, Some(0));
    let v = recipes(&s, clone).await;
    let srv = s.wait_server(clone, "ACTIVE").await;
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": srv["volumes"][0].as_u64().unwrap()}}),
        )
        .await;
    let snap2 = r.json()["snapshot"]["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/volume/v2.0/snapshots/{snap2}"), |v| {
        v["snapshot"]["status"] == "AVAILABLE"
    })
    .await;
    let (third, _) = vm(&s, "third", &snap2, &key).await;
    let inherited = recipes(&s, third).await["inherited"].clone();
    assert_eq!(inherited.as_array().unwrap().len(), 2);
    assert_eq!(inherited[0], ran[0]);
    assert_eq!(inherited[1], v["recipes"][0]);
}

#[tokio::test]
async fn a_stopped_vm_refuses_and_its_running_recipe_is_killed() {
    let s = sim(Duration::ZERO).await;
    let key = new_key();
    let (id, ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    let h = login(&gw, &ip, "root", &key).await;
    upload(&h, "recipe.sh", RECIPE).await;
    s.post(
        "/_sim/recipe-faults",
        json!({"name_pattern": "web-1", "hang": true}),
    )
    .await;
    let mut ch = h.channel_open_session().await.unwrap();
    ch.exec(true, run_command("")).await.unwrap();
    wait_recipes(&s, id, |v| v["recipes"][0]["status"] == "running").await;

    let r = s.action(id, json!({"shutdown": {}})).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text);
    s.wait_server(id, "STOPPED").await;
    let v = wait_recipes(&s, id, |v| v["recipes"][0]["status"] == "killed").await;
    assert_eq!(v["recipes"][0]["exit_code"], Value::Null);
    // The session went away with the VM; nothing answers any more.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while ch.wait().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the session ends when the VM stops");
    assert_refused(jump(&gw, &ip).await);

    // Started again, it answers again (boot time zero here).
    s.action(id, json!({"start": {}})).await;
    s.wait_server(id, "ACTIVE").await;
    let again = login(&gw, &ip, "root", &key).await;
    assert_eq!(exec(&again, "true", None).await.status, Some(127));
}

#[tokio::test]
async fn records_and_host_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let config = || SimConfig {
        state_file: Some(state.clone()),
        timings: sim_support::quick(),
        ssh_listen: Some("127.0.0.1:0".parse().unwrap()),
        ssh_boot_time: Duration::ZERO,
        recipe_time: Duration::from_millis(200),
        ..Default::default()
    };
    let key = new_key();
    let s = sim_with(config()).await;
    let (id, ip) = vm(&s, "web-1", sim_support::UBUNTU, &key).await;
    let gw = gateway(&s).await;
    let (mut h, host_key) = jump(&gw, &ip).await.unwrap();
    assert!(auth(&mut h, "root", &key).await.success());
    upload(&h, "recipe.sh", RECIPE).await;
    assert_eq!(exec(&h, &run_command(""), None).await.status, Some(0));
    let before = recipes(&s, id).await;
    drop(h);
    drop(gw);
    s.sim.shutdown().await;

    let s = sim_with(config()).await;
    let after = recipes(&s, id).await;
    assert_eq!(after["recipes"], before["recipes"]);
    assert_eq!(after["host_key"], before["host_key"]);
    let gw = gateway(&s).await;
    let (mut h, again) = jump(&gw, &ip).await.unwrap();
    assert_eq!(again, host_key, "the VM's host key is kept");
    assert!(
        auth(&mut h, "root", &key).await.success(),
        "and its authorized keys"
    );
}

#[tokio::test]
async fn admin_recipes_of_an_unknown_server_is_404() {
    let s = sim(Duration::ZERO).await;
    assert_eq!(
        s.get("/_sim/servers/424242/recipes").await.status.as_u16(),
        404
    );
    assert_eq!(s.get("/_sim/servers/x/recipes").await.status.as_u16(), 404);
    assert!(
        s.sim.ssh_addr().is_some() && sim_support::Sim::start().await.sim.ssh_addr().is_none(),
        "the gateway runs only when asked for"
    );
}
