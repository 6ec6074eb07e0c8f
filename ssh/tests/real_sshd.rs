//! The client against a real OpenSSH sshd on 127.0.0.1 (issue #11).
//!
//! Each test starts throwaway `sshd`s, each with its own config, host key, authorized_keys and
//! free port in a temp dir, killed when the test ends. They log in as the current user, so the
//! contract's commands write to that user's `~/.slipstream`: tests that upload or run hold
//! [`HOME_LOCK`] and remove `~/.slipstream` afterwards if it did not exist before.
//!
//! Without `/usr/sbin/sshd` the tests print a skip message and pass, unless `REQUIRE_SSHD=1`
//! (as in CI), where they fail.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use connector_ssh::{Connector, Error, HostKeys, Jump, RunKey, RunOutcome, Session, Target};
use tokio::time::Instant;

const SSHD: &str = "/usr/sbin/sshd";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Generous: the machine running the tests may be busy.
const CONNECT_WAIT: Duration = Duration::from_secs(60);
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Serializes the tests that write `~/.slipstream` (they share one home directory).
static HOME_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether sshd is here; fails the test when it is required and missing.
fn sshd_available() -> bool {
    if Path::new(SSHD).exists() {
        return true;
    }
    if std::env::var("REQUIRE_SSHD").as_deref() == Ok("1") {
        panic!("REQUIRE_SSHD=1 but {SSHD} is missing: install openssh-server");
    }
    eprintln!("SKIPPED: {SSHD} is missing (install openssh-server, or set REQUIRE_SSHD=1 to fail)");
    false
}

macro_rules! require_sshd {
    () => {
        if !sshd_available() {
            return;
        }
    };
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A throwaway sshd, killed on drop.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Starts an sshd on a free port accepting exactly these public keys.
    fn start(authorized: &[String]) -> Sshd {
        Sshd::start_on(free_port(), authorized)
    }

    fn start_on(port: u16, authorized: &[String]) -> Sshd {
        // As root, sshd needs its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f"])
                .arg(d.join("host_key")),
        );
        std::fs::write(d.join("authorized_keys"), authorized.join("\n") + "\n").unwrap();
        let config = format!(
            "ListenAddress 127.0.0.1\n\
             HostKey {d}/host_key\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\n\
             AllowTcpForwarding yes\n\
             MaxStartups 50\n\
             LogLevel VERBOSE\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-p")
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let mut sshd = Sshd { child, port, dir };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&mut self) {
        let until = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited ({status}): {}", self.log());
            }
            assert!(
                std::time::Instant::now() < until,
                "sshd did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The host key's fingerprint as `ssh-keygen -l` shows it.
    fn host_fingerprint(&self) -> String {
        let out = run_ok(
            Command::new("ssh-keygen")
                .arg("-lf")
                .arg(self.dir.path().join("host_key.pub")),
        );
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_whitespace().nth(1).unwrap().to_string()
    }

    fn target(&self, vm_id: &str) -> Target {
        Target::new(vm_id, LOCALHOST, current_user()).with_port(self.port)
    }

    fn jump(&self) -> Jump {
        Jump::parse(&format!("{}@127.0.0.1:{}", current_user(), self.port)).unwrap()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Holds [`HOME_LOCK`]; removes `~/.slipstream` on drop if the test created it.
struct HomeGuard {
    _lock: tokio::sync::MutexGuard<'static, ()>,
    dir: PathBuf,
    existed: bool,
}

async fn home_guard() -> HomeGuard {
    let lock = HOME_LOCK.lock().await;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let out = run_ok(Command::new("sh").args(["-c", "cd && pwd"]));
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        });
    let dir = home.join(".slipstream");
    HomeGuard {
        _lock: lock,
        existed: dir.exists(),
        dir,
    }
}

impl Drop for HomeGuard {
    fn drop(&mut self) {
        if !self.existed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn run_key(run: &str) -> RunKey {
    RunKey::generate(run).unwrap()
}

fn connector(key: &RunKey) -> Connector {
    Connector::new(key.clone(), HostKeys::new()).with_agent_socket(None)
}

fn deadline() -> Instant {
    Instant::now() + CONNECT_WAIT
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Uploads `script` as recipe.sh and runs it, returning the outcome and everything it printed.
async fn run_recipe(
    session: &Session,
    script: &str,
    env: &[(String, String)],
    timeout: Duration,
) -> (RunOutcome, String) {
    session
        .upload("recipe.sh", script.as_bytes())
        .await
        .unwrap();
    let mut log = Vec::new();
    let outcome = session.run(env, timeout, &mut log).await.unwrap();
    (outcome, String::from_utf8(log).unwrap())
}

#[tokio::test]
async fn a_recipe_really_runs_and_writes_a_file_with_env_values_intact() {
    require_sshd!();
    let _home = home_guard().await;
    let key = run_key("write");
    let sshd = Sshd::start(&[key.public_openssh()]);
    let session = connector(&key)
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();

    let run_json = br#"{"nodes":{"web":[{"addresses":["192.0.2.1"]}]}}"#;
    session.upload("run.json", run_json).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_file = out.path().join("written");
    let tricky = "it's \"quoted\" with  spaces, $HOME, `id`, \\ ; * and a\nnewline";
    let script = "set -e\n\
                  printf '%s' \"$GREETING\" > \"$OUT_FILE\"\n\
                  cat \"$SLIPSTREAM_RUN_JSON\" > \"$OUT_FILE.json\"\n\
                  echo \"node $SLIPSTREAM_NODE index $SLIPSTREAM_INDEX in $(pwd)\"\n";
    let vars = env(&[
        ("SLIPSTREAM_RUN_ID", "write"),
        ("SLIPSTREAM_NODE", "web"),
        ("SLIPSTREAM_INDEX", "0"),
        ("SLIPSTREAM_RUN_JSON", "run.json"),
        ("OUT_FILE", out_file.to_str().unwrap()),
        ("GREETING", tricky),
    ]);
    let (outcome, log) = run_recipe(&session, script, &vars, RUN_TIMEOUT).await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?} {log}");
    assert!(outcome.success() && !outcome.timed_out && outcome.signal.is_none());
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), tricky);
    assert_eq!(
        std::fs::read(out.path().join("written.json")).unwrap(),
        run_json
    );
    assert!(
        log.starts_with("node web index 0 in ") && log.trim_end().ends_with("/.slipstream"),
        "{log}"
    );
    assert_eq!(outcome.last_lines, vec![log.trim_end().to_string()]);
    session.close().await;
}

#[tokio::test]
async fn uploads_are_byte_exact_and_private() {
    require_sshd!();
    let home = home_guard().await;
    let key = run_key("upload");
    let sshd = Sshd::start(&[key.public_openssh()]);
    let session = connector(&key)
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();
    // Every byte value, and more than OpenSSH's 2 MiB channel window.
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend((0..2_200_000u32).map(|i| (i * 7 % 251) as u8));
    session.upload("blob.bin", &bytes).await.unwrap();
    let path = home.dir.join("blob.bin");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // An upload that fails on the VM is an error with its stderr.
    std::fs::create_dir_all(home.dir.join("a-dir")).unwrap();
    let err = session.upload("a-dir", b"x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Upload { name, .. } if name == "a-dir"),
        "{err:?}"
    );
    assert!(err.to_string().contains("exit status"), "{err}");
}

#[tokio::test]
async fn exit_codes_and_last_lines_come_back() {
    require_sshd!();
    let _home = home_guard().await;
    let key = run_key("exits");
    let sshd = Sshd::start(&[key.public_openssh()]);
    let session = connector(&key)
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();

    let (ok, log) = run_recipe(&session, "echo all good\n", &[], RUN_TIMEOUT).await;
    assert_eq!((ok.exit_code, log.as_str()), (Some(0), "all good\n"));
    assert!(ok.clone().into_result(RUN_TIMEOUT).is_ok());

    let script = "i=1\nwhile [ $i -le 30 ]; do echo \"line $i\"; i=$((i+1)); done\n\
                  echo 'it broke' >&2\nexit 3\n";
    let (failed, log) = run_recipe(&session, script, &[], RUN_TIMEOUT).await;
    assert_eq!(failed.exit_code, Some(3), "{failed:?}");
    assert!(!failed.success());
    assert!(log.contains("line 1\n") && log.contains("line 30\n") && log.contains("it broke\n"));
    assert_eq!(failed.last_lines.len(), 20, "{:?}", failed.last_lines);
    assert_eq!(failed.last_lines.last().unwrap(), "it broke");
    assert!(failed.last_lines.contains(&"line 30".to_string()));
    assert!(!failed.last_lines.contains(&"line 1".to_string()));
    let err = failed.into_result(RUN_TIMEOUT).unwrap_err();
    assert!(
        matches!(err, Error::RecipeFailed { code: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("status 3") && err.to_string().contains("it broke"));

    // A recipe killed by a signal reports the signal.
    let (killed, _) = run_recipe(&session, "echo going\nkill -KILL $$\n", &[], RUN_TIMEOUT).await;
    assert_eq!(killed.signal.as_deref(), Some("KILL"), "{killed:?}");
    assert!(matches!(
        killed.into_result(RUN_TIMEOUT),
        Err(Error::RecipeKilled { .. })
    ));
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_the_auth_error() {
    require_sshd!();
    let authorized = run_key("right");
    let sshd = Sshd::start(&[authorized.public_openssh()]);
    let wrong = run_key("wrong");
    let started = Instant::now();
    let err = connector(&wrong)
        .with_auth_attempts(2)
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap_err();
    match &err {
        Error::AuthRefused { user, addr } => {
            assert_eq!(user, &current_user());
            assert_eq!(addr, &format!("127.0.0.1:{}", sshd.port));
        }
        other => panic!("{other:?}"),
    }
    // Refused keys are not retried until the deadline.
    assert!(started.elapsed() < CONNECT_WAIT / 2);
    assert!(err.to_string().contains(&current_user()));
}

#[tokio::test]
async fn a_key_that_arrives_just_after_sshd_starts_is_retried() {
    require_sshd!();
    let key = run_key("late");
    // sshd answers before the key is in authorized_keys (as when a VM's boot writes it late).
    let sshd = Sshd::start(&[]);
    let log = sshd.dir.path().join("sshd.log");
    let authorized = sshd.dir.path().join("authorized_keys");
    let public = key.public_openssh();
    let writer = std::thread::spawn(move || {
        let until = std::time::Instant::now() + CONNECT_WAIT;
        // Write the key once sshd has refused the first attempt.
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("authenticating user")
        {
            assert!(std::time::Instant::now() < until, "no refused attempt seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(&authorized, public + "\n").unwrap();
    });
    let result = connector(&key)
        .with_auth_attempts(5)
        .connect(&sshd.target("vm-1"), deadline())
        .await;
    writer.join().unwrap();
    let session = result.unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", sshd.log()));
    assert!(session.first_contact());
}

#[tokio::test]
async fn a_hanging_recipe_hits_its_timeout_and_the_call_returns() {
    require_sshd!();
    let _home = home_guard().await;
    let key = run_key("hang");
    let sshd = Sshd::start(&[key.public_openssh()]);
    let session = connector(&key)
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("pid");
    let script = "echo $$ > \"$PID_FILE\"\necho started\nexec sleep 600\n";
    let vars = env(&[("PID_FILE", pid_file.to_str().unwrap())]);
    let timeout = Duration::from_secs(3);
    let (outcome, log) = run_recipe(&session, script, &vars, timeout).await;
    // Leave nothing running, whatever the assertions say.
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
    }
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit_code, None);
    assert!(outcome.elapsed >= timeout && outcome.elapsed < Duration::from_secs(60));
    assert_eq!(log, "started\n");
    let err = outcome.into_result(timeout).unwrap_err();
    assert!(
        matches!(&err, Error::TimedOut { after, last_lines } if *after == timeout && last_lines == &["started"]),
        "{err:?}"
    );
    // The session is still usable after a timed-out run.
    let (after, _) = run_recipe(&session, "exit 0\n", &[], RUN_TIMEOUT).await;
    assert!(after.success());
}

#[tokio::test]
async fn the_host_key_is_recorded_and_a_changed_one_is_refused() {
    require_sshd!();
    let key = run_key("hostkey");
    let first = Sshd::start(&[key.public_openssh()]);
    let connector = connector(&key);
    let session = connector
        .connect(&first.target("vm-1"), deadline())
        .await
        .unwrap();
    assert!(session.first_contact());
    assert_eq!(session.host_key_fingerprint(), first.host_fingerprint());
    assert_eq!(
        connector.host_keys().get("vm-1"),
        Some(first.host_fingerprint())
    );
    let again = connector
        .connect(&first.target("vm-1"), deadline())
        .await
        .unwrap();
    assert!(!again.first_contact());

    // Another machine (another host key) answering for the same VM.
    let second = Sshd::start(&[key.public_openssh()]);
    let err = connector
        .connect(&second.target("vm-1"), deadline())
        .await
        .unwrap_err();
    match &err {
        Error::HostKeyChanged { vm, expected, got } => {
            assert_eq!(vm, "vm-1");
            assert_eq!(expected, &first.host_fingerprint());
            assert_eq!(got, &second.host_fingerprint());
        }
        other => panic!("{other:?}"),
    }
    // A different VM id on the second server is fine.
    let other = connector
        .connect(&second.target("vm-2"), deadline())
        .await
        .unwrap();
    assert!(other.first_contact());
}

#[tokio::test]
async fn a_jump_through_a_real_sshd_works() {
    require_sshd!();
    let _home = home_guard().await;
    let key = run_key("jump");
    // The run key opens both the jump host and the VM; the jump forwards to itself.
    let sshd = Sshd::start(&[key.public_openssh()]);
    let connector = connector(&key).with_jump(Some(sshd.jump()));
    let session = connector
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();
    let (outcome, log) = run_recipe(&session, "echo via jump\nexit 0\n", &[], RUN_TIMEOUT).await;
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(log, "via jump\n");
    let pins: Vec<String> = connector
        .host_keys()
        .snapshot()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        pins,
        vec![format!("jump host 127.0.0.1:{}", sshd.port), "vm-1".into()]
    );
    assert!(sshd.log().contains("direct-tcpip") || sshd.log().contains("Accepted publickey"));
}

/// ssh-agent in the foreground on its own socket, killed on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(std::time::Instant::now() < until, "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }

    /// Generates a key (a stand-in for the user's own) in the agent; returns its public line.
    fn add_new_key(&self) -> String {
        let key = self._dir.path().join("user_key");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "user-key", "-f"])
                .arg(&key),
        );
        run_ok(
            Command::new("ssh-add")
                .arg(&key)
                .env("SSH_AUTH_SOCK", &self.socket),
        );
        std::fs::read_to_string(key.with_extension("pub"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_jump_host_takes_the_agents_key_and_refuses_without_it() {
    require_sshd!();
    let agent = Agent::start();
    let user_key = agent.add_new_key();
    let key = run_key("agent");
    // The jump host knows only the user's key, the VM only the run key.
    let jump = Sshd::start(&[user_key]);
    let vm = Sshd::start(&[key.public_openssh()]);
    let with_agent = Connector::new(key.clone(), HostKeys::new())
        .with_agent_socket(Some(agent.socket.clone()))
        .with_jump(Some(jump.jump()));
    let session = with_agent
        .connect(&vm.target("vm-1"), deadline())
        .await
        .unwrap();
    assert_eq!(session.host_key_fingerprint(), vm.host_fingerprint());

    let without_agent = connector(&key).with_jump(Some(jump.jump()));
    let err = without_agent
        .connect(&vm.target("vm-1"), deadline())
        .await
        .unwrap_err();
    match &err {
        Error::JumpAuthRefused { jump: j, user, .. } => {
            assert_eq!(j, &jump.jump().to_string());
            assert_eq!(user, &current_user());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("SSH_AUTH_SOCK"), "{err}");
}

#[tokio::test]
async fn connecting_before_sshd_starts_waits_for_it() {
    require_sshd!();
    let key = run_key("wait");
    let port = free_port();
    let public = key.public_openssh();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        Sshd::start_on(port, &[public])
    });
    let target = Target::new("vm-1", LOCALHOST, current_user()).with_port(port);
    let result = connector(&key).connect(&target, deadline()).await;
    let sshd = starter.join().unwrap();
    let session = result.unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", sshd.log()));
    assert_eq!(session.host_key_fingerprint(), sshd.host_fingerprint());
}

#[tokio::test]
async fn through_a_jump_a_vm_not_yet_listening_is_waited_for() {
    require_sshd!();
    let key = run_key("jumpwait");
    let jump = Sshd::start(&[key.public_openssh()]);
    let port = free_port();
    let public = key.public_openssh();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        Sshd::start_on(port, &[public])
    });
    let target = Target::new("vm-1", LOCALHOST, current_user()).with_port(port);
    let connector = connector(&key).with_jump(Some(jump.jump()));
    let result = connector.connect(&target, deadline()).await;
    let vm = starter.join().unwrap();
    let session = result.unwrap_or_else(|e| panic!("{e}\njump log:\n{}", jump.log()));
    assert_eq!(session.host_key_fingerprint(), vm.host_fingerprint());
}

#[tokio::test]
async fn a_never_listening_port_is_unreachable_at_the_deadline() {
    require_sshd!();
    let key = run_key("never");
    let port = free_port();
    let target = Target::new("vm-1", LOCALHOST, current_user()).with_port(port);
    let wait = Duration::from_secs(3);
    let started = Instant::now();
    let err = connector(&key)
        .connect(&target, started + wait)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= wait);
    assert!(started.elapsed() < Duration::from_secs(60));
    match &err {
        Error::Unreachable { addr, last, .. } => {
            assert_eq!(addr, &format!("127.0.0.1:{port}"));
            assert!(last.contains("refused"), "{last}");
        }
        other => panic!("{other:?}"),
    }

    // Through a jump host: the jump answers, the VM never does.
    let jump = Sshd::start(&[key.public_openssh()]);
    let started = Instant::now();
    let err = connector(&key)
        .with_jump(Some(jump.jump()))
        .connect(&target, started + wait)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= wait);
    match &err {
        Error::Unreachable { last, .. } => {
            assert!(last.contains("could not connect"), "{last}")
        }
        other => panic!("{other:?}"),
    }

    // A jump host that never answers is named as such.
    let dead_jump = Jump::parse(&format!("{}@127.0.0.1:{}", current_user(), free_port())).unwrap();
    let err = connector(&key)
        .with_jump(Some(dead_jump.clone()))
        .connect(&target, Instant::now() + wait)
        .await
        .unwrap_err();
    match &err {
        Error::JumpUnreachable { jump, reason } => {
            assert_eq!(jump, &dead_jump.to_string());
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sessions_run_concurrently() {
    require_sshd!();
    let _home = home_guard().await;
    let key = run_key("together");
    let sshd = Arc::new(Sshd::start(&[key.public_openssh()]));
    let connector = connector(&key);
    let meeting = tempfile::tempdir().unwrap();
    // Each recipe checks in, then waits (bounded) until all have: serialized sessions could
    // never all check in, so the first would give up with exit 1.
    let script = "touch \"$MEET/$ME\"\n\
                  i=0\n\
                  while [ $(ls \"$MEET\" | wc -l) -lt 4 ]; do\n\
                    i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.1\n\
                  done\n\
                  echo met\n";
    let first = connector
        .connect(&sshd.target("vm-1"), deadline())
        .await
        .unwrap();
    first.upload("recipe.sh", script.as_bytes()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let connector = connector.clone();
        let sshd = sshd.clone();
        let vars = env(&[
            ("MEET", meeting.path().to_str().unwrap()),
            ("ME", &i.to_string()),
        ]);
        tasks.push(tokio::spawn(async move {
            let session = connector
                .connect(&sshd.target("vm-1"), deadline())
                .await
                .unwrap();
            let mut log = Vec::new();
            let outcome = session.run(&vars, RUN_TIMEOUT, &mut log).await.unwrap();
            (outcome, String::from_utf8(log).unwrap())
        }));
    }
    for task in tasks {
        let (outcome, log) = task.await.unwrap();
        assert!(outcome.success(), "{outcome:?}");
        assert_eq!(log, "met\n");
    }
}

#[tokio::test]
async fn a_port_that_accepts_but_never_speaks_is_unreachable_at_the_deadline() {
    // Needs no sshd: the kernel accepts connections on a listener nobody serves.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let key = run_key("silent");
    let target = Target::new("vm-1", LOCALHOST, current_user()).with_port(port);
    let wait = Duration::from_secs(3);
    let quick = connector(&key).with_attempt_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = quick.connect(&target, started + wait).await.unwrap_err();
    assert!(started.elapsed() >= wait && started.elapsed() < Duration::from_secs(60));
    match &err {
        Error::Unreachable { last, .. } => assert!(last.contains("no answer"), "{last}"),
        other => panic!("{other:?}"),
    }
    // The same silence from a jump host names the jump host.
    let silent_jump = Jump::parse(&format!("{}@127.0.0.1:{port}", current_user())).unwrap();
    let err = quick
        .with_jump(Some(silent_jump.clone()))
        .connect(&target, Instant::now() + wait)
        .await
        .unwrap_err();
    match &err {
        Error::JumpUnreachable { jump, reason } => {
            assert_eq!(jump, &silent_jump.to_string());
            assert!(reason.contains("no answer"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    drop(silent);
}
