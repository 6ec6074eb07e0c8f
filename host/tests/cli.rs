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
