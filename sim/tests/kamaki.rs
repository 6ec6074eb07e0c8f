//! GRNET's own command-line client, kamaki 0.16 (the PyPI package, Python 2.7), against
//! okeanos-sim: every command of issue #10's list exits 0, and what it did is checked in
//! the simulator's own state, not taken from kamaki's output.
//!
//! Runs the `kamaki` executable named by `$KAMAKI` (`scripts/kamaki-venv.sh` builds one
//! and prints its path). Without it the test says so and passes, unless
//! `REQUIRE_KAMAKI=1` (as `.ci/run` sets), when it fails.
//!
//! kamaki only talks to the URLs of the service catalog, which all point at the
//! simulator on 127.0.0.1; `HOME` is a temporary directory, so it reads and writes no
//! file of the user, and proxies are cleared from its environment.
//!
//! Known incompatibility of kamaki 0.16 with today's Synnefo, left as Synnefo has it:
//! `kamaki image list` reads Plankton's `GET /images/` answer as a bare list, while
//! Synnefo wraps it in `{"images": […]}` (snf-cyclades-app/synnefo/plankton/views.py
//! `list_images`, since grnet/synnefo commit 91b1d8e08, 2017-11-20, "plakton: Make image
//! listing comply with Openstack"): it fails with "string indices must be integers", so
//! it is not run here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use okeanos_sim::backend::model::{ImageStatus, ServerStatus, State, VolumeStatus};
use okeanos_sim::{DEFAULT_USER_NAME, DEFAULT_USER_UUID, QuotaLimits, SimConfig, Timings};

/// A public image of the seed (Debian Base).
const IMAGE: &str = "0035ac89-a86e-4108-93e8-93e294b74a3d";
/// `C1R1024D10ext_vlmc` and `C1R2048D10ext_vlmc`: same disk and volume type, so one
/// resizes to the other (logic/servers.py `resize`); ext_vlmc volumes detach.
const FLAVOR: u64 = 49;
const BIGGER: u64 = 52;
/// A second project the user is a member of.
const PROJECT: &str = "5b7a4d1e-1f0c-4e4e-9c1d-2a6b8c0d4e6f";

struct Kamaki {
    exe: PathBuf,
    home: tempfile::TempDir,
}

impl Kamaki {
    fn new(exe: PathBuf, auth_url: &str, token: &str) -> Kamaki {
        let home = tempfile::tempdir().expect("temporary HOME");
        let rc = format!(
            "[global]\ndefault_cloud = sim\nhistory_file = {h}/.kamaki.history\nlog_file = {h}/kamaki.log\n\
             [cloud \"sim\"]\nurl = {auth_url}\ntoken = {token}\n",
            h = home.path().display()
        );
        std::fs::write(home.path().join(".kamakirc"), rc).expect("writing kamakirc");
        Kamaki { exe, home }
    }

    /// Runs `kamaki ARGS`, asserts it exits 0, returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let rc = self.home.path().join(".kamakirc");
        let out = Command::new(&self.exe)
            .arg("-c")
            .arg(&rc)
            .args(args)
            .env("HOME", self.home.path())
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env("no_proxy", "*")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.exe.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "kamaki {args:?} exited {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status.code()
        );
        stdout
    }
}

/// The kamaki to run, or `None` (skip) when none is configured and none is required.
fn kamaki_exe() -> Option<PathBuf> {
    match std::env::var_os("KAMAKI") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                Path::new(&p).exists(),
                "KAMAKI={} does not exist",
                p.display()
            );
            Some(p)
        }
        _ if std::env::var("REQUIRE_KAMAKI").as_deref() == Ok("1") => panic!(
            "REQUIRE_KAMAKI=1 but KAMAKI is not set: run scripts/kamaki-venv.sh and export KAMAKI=<the path it prints>"
        ),
        _ => None,
    }
}

/// Polls the simulator's state until `f` holds (the jobs complete on the clock).
fn until(sim: &okeanos_sim::RunningSim, what: &str, f: impl Fn(&State) -> bool) -> State {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = sim.backend().snapshot();
        if f(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kamaki_0_16_runs_against_the_simulator() {
    let Some(exe) = kamaki_exe() else {
        eprintln!(
            "SKIPPED: kamaki not configured (set KAMAKI to the kamaki that scripts/kamaki-venv.sh prints; REQUIRE_KAMAKI=1 makes this a failure)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = SimConfig {
        timings: Timings::uniform(Duration::from_millis(200)),
        ..Default::default()
    };
    let sim = rt
        .block_on(okeanos_sim::spawn(config, "127.0.0.1:0".parse().unwrap()))
        .expect("simulator");
    sim.backend()
        .set_project_quota(PROJECT, QuotaLimits::default());
    let k = Kamaki::new(exe, &sim.auth_url(), &sim.token());

    // ---- Account (Astakos)
    k.ok(&["user", "authenticate"]);
    assert!(k.ok(&["user", "info"]).contains(DEFAULT_USER_UUID));
    assert!(
        k.ok(&["user", "uuid2name", DEFAULT_USER_UUID])
            .contains(DEFAULT_USER_NAME)
    );
    let quotas = k.ok(&["quota", "list"]);
    assert!(quotas.contains("cyclades.vm") && !quotas.contains("cyclades.total_ram"));
    assert!(k.ok(&["resource", "list"]).contains("cyclades.disk"));
    let projects = k.ok(&["project", "list"]);
    assert!(
        projects.contains(&format!("system:{DEFAULT_USER_UUID}")) && projects.contains(PROJECT)
    );

    // ---- Flavors and images
    assert!(
        k.ok(&["flavor", "list", "-l"])
            .contains("C1R1024D10ext_vlmc")
    );
    assert!(
        k.ok(&["flavor", "info", &FLAVOR.to_string()])
            .contains("ext_vlmc")
    );
    assert!(k.ok(&["imagecompute", "list", "-l"]).contains(IMAGE));
    k.ok(&["imagecompute", "info", IMAGE]);
    assert!(k.ok(&["image", "info", IMAGE]).contains("Debian"));

    // ---- A server's life
    k.ok(&[
        "server",
        "create",
        "--name",
        "kamaki-vm",
        "--flavor-id",
        &FLAVOR.to_string(),
        "--image-id",
        IMAGE,
        "-w",
    ]);
    let s = until(&sim, "the server to be ACTIVE", |s| {
        s.servers
            .values()
            .any(|v| v.name == "kamaki-vm" && v.status == ServerStatus::Active)
    });
    let sid = s
        .servers
        .values()
        .find(|v| v.name == "kamaki-vm")
        .unwrap()
        .id;
    let sids = sid.to_string();
    let server = |st: &State| st.servers[&sid].clone();
    assert!(k.ok(&["server", "list", "-l"]).contains("kamaki-vm"));
    let nics = k.ok(&["server", "info", &sids, "--nics"]);
    let port = *server(&sim.backend().snapshot())
        .ports
        .first()
        .expect("a public NIC");
    assert!(
        nics.contains(&port.to_string()),
        "the NIC's id is its port's: {nics}"
    );
    assert!(
        k.ok(&["server", "info", &sids, "--stats"])
            .contains("cpuBar")
    );
    k.ok(&["server", "shutdown", &sids, "-w"]);
    assert_eq!(
        server(&sim.backend().snapshot()).status,
        ServerStatus::Stopped
    );
    k.ok(&["server", "start", &sids, "-w"]);
    assert_eq!(
        server(&sim.backend().snapshot()).status,
        ServerStatus::Active
    );
    k.ok(&["server", "reboot", &sids, "-w"]);
    until(&sim, "the reboot", |s| {
        s.servers[&sid].status == ServerStatus::Active
    });
    k.ok(&["server", "modify", &sids, "--name", "kamaki-vm2"]);
    assert_eq!(server(&sim.backend().snapshot()).name, "kamaki-vm2");
    k.ok(&["server", "modify", &sids, "--metadata-set", "role=db"]);
    assert_eq!(
        server(&sim.backend().snapshot())
            .metadata
            .get("role")
            .map(String::as_str),
        Some("db")
    );
    k.ok(&["server", "modify", &sids, "--metadata-del", "role"]);
    assert!(
        !server(&sim.backend().snapshot())
            .metadata
            .contains_key("role")
    );
    k.ok(&["server", "shutdown", &sids, "-w"]);
    k.ok(&[
        "server",
        "modify",
        &sids,
        "--flavor-id",
        &BIGGER.to_string(),
    ]);
    until(&sim, "the resize", |s| {
        s.servers[&sid].flavor_id == BIGGER && s.servers[&sid].task.is_none()
    });
    k.ok(&["server", "start", &sids, "-w"]);
    assert_eq!(
        server(&sim.backend().snapshot()).status,
        ServerStatus::Active
    );
    assert!(k.ok(&["server", "console", &sids]).contains("password"));
    k.ok(&["server", "reassign", &sids, "--project-id", PROJECT]);
    assert_eq!(server(&sim.backend().snapshot()).project, PROJECT);

    // ---- Volumes and snapshots
    k.ok(&[
        "volume",
        "create",
        "--size",
        "2",
        "--server-id",
        &sids,
        "--name",
        "kamaki-vol",
    ]);
    let s = until(&sim, "the volume to be in use", |s| {
        s.volumes
            .values()
            .any(|v| v.name == "kamaki-vol" && v.status == VolumeStatus::InUse)
    });
    let vid = s
        .volumes
        .values()
        .find(|v| v.name == "kamaki-vol")
        .unwrap()
        .id;
    let vids = vid.to_string();
    assert_eq!(s.volumes[&vid].server_id, Some(sid));
    assert!(k.ok(&["volume", "list"]).contains(&vids));
    assert!(k.ok(&["volume", "info", &vids]).contains("kamaki-vol"));
    k.ok(&["volume", "modify", &vids, "--name", "kamaki-vol2"]);
    assert_eq!(sim.backend().snapshot().volumes[&vid].name, "kamaki-vol2");
    assert!(k.ok(&["server", "attachments", &sids]).contains(&vids));
    k.ok(&[
        "snapshot",
        "create",
        "--volume-id",
        &vids,
        "--name",
        "kamaki-snap",
    ]);
    let s = until(&sim, "the snapshot", |s| {
        s.images.values().any(|i| i.name == "kamaki-snap")
    });
    let snap = s
        .images
        .values()
        .find(|i| i.name == "kamaki-snap")
        .unwrap()
        .id
        .clone();
    assert!(k.ok(&["snapshot", "list"]).contains(&snap));
    assert!(k.ok(&["snapshot", "info", &snap]).contains("kamaki-snap"));
    until(&sim, "the snapshot to be ready", |s| {
        s.images[&snap].status != ImageStatus::Saving
    });
    k.ok(&["snapshot", "delete", &snap]);
    until(&sim, "the snapshot's deletion", |s| {
        s.images
            .get(&snap)
            .is_none_or(|i| i.status == ImageStatus::Deleted)
    });
    k.ok(&["server", "detach", &sids, "--volume-id", &vids]);
    until(&sim, "the detach", |s| {
        s.volumes[&vid].status == VolumeStatus::Available
    });
    k.ok(&["server", "attach", &sids, "--volume-id", &vids]);
    until(&sim, "the attach", |s| {
        s.volumes[&vid].status == VolumeStatus::InUse
    });
    k.ok(&["server", "detach", &sids, "--volume-id", &vids]);
    until(&sim, "the second detach", |s| {
        s.volumes[&vid].status == VolumeStatus::Available
    });
    k.ok(&["volume", "delete", &vids]);
    until(&sim, "the volume's deletion", |s| {
        s.volumes[&vid].status == VolumeStatus::Deleted
    });

    // ---- Networks, subnets, ports
    k.ok(&[
        "network",
        "create",
        "--type",
        "MAC_FILTERED",
        "--name",
        "kamaki-net",
    ]);
    let s = sim.backend().snapshot();
    let net = s
        .networks
        .values()
        .find(|n| n.name == "kamaki-net")
        .expect("network")
        .id;
    let nets = net.to_string();
    assert!(
        s.networks[&net].subnets.is_empty(),
        "a new network has no subnet"
    );
    assert!(k.ok(&["network", "list"]).contains("kamaki-net"));
    assert!(k.ok(&["network", "info", &nets]).contains("MAC_FILTERED"));
    k.ok(&[
        "subnet",
        "create",
        "--network-id",
        &nets,
        "--cidr",
        "192.168.7.0/24",
        "--name",
        "kamaki-sub",
    ]);
    let s = sim.backend().snapshot();
    let sub = &s.networks[&net].subnets[0];
    assert_eq!(
        (sub.cidr.as_str(), sub.gateway.as_deref()),
        ("192.168.7.0/24", Some("192.168.7.1"))
    );
    let subid = sub.id.to_string();
    assert!(k.ok(&["subnet", "list"]).contains(&subid));
    assert!(k.ok(&["subnet", "info", &subid]).contains("192.168.7.0/24"));
    k.ok(&["network", "connect", &nets, "--device-id", &sids, "-w"]);
    let on_net = |s: &State| {
        s.ports
            .values()
            .filter(|p| p.network_id == net && !p.deleted && p.device_id == Some(sid))
            .count()
    };
    assert_eq!(on_net(&sim.backend().snapshot()), 1);
    assert!(
        k.ok(&["port", "list", "-l"])
            .contains(&format!("network_id: {net}"))
    );
    k.ok(&["network", "disconnect", &nets, "--device-id", &sids, "-w"]);
    assert_eq!(
        on_net(&until(&sim, "the port's deletion", |s| on_net(s) == 0)),
        0
    );
    k.ok(&["network", "delete", &nets]);
    assert!(sim.backend().snapshot().networks[&net].deleted);

    // ---- Floating IPs
    k.ok(&["ip", "create"]);
    let s = sim.backend().snapshot();
    let fip = s
        .floating_ips
        .values()
        .find(|f| !f.deleted)
        .expect("a floating IP")
        .clone();
    assert!(k.ok(&["ip", "list"]).contains(&fip.address));
    k.ok(&[
        "ip",
        "attach",
        &fip.id.to_string(),
        "--server-id",
        &sids,
        "-w",
    ]);
    let attached = |s: &State| {
        s.floating_ips[&fip.id]
            .port_id
            .and_then(|p| s.ports.get(&p))
            .and_then(|p| p.device_id)
    };
    assert_eq!(attached(&sim.backend().snapshot()), Some(sid));
    k.ok(&["ip", "detach", &fip.id.to_string(), "-w"]);
    assert_eq!(
        attached(&until(&sim, "the detach", |s| attached(s).is_none())),
        None
    );
    k.ok(&["ip", "delete", &fip.id.to_string()]);
    // logic/ips.py `delete_floating_ip` deletes the row.
    assert!(!sim.backend().snapshot().floating_ips.contains_key(&fip.id));

    // ---- Key pairs
    let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDkamakitest kamaki@test";
    k.ok(&[
        "keypair",
        "upload",
        "--key-name",
        "kamaki-key",
        "--public-key",
        key,
    ]);
    assert!(
        sim.backend()
            .snapshot()
            .keypairs
            .iter()
            .any(|kp| kp.name == "kamaki-key")
    );
    assert!(k.ok(&["keypair", "list"]).contains("kamaki-key"));
    assert!(
        k.ok(&["keypair", "info", "kamaki-key"])
            .contains("kamaki@test")
    );
    k.ok(&["keypair", "delete", "kamaki-key"]);
    assert!(
        !sim.backend()
            .snapshot()
            .keypairs
            .iter()
            .any(|kp| kp.name == "kamaki-key")
    );
    k.ok(&["keypair", "generate", "--key-name", "kamaki-gen"]);
    assert!(
        sim.backend()
            .snapshot()
            .keypairs
            .iter()
            .any(|kp| kp.name == "kamaki-gen")
    );

    // ---- Delete the server
    k.ok(&["server", "delete", &sids, "-w"]);
    assert!(server(&sim.backend().snapshot()).is_deleted());

    rt.block_on(sim.shutdown());
}
