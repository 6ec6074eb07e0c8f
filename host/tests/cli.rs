//! The command line as users run it: the real binary, a simulator on a real socket, a config
//! file. Checks the contract (exit codes, JSON shapes) and that the token never shows up in
//! anything the binary prints, even at the most verbose log level.

use std::path::Path;
use std::process::Command;

const TOKEN: &str = "s3cret-okeanos-token-4242";

fn run(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .arg("--config")
        .arg(config)
        .args(args)
        // Everything of ours and of the HTTP stack at trace level; the compiler crates are
        // quiet (their trace output is huge and holds no request data).
        .env(
            "RUST_LOG",
            "trace,cranelift=warn,wasmtime=warn,regalloc2=warn,wasmparser=warn",
        )
        .env_remove("OKEANOS_TOKEN")
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_never_prints_the_token_and_keeps_the_cli_contract() {
    let sim = okeanos_sim::spawn(
        okeanos_sim::SimConfig {
            users: vec![okeanos_sim::SimUser::with_token(TOKEN, "CLI Test")],
            timings: okeanos_sim::Timings::uniform(std::time::Duration::from_millis(200)),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[cloud]\nauth_url = \"{}\"\ntoken = \"{TOKEN}\"\nallowed_hosts = [\"http://{}\"]\n\n[engine]\ncache_dir = \"{}\"\n\n[orchestration]\npoll_interval = \"200ms\"\n",
            sim.auth_url(),
            sim.addr(),
            dir.path().join("cache").display()
        ),
    )
    .unwrap();
    let mut everything = String::new();

    let (ok, out, err) = tokio::task::block_in_place(|| {
        run(
            &config,
            &[
                "-vv",
                "--output",
                "json",
                "run-image",
                "--image",
                "CELAR-Ubuntu-14.04-LTS",
                "--flavor",
                "C2R2048D10ext_vlmc",
                "--name",
                "cli-vm",
            ],
        )
    });
    everything += &(out.clone() + &err);
    assert!(ok, "run-image failed: {err}");
    let vm: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    for key in [
        "id", "name", "state", "ipv4", "ipv6", "flavor", "image", "tags",
    ] {
        assert!(vm.get(key).is_some(), "missing {key}: {vm}");
    }
    assert_eq!(vm["state"], "running");
    assert!(!vm["ipv4"].as_array().unwrap().is_empty());
    let id = vm["id"].as_str().unwrap().to_string();

    let (ok, out, err) = tokio::task::block_in_place(|| run(&config, &["-vv", "list"]));
    everything += &(out.clone() + &err);
    assert!(ok && out.contains(&id), "list shows the VM: {out}{err}");

    let (ok, out, err) = tokio::task::block_in_place(|| run(&config, &["-vv", "terminate", &id]));
    everything += &(out.clone() + &err);
    assert!(ok, "terminate: {err}");

    let (ok, out, err) =
        tokio::task::block_in_place(|| run(&config, &["--output", "json", "list"]));
    everything += &(out.clone() + &err);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );

    // Errors: non-zero exit, a message on stderr that says what to do.
    let (ok, _out, err) = tokio::task::block_in_place(|| {
        run(
            &config,
            &[
                "run-image",
                "--image",
                "CELAR-Ubuntu-14.04-LTS",
                "--flavor",
                "C2R2048D10ext_vlm",
            ],
        )
    });
    everything += &err;
    assert!(!ok);
    assert!(
        err.contains("C2R2048D10ext_vlmc"),
        "suggests the close match: {err}"
    );

    assert!(
        everything.contains("okeanos-connector"),
        "the guest's own log lines reached the host's logs"
    );
    assert!(
        !everything.contains(TOKEN),
        "the token leaked into the output:\n{everything}"
    );
    sim.shutdown().await;
}

#[test]
fn an_absurd_deployment_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    // No cloud is reachable at this address: the refusal must come before any call.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[cloud]\nauth_url = \"http://127.0.0.1:9/identity/v2.0\"\ntoken = \"{TOKEN}\"\nallowed_hosts = [\"http://127.0.0.1:9\"]\n\n[engine]\ncache_dir = \"{}\"\n",
            dir.path().join("cache").display()
        ),
    )
    .unwrap();
    let file = dir.path().join("huge.toml");
    std::fs::write(
        &file,
        "name = \"huge\"\n[defaults]\nimage = \"i\"\nflavor = \"f\"\n[[node]]\nname = \"a\"\ncount = 4000000000\n",
    )
    .unwrap();
    let (ok, _out, err) = run(&config, &["deploy", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("asks for 4000000000 VMs") && err.contains("max_vms_per_run"),
        "{err}"
    );
}

/// A config file for a simulator at `sim`.
fn config_for(sim: &okeanos_sim::RunningSim, dir: &Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[cloud]\nauth_url = \"{}\"\ntoken = \"{TOKEN}\"\nallowed_hosts = [\"http://{}\"]\n\n[engine]\ncache_dir = \"{}\"\n\n[orchestration]\npoll_interval = \"200ms\"\nlease_ttl = \"2s\"\n",
            sim.auth_url(),
            sim.addr(),
            dir.join("cache").display()
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_midway_is_listed_and_resumed_to_exactly_its_vms() {
    use std::io::{BufRead, BufReader};
    let sim = okeanos_sim::spawn(
        okeanos_sim::SimConfig {
            users: vec![okeanos_sim::SimUser::with_token(TOKEN, "CLI Test")],
            timings: okeanos_sim::Timings {
                // Long enough that the resumed run is still waiting when a second one comes.
                build: std::time::Duration::from_secs(15),
                ..okeanos_sim::Timings::uniform(std::time::Duration::from_millis(200))
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&sim, dir.path());
    let file = dir.path().join("app.toml");
    std::fs::write(
        &file,
        "name = \"app\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"web\"\ncount = 6\n",
    )
    .unwrap();
    let user = sim.backend().users()[0].uuid.clone();

    // The first orchestrator dies (SIGKILL) once some VMs exist, before they run.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .arg("--config")
        .arg(&config)
        .args(["deploy", file.to_str().unwrap()])
        .env_remove("OKEANOS_TOKEN")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Its stderr is read to the end in the background (a closed pipe would kill it early).
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(run) = line.split(" as run ").nth(1) {
                let _ = tx.send(run.to_string());
            }
        }
    });
    let run_id = tokio::task::block_in_place(|| {
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .expect("the run id is announced")
    });
    // Bounded: compiling the component first takes a while on a loaded machine.
    for _ in 0..3000 {
        if sim.backend().server_count(&user) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The dead orchestrator's lease (2 s here) runs out.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let left = sim.backend().server_count(&user);
    assert!(left > 0, "the run had started");

    // `runs` finds it in the cloud.
    let (ok, out, err) =
        tokio::task::block_in_place(|| run(&config, &["--output", "json", "runs"]));
    assert!(ok, "{err}");
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == run_id.as_str())
        .unwrap_or_else(|| panic!("run {run_id} listed: {runs}"));
    assert_eq!(listed["deployment"], "app");
    // A create in flight when it died may land after the kill: at least what was there.
    assert!(listed["vms"].as_u64().unwrap() >= left as u64, "{listed}");

    // Resuming it ends exactly as an uninterrupted run would; while it runs, a second
    // resume is refused by its lease.
    let lease = |sim: &okeanos_sim::RunningSim| -> Option<String> {
        sim.backend()
            .snapshot()
            .servers
            .values()
            .find_map(|s| s.metadata.get("slipstream.lease").cloned())
    };
    let dead_lease = lease(&sim);
    let resumed = std::process::Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .arg("--config")
        .arg(&config)
        .args([
            "--output",
            "json",
            "deploy",
            file.to_str().unwrap(),
            "--resume",
            &run_id,
        ])
        .env_remove("OKEANOS_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..3000 {
        if lease(&sim).is_some_and(|l| Some(&l) != dead_lease.as_ref() && l != "-") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (ok, _out, err) = tokio::task::block_in_place(|| {
        run(
            &config,
            &["deploy", file.to_str().unwrap(), "--resume", &run_id],
        )
    });
    assert!(
        !ok && err.contains("another orchestrator"),
        "second resume: {err}"
    );
    let resumed = tokio::task::block_in_place(|| resumed.wait_with_output().unwrap());
    let (ok, out, err) = (
        resumed.status.success(),
        String::from_utf8_lossy(&resumed.stdout).into_owned(),
        String::from_utf8_lossy(&resumed.stderr).into_owned(),
    );
    assert!(ok, "resume: {err}");
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["run_id"], run_id.as_str());
    assert_eq!(done["vms"].as_array().unwrap().len(), 6, "{done}");
    let state = sim.backend().snapshot();
    let mut slots: Vec<String> = state
        .servers
        .values()
        .filter(|s| s.user_id == user && !s.is_deleted())
        .map(|s| {
            assert_eq!(s.status.as_str(), "ACTIVE");
            s.metadata["slipstream.index"].clone()
        })
        .collect();
    slots.sort();
    assert_eq!(slots, ["1", "2", "3", "4", "5", "6"], "each slot once");

    // Resuming a run with another deployment is refused.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("\"app\"", "\"other\""),
    )
    .unwrap();
    let (ok, _out, err) = tokio::task::block_in_place(|| {
        run(
            &config,
            &["deploy", file.to_str().unwrap(), "--resume", &run_id],
        )
    });
    assert!(!ok && err.contains("belongs to deployment `app`"), "{err}");
    sim.shutdown().await;
}

/// A simulator whose VMs answer SSH through its gateway, and a config that reaches them through
/// it, with the run keys and logs in `dir`.
async fn ssh_sim(dir: &Path) -> (okeanos_sim::RunningSim, std::path::PathBuf, String) {
    let fast = std::time::Duration::from_millis(300);
    let user = okeanos_sim::SimUser::with_token(TOKEN, "CLI Test");
    let uuid = user.uuid.clone();
    let sim = okeanos_sim::spawn(
        okeanos_sim::SimConfig {
            users: vec![user],
            timings: okeanos_sim::Timings::uniform(fast),
            ssh_listen: Some("127.0.0.1:0".parse().unwrap()),
            ssh_boot_time: fast,
            recipe_time: fast,
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let config = config_for(&sim, dir);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[ssh]\njump = \"gw@{}\"\nreach_timeout = \"60s\"\nruns_dir = \"{}\"\n",
        sim.ssh_addr().unwrap(),
        dir.join("runs").display()
    ));
    std::fs::write(&config, text).unwrap();
    (sim, config, uuid)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_runs_its_recipes_over_ssh_and_a_failing_one_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config, user) = ssh_sim(dir.path()).await;
    std::fs::write(dir.path().join("db.sh"), "#!/bin/sh\necho db ready\n").unwrap();
    std::fs::write(dir.path().join("web.sh"), "#!/bin/sh\necho web ready\n").unwrap();
    let file = dir.path().join("app.toml");
    std::fs::write(
        &file,
        "name = \"app\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\nrecipe_env = { APP_MODE = \"it's live\" }\n\
         [[node]]\nname = \"db\"\nrecipe = \"db.sh\"\n\
         [[node]]\nname = \"web\"\ncount = 2\nrecipe = \"web.sh\"\n",
    )
    .unwrap();
    let (ok, out, err) = run(
        &config,
        &["--output", "json", "deploy", file.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert!(!err.contains(TOKEN) && !out.contains(TOKEN));
    let v = json(&out);
    let vms = v["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 3, "{v}");
    let web_sha = format!("{:x}", sha2_digest(b"#!/bin/sh\necho web ready\n"));
    for vm in vms {
        let recipe = &vm["recipe"];
        assert_eq!(recipe["status"], "succeeded", "{vm}");
        assert_eq!(recipe["exit_code"], 0, "{vm}");
        assert!(
            recipe["host_key"].as_str().unwrap().starts_with("SHA256:"),
            "{vm}"
        );
        let log = std::fs::read_to_string(recipe["log"].as_str().unwrap()).unwrap();
        assert!(
            log.contains("okeanos-sim"),
            "the emulated output is in the log: {log}"
        );
        // Counted through the simulator: one recipe run per VM, as root, with the env names.
        let id: u64 = vm["id"].as_str().unwrap().parse().unwrap();
        let records = sim.backend().recipes(id).unwrap();
        let runs = records["recipes"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "{records}");
        assert_eq!(runs[0]["exit_code"], 0, "{records}");
        assert_eq!(runs[0]["user"], "root");
        let env: Vec<&str> = runs[0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(
            env.contains(&"SLIPSTREAM_RUN_ID") && env.contains(&"APP_MODE"),
            "{env:?}"
        );
        if vm["node"] == "web" {
            assert_eq!(runs[0]["sha256"], web_sha.as_str(), "{records}");
        }
    }

    // A recipe that exits 3 on the web VMs fails the run with the VM, the code and its last
    // output lines, and removes every VM of the run.
    sim.backend()
        .add_recipe_fault(okeanos_sim::ssh::RecipeFault {
            name_pattern: "broken-web-*".into(),
            exit_code: Some(3),
            hang: false,
        });
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("name = \"app\"", "name = \"broken\""),
    )
    .unwrap();
    let before = sim.backend().server_count(&user);
    let (ok, _out, err) = run(&config, &["deploy", broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("broken-web-") && err.contains("exited with status 3"),
        "{err}"
    );
    assert!(
        err.contains("okeanos-sim"),
        "the last output lines are shown: {err}"
    );
    assert_eq!(
        sim.backend().server_count(&user),
        before,
        "nothing is left behind"
    );

    // A recipe that hangs runs into its timeout: the run fails and is cleaned up too.
    sim.backend()
        .add_recipe_fault(okeanos_sim::ssh::RecipeFault {
            name_pattern: "slow-db-*".into(),
            exit_code: None,
            hang: true,
        });
    let slow = dir.path().join("slow.toml");
    std::fs::write(
        &slow,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("name = \"app\"", "name = \"slow\"")
            .replace(
                "recipe = \"db.sh\"",
                "recipe = \"db.sh\"\nrecipe_timeout = \"2s\"",
            ),
    )
    .unwrap();
    let (ok, _out, err) = run(&config, &["deploy", slow.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("slow-db-1") && err.contains("2s"), "{err}");
    assert_eq!(
        sim.backend().server_count(&user),
        before,
        "nothing is left behind"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_built_with_a_recipe_carries_its_record_to_the_vms_run_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config, _user) = ssh_sim(dir.path()).await;
    let recipe = dir.path().join("bake.sh");
    std::fs::write(&recipe, "#!/bin/sh\necho baking\n").unwrap();
    let (ok, out, err) = run(
        &config,
        &[
            "--output",
            "json",
            "build-image",
            "--image",
            "CELAR-Ubuntu-14.04-LTS",
            "--flavor",
            "C1R1024D10ext_vlmc",
            "--name",
            "baked",
            "--recipe",
            recipe.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let image = json(&out);
    let image_id = image["id"].as_str().unwrap().to_string();
    let (ok, out, err) = run(
        &config,
        &[
            "--output",
            "json",
            "run-image",
            "--image",
            &image_id,
            "--flavor",
            "C1R1024D10ext_vlmc",
            "--name",
            "from-baked",
        ],
    );
    assert!(ok, "{err}");
    let vm = json(&out);
    let id: u64 = vm["id"].as_str().unwrap().parse().unwrap();
    let records = sim.backend().recipes(id).unwrap();
    let inherited = records["inherited"].as_array().unwrap();
    assert_eq!(inherited.len(), 1, "{records}");
    assert_eq!(
        inherited[0]["sha256"],
        format!("{:x}", sha2_digest(b"#!/bin/sh\necho baking\n")).as_str()
    );
    assert_eq!(inherited[0]["exit_code"], 0);
    sim.shutdown().await;
}

fn sha2_digest(bytes: &[u8]) -> impl std::fmt::LowerHex {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
}
