//! Serve mode end to end: the HTTP/JSON API in-process on a real socket, the real okeanos
//! component in wasmtime, the simulator behind it — auth, VMs and deployments as jobs,
//! hot swap under load, rejected swaps, rollback, metrics.

use connector_host::config::HostConfig;
use connector_host::serve::{self, ServerState};
use connector_runtime::digest::digest;
use e2e_tests::{MISBEHAVING_COMPONENT, fast_timings, start_sim};
use okeanos_sim::{RunningSim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const USER: &str = "user-token-for-tests-1234";
const ADMIN: &str = "admin-token-for-tests-5678";

/// A server on 127.0.0.1:0 over a fresh simulator.
struct Server {
    base: String,
    http: reqwest::Client,
    sim: RunningSim,
    state: ServerState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn config_text(sim: &RunningSim, dir: &std::path::Path) -> String {
    let okeanos_file = dir.join("okeanos.wasm");
    std::fs::write(&okeanos_file, connector_artifacts::OKEANOS_CONNECTOR).unwrap();
    format!(
        r#"
[cloud]
auth_url = "{auth}"
token = "{token}"
allowed_hosts = ["http://{addr}"]

[orchestration]
poll_interval = "100ms"
vm_timeout = "30s"

[engine]
cache_dir = "{cache}"

[server]
user_tokens = ["{USER}"]
admin_token = "{ADMIN}"

# A slot whose configuration makes the misbehaving component panic in `info`: swapping
# that component in must be rejected. It starts with the (well-behaved) okeanos component.
[connectors.bad]
component = "{okeanos}"
secret_keys = ["token"]
allowed_hosts = ["http://{addr}"]
[connectors.bad.config]
auth_url = "{auth}"
token = "{token}"
mode = "info-panic"
"#,
        auth = sim.auth_url(),
        token = sim.token(),
        addr = sim.addr(),
        cache = dir.join("cache").display(),
        okeanos = okeanos_file.display(),
    )
}

async fn start() -> Server {
    start_with(|text| text).await
}

/// A server whose configuration text went through `edit`.
async fn start_with(edit: impl FnOnce(String) -> String) -> Server {
    let sim = start_sim(SimConfig {
        timings: fast_timings(),
        ..Default::default()
    })
    .await;
    start_on(sim, edit).await
}

/// A server in front of `sim`, whose configuration text went through `edit`.
async fn start_on(sim: RunningSim, edit: impl FnOnce(String) -> String) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig::parse(&edit(config_text(&sim, dir.path()))).unwrap();
    let built = serve::build_registry(&config, None)
        .await
        .expect("the registry builds");
    assert!(
        built.simulator.is_none(),
        "the configured cloud is used, not the embedded simulator"
    );
    let state = ServerState::new(built.registry.clone(), &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::serve_on(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Server {
        base,
        http: reqwest::Client::new(),
        sim,
        state,
        stop: Some(stop),
        _dir: dir,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get_as(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = req.send().await.expect("the server answers");
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(
            !text.contains(&self.sim.token()) && !text.contains(USER) && !text.contains(ADMIN),
            "a token leaked into a response: {text}"
        );
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// The Prometheus text of `/metrics`.
    async fn metrics(&self) -> String {
        let r = self.http.get(self.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(self.get_as(USER, path)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(self.http.post(self.url(path)).bearer_auth(USER).json(&body))
            .await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(self.http.delete(self.url(path)).bearer_auth(USER))
            .await
    }

    async fn admin_post(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        self.call(
            self.http
                .post(self.url(path))
                .bearer_auth(ADMIN)
                .header("content-type", "application/wasm")
                .body(body),
        )
        .await
    }

    /// Polls `path` until `status` is no longer "running".
    async fn poll(&self, path: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (code, v) = self.get(path).await;
            assert_eq!(code, StatusCode::OK, "{path}: {v}");
            if v["status"] != "running" {
                return v;
            }
            assert!(Instant::now() < deadline, "{path} still running: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn okeanos_status(&self) -> Value {
        let (code, list) = self.call(self.get_as(ADMIN, "/v1/admin/connectors")).await;
        assert_eq!(code, StatusCode::OK, "{list}");
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "okeanos")
            .cloned()
            .expect("okeanos is listed")
    }
}

/// The same component with a custom section appended: another digest, the same behaviour.
fn variant(bytes: &[u8], tag: &str) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"connector-host-test";
    let mut payload = Vec::new();
    leb128(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0x00);
    leb128(payload.len(), &mut out);
    out.extend_from_slice(&payload);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_v1_route_needs_a_token_and_admin_routes_the_admin_token() {
    let s = start().await;
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok");

    let (code, v) = s
        .call(s.http.get(s.url("/v1/connectors/okeanos/flavors")))
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["kind"], "unauthenticated");
    let (code, v) = s
        .call(s.get_as("not-a-token", "/v1/connectors/okeanos/flavors"))
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{v}");
    assert!(
        !v.to_string().contains("not-a-token"),
        "the presented token is not echoed: {v}"
    );
    // Even an unknown route under /v1 says 401 first: nothing is revealed without a token.
    let (code, _) = s.call(s.http.get(s.url("/v1/nothing-here"))).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    let (code, v) = s.get("/v1/admin/connectors").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");
    let (code, v) = s
        .call(
            s.http
                .post(s.url("/v1/admin/connectors/okeanos/rollback"))
                .bearer_auth(USER),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{v}");

    let (code, flavors) = s.get("/v1/connectors/okeanos/flavors").await;
    assert_eq!(code, StatusCode::OK, "{flavors}");
    assert!(
        flavors
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "C2R2048D10ext_vlmc"),
        "{flavors}"
    );
    let (code, _) = s
        .call(s.get_as(ADMIN, "/v1/connectors/okeanos/images"))
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the admin token works on user routes too"
    );
    let (code, v) = s.get("/v1/connectors").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");

    let (code, v) = s.get("/v1/connectors/nope/flavors").await;
    assert_eq!(
        (code, v["error"]["kind"].clone()),
        (StatusCode::NOT_FOUND, json!("not-found"))
    );
    let (code, v) = s.get("/v1/connectors/okeanos/vms/999999").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{v}");
    let (code, v) = s.get("/v1/connectors/okeanos/vms?colour=red").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");

    // Serve mode refuses to start as an open API.
    let open = HostConfig::parse("[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let registry = Arc::new(connector_runtime::registry::Registry::new(
        e2e_tests::runtime(),
    ));
    let err = ServerState::new(registry, &open)
        .err()
        .expect("no tokens, no server");
    assert!(err.to_string().contains("user_tokens"), "{err}");
}

const DEPLOYMENT: &str = r#"
name = "api-app"
[defaults]
image = "CELAR-Ubuntu-14.04-LTS"
flavor = "C2R2048D10ext_vlmc"
[[node]]
name = "web"
count = 2
[[node]]
name = "db"
cpu = 4
ram_mb = 4096
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vm_and_a_deployment_run_as_jobs_and_are_terminated() {
    let s = start().await;

    // run-image: a job to poll.
    let (code, job) = s
        .post(
            "/v1/connectors/okeanos/vms",
            json!({"image": "CELAR-Ubuntu-14.04-LTS", "flavor": "C2R2048D10ext_vlmc", "name": "api-vm",
                   "ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest me@test"],
                   "files": [{"path": "/root/hello.txt", "contents": "hi"}], "tags": {"team": "serve"}}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "run-image");
    let done = s.poll(job["status_url"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let vm = &done["result"];
    assert_eq!(vm["state"], "running", "{vm}");
    assert!(!vm["ipv4"].as_array().unwrap().is_empty(), "{vm}");
    let vm_id = vm["id"].as_str().unwrap().to_string();
    let (code, described) = s.get(&format!("/v1/connectors/okeanos/vms/{vm_id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        !described["disks"].as_array().unwrap().is_empty(),
        "{described}"
    );
    let (_, tagged) = s.get("/v1/connectors/okeanos/vms?tag=team=serve").await;
    assert_eq!(tagged.as_array().unwrap().len(), 1, "{tagged}");

    // An absurd deployment is refused at once, before anything is created, memory flat.
    let rss_before = rss_kib();
    let (code, v) = s
        .call(
            s.http
                .post(s.url("/v1/connectors/okeanos/deployments"))
                .bearer_auth(USER)
                .body(DEPLOYMENT.replace("count = 2", "count = 4000000000")),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("4000000001 VMs") && msg.contains("max_vms_per_run"),
        "{msg}"
    );
    // Other tests of this binary run alongside: the bound only catches a run held in memory
    // (one task per VM of 4e9 grew by gigabytes within seconds).
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(grown < 512 * 1024, "the process grew by {grown} KiB");

    // Deployments may not name files on the server.
    let (code, v) = s
        .call(
            s.http
                .post(s.url("/v1/connectors/okeanos/deployments"))
                .bearer_auth(USER)
                .body(format!("{DEPLOYMENT}ssh_keys = [\"~/.ssh/id_rsa.pub\"]\n")),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");

    // A deployment (TOML): 202, then progress until every VM runs.
    let (code, accepted) = s
        .call(
            s.http
                .post(s.url("/v1/connectors/okeanos/deployments"))
                .bearer_auth(USER)
                .header("content-type", "application/toml")
                .body(DEPLOYMENT),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{accepted}");
    let run_id = accepted["run_id"].as_str().unwrap().to_string();
    let status_url = accepted["status_url"].as_str().unwrap().to_string();
    assert_eq!(
        status_url,
        format!("/v1/connectors/okeanos/deployments/{run_id}")
    );
    let status = s.poll(&status_url).await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["groups"]["web"]["running"], 2, "{status}");
    assert_eq!(status["groups"]["db"]["running"], 1, "{status}");
    let vms = status["vms"].as_array().unwrap();
    assert_eq!(vms.len(), 3, "{status}");
    assert!(
        vms.iter()
            .all(|v| v["state"] == "running" && !v["ipv4"].as_array().unwrap().is_empty())
    );
    assert_eq!(vms[0]["node"], "db");
    let (_, listed) = s
        .get(&format!("/v1/connectors/okeanos/vms?run_id={run_id}"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let (_, runs) = s.get("/v1/connectors/okeanos/deployments").await;
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["run_id"] == run_id.as_str()),
        "{runs}"
    );
    let (_, jobs) = s.get("/v1/jobs").await;
    assert_eq!(jobs.as_array().unwrap().len(), 2, "{jobs}");

    // Terminate the run, then the single VM.
    let (code, term) = s.delete(&status_url).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{term}");
    let term = s.poll(term["status_url"].as_str().unwrap()).await;
    assert_eq!(term["status"], "succeeded", "{term}");
    assert_eq!(term["result"]["terminated"], 3, "{term}");
    let (code, gone) = s
        .delete(&format!("/v1/connectors/okeanos/vms/{vm_id}?wait=true"))
        .await;
    assert_eq!(code, StatusCode::OK, "{gone}");
    let (_, left) = s
        .get(&format!("/v1/connectors/okeanos/vms?run_id={run_id}"))
        .await;
    assert!(left.as_array().unwrap().is_empty(), "{left}");
    let user = s.sim.backend().users()[0].uuid.clone();
    assert_eq!(s.sim.backend().server_count(&user), 0);
    let (code, _) = s
        .delete("/v1/connectors/okeanos/deployments/nosuchrun123")
        .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "an unknown run with no VM: nothing to terminate"
    );

    // ?wait=true answers with the VM itself once it runs.
    let (code, vm) = s
        .post(
            "/v1/connectors/okeanos/vms?wait=true",
            json!({"image": "CELAR-Ubuntu-14.04-LTS", "cpu": 2, "ram_mb": 2048}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{vm}");
    assert_eq!(vm["state"], "running");
    let (code, _) = s
        .delete(&format!(
            "/v1/connectors/okeanos/vms/{}?wait=true",
            vm["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_swap_under_a_steady_stream_of_calls_loses_none() {
    let s = Arc::new(start().await);
    let a = connector_artifacts::OKEANOS_CONNECTOR.to_vec();
    let b = variant(&a, "b");
    assert_ne!(digest(&a), digest(&b));
    assert_eq!(s.okeanos_status().await["digest"], digest(&a));

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut callers = Vec::new();
    for _ in 0..4 {
        let (s, stop, ok, failed) = (s.clone(), stop.clone(), ok.clone(), failed.clone());
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let (code, v) = s.get("/v1/connectors/okeanos/flavors").await;
                if code == StatusCode::OK && v.as_array().is_some_and(|f| !f.is_empty()) {
                    ok.fetch_add(1, Ordering::SeqCst);
                } else {
                    eprintln!("call failed during swaps: {code} {v}");
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let started = Instant::now();
    let mut last = a.clone();
    for next in [&b, &a, &b, &a, &b] {
        let (code, outcome) = s
            .admin_post("/v1/admin/connectors/okeanos/swap", next.clone())
            .await;
        assert_eq!(code, StatusCode::OK, "{outcome}");
        assert_eq!(outcome["outcome"], "swapped", "{outcome}");
        assert_eq!(outcome["from"], digest(&last));
        assert_eq!(outcome["to"], digest(next));
        last = next.clone();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // At least ~2 s of calls in all, swaps included.
    if let Some(rest) = Duration::from_secs(2).checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    stop.store(true, Ordering::SeqCst);
    for c in callers {
        c.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!("{ok} calls during the swaps");
    assert_eq!(failed, 0, "{failed} of {} calls failed", ok + failed);
    assert!(ok >= 8, "only {ok} calls were made");

    let status = s.okeanos_status().await;
    assert_eq!(status["digest"], digest(&b), "{status}");
    assert_eq!(status["previous_digest"], digest(&a), "{status}");
    let (code, outcome) = s
        .admin_post("/v1/admin/connectors/okeanos/swap", b.clone())
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        outcome,
        json!({"outcome": "unchanged", "digest": digest(&b)})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_components_are_rejected_the_old_version_serves_and_rollback_returns() {
    let s = start().await;
    let a = connector_artifacts::OKEANOS_CONNECTOR.to_vec();
    let b = variant(&a, "b");

    // Garbage: rejected with the reason; the old version keeps serving.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (code, v) = s
        .admin_post("/v1/admin/connectors/okeanos/swap", garbage)
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["kind"], "rejected");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("not a valid WebAssembly component") && msg.contains("keeps serving"),
        "{msg}"
    );
    assert_eq!(s.okeanos_status().await["digest"], digest(&a));
    let (code, _) = s.get("/v1/connectors/okeanos/flavors").await;
    assert_eq!(code, StatusCode::OK);

    // A valid component that fails validation in this slot: its `info` panics.
    let (code, v) = s
        .admin_post(
            "/v1/admin/connectors/bad/swap",
            MISBEHAVING_COMPONENT.to_vec(),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("info"),
        "the reason names the failed check: {msg}"
    );
    let (code, flavors) = s.get("/v1/connectors/bad/flavors").await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the slot's old version still serves: {flavors}"
    );

    // Unknown slot, empty body.
    let (code, _) = s
        .admin_post("/v1/admin/connectors/nope/swap", a.clone())
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = s
        .admin_post("/v1/admin/connectors/okeanos/swap", Vec::new())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // Rollback: nothing to go back to, then back from b to a.
    let (code, v) = s
        .admin_post("/v1/admin/connectors/okeanos/rollback", Vec::new())
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    let (code, v) = s
        .admin_post("/v1/admin/connectors/okeanos/swap", b.clone())
        .await;
    assert_eq!((code, v["to"].clone()), (StatusCode::OK, json!(digest(&b))));
    let (code, v) = s
        .admin_post("/v1/admin/connectors/okeanos/rollback", Vec::new())
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["to"], digest(&a), "{v}");
    let status = s.okeanos_status().await;
    assert_eq!(status["digest"], digest(&a));
    assert_eq!(status["previous_digest"], digest(&b));
    let (code, _) = s.get("/v1/connectors/okeanos/flavors").await;
    assert_eq!(code, StatusCode::OK);

    // The counters saw it all: calls, an error, swaps, rejections.
    let (code, _) = s.get("/v1/connectors/okeanos/vms/999999").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let r = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4");
    let metrics = r.text().await.unwrap();
    let has = |needle: &str| metrics.lines().any(|l| l.starts_with(needle));
    assert!(
        has("connector_calls_total{connector=\"okeanos\",op=\"list_flavors\"}"),
        "{metrics}"
    );
    assert!(
        has("connector_call_errors_total{connector=\"okeanos\",op=\"get_vm\",kind=\"not-found\"}"),
        "{metrics}"
    );
    assert!(
        has("connector_swaps_total{connector=\"okeanos\"} 2"),
        "a swap and a rollback: {metrics}"
    );
    assert!(
        has("connector_swaps_rejected_total{connector=\"okeanos\"} 1"),
        "{metrics}"
    );
    assert!(
        has("connector_swaps_rejected_total{connector=\"bad\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_past_its_job_limit_gets_429_with_retry_after() {
    let s = start_with(|text| {
        text.replace(
            &format!("admin_token = \"{ADMIN}\""),
            &format!("admin_token = \"{ADMIN}\"\nmax_jobs_per_caller = 1"),
        )
    })
    .await;
    // Creates take a while: the first job is surely still running when the second comes.
    s.sim.faults().set(okeanos_sim::FaultConfig::only(
        "POST /compute/v2.0/servers",
        okeanos_sim::FaultRule::latency(3_000),
    ));
    let body = json!({"image": "CELAR-Ubuntu-14.04-LTS", "flavor": "C2R2048D10ext_vlmc"});
    let (code, first) = s.post("/v1/connectors/okeanos/vms", body.clone()).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{first}");
    let response = s
        .http
        .post(s.url("/v1/connectors/okeanos/vms"))
        .bearer_auth(USER)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    let v: Value = response.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_jobs_per_caller = 1"),
        "{v}"
    );
    // Once the first is done, the caller may submit again.
    let done = s.poll(first["status_url"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let (code, again) = s.post("/v1/connectors/okeanos/vms", body).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{again}");
    s.poll(again["status_url"].as_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_finishes_the_runs_it_was_driving() {
    let journal = tempfile::tempdir().unwrap();
    let state_dir = journal.path().display().to_string();
    let edit = |text: String| {
        text.replace(
            &format!("admin_token = \"{ADMIN}\""),
            &format!("admin_token = \"{ADMIN}\"\nstate_dir = \"{state_dir}\""),
        )
        .replace(
            "vm_timeout = \"30s\"",
            "vm_timeout = \"30s\"\nlease_ttl = \"1s\"",
        )
    };
    let s = start_with(edit).await;
    // Slow builds: the run is midway when its server dies.
    s.sim.backend().set_timings(okeanos_sim::Timings {
        build: Duration::from_secs(3),
        ..fast_timings()
    });
    let (code, accepted) = s
        .call(
            s.http
                .post(s.url("/v1/connectors/okeanos/deployments"))
                .bearer_auth(USER)
                .body(DEPLOYMENT),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{accepted}");
    let run_id = accepted["run_id"].as_str().unwrap().to_string();
    let user = s.sim.backend().users()[0].uuid.clone();
    for _ in 0..600 {
        if s.sim.backend().server_count(&user) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The server dies: its jobs stop where they are, and the journal keeps the run.
    for job in s.state.jobs().running() {
        job.cancel("the server died");
    }
    assert_eq!(std::fs::read_dir(journal.path()).unwrap().count(), 1);

    // A new server on the same state dir finishes the run.
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig::parse(&edit(config_text(&s.sim, dir.path()))).unwrap();
    let built = serve::build_registry(&config, None).await.unwrap();
    let state = ServerState::new(built.registry.clone(), &config).unwrap();
    state.pick_up_unfinished_runs();
    let job = state
        .jobs()
        .for_run("deployment", "okeanos", &run_id)
        .expect("the run was picked up");
    let done = tokio::time::timeout(Duration::from_secs(120), job.finished())
        .await
        .expect("bounded");
    assert_eq!(
        done.status,
        serve::jobs::JobStatus::Succeeded,
        "{:?}",
        done.error
    );
    let snapshot = s.sim.backend().snapshot();
    let mut slots: Vec<String> = snapshot
        .servers
        .values()
        .filter(|v| v.user_id == user && !v.is_deleted())
        .map(|v| {
            assert_eq!(v.status.as_str(), "ACTIVE");
            format!(
                "{}/{}",
                v.metadata["slipstream.node"], v.metadata["slipstream.index"]
            )
        })
        .collect();
    slots.sort();
    assert_eq!(slots, ["db/1", "web/1", "web/2"], "exactly the run's VMs");
    assert_eq!(
        std::fs::read_dir(journal.path()).unwrap().count(),
        0,
        "nothing left unfinished"
    );
}

/// This process's resident memory (Linux), in KiB; 0 where it cannot be read.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_configured_bound_get_503_with_retry_after_and_show_in_metrics() {
    let s = start_with(|text| {
        text.replace(
            "[engine]\n",
            "[engine]\nmax_instances = 2\nmax_queued = 2\n",
        )
    })
    .await;
    let (code, vm) = s
        .post(
            "/v1/connectors/okeanos/vms",
            json!({"image": "CELAR-Ubuntu-14.04-LTS", "flavor": "C2R2048D10ext_vlmc"}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{vm}");
    let done = s.poll(vm["status_url"].as_str().unwrap()).await;
    let id = done["result"]["id"]
        .as_str()
        .expect("the VM's id")
        .to_string();
    // From now on the cloud takes its time: two calls run, two wait, the rest are refused.
    s.sim.faults().set(okeanos_sim::FaultConfig {
        global: okeanos_sim::FaultRule {
            latency_ms: 2_000,
            ..Default::default()
        },
        ..Default::default()
    });
    let path = format!("/v1/connectors/okeanos/vms/{id}");
    let calls: Vec<_> = (0..8)
        .map(|_| tokio::spawn(s.get_as(USER, &path).send()))
        .collect();
    // While they are in flight, the metrics show the calls running and waiting.
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        assert!(Instant::now() < deadline, "no call ever queued");
        let text = s.metrics().await;
        if text.lines().any(|l| l == "connector_calls_queued 2") {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        metrics.lines().any(|l| l == "connector_calls_running 2"),
        "{metrics}"
    );
    let (mut ok, mut busy) = (0, 0);
    for call in calls {
        let r = call.await.unwrap().unwrap();
        match r.status() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                let retry_after: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry_after >= 1);
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["error"]["kind"], "busy", "{v}");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("max_queued"),
                    "{v}"
                );
            }
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(busy >= 1, "the bound refused nothing ({ok} ok)");
    assert!(
        ok >= 2,
        "the calls within the bound were served ({busy} busy)"
    );
    let text = s.metrics().await;
    assert!(
        text.lines().any(|l| l == "connector_calls_queued 0"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("connector_call_errors_total{") && l.contains("kind=\"busy\"")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_with_recipes_reports_each_vms_recipe_and_serves_its_log() {
    let sim = start_sim(SimConfig {
        timings: fast_timings(),
        ssh_listen: Some("127.0.0.1:0".parse().unwrap()),
        ssh_boot_time: Duration::from_millis(200),
        recipe_time: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let gateway = sim.ssh_addr().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let runs_dir = runs.path().display().to_string();
    let s = start_on(sim, |text| {
        format!("{text}\n[ssh]\njump = \"gw@{gateway}\"\nruns_dir = \"{runs_dir}\"\n")
    })
    .await;
    let deployment = "name = \"svc\"\n[defaults]\nimage = \"CELAR-Ubuntu-14.04-LTS\"\nflavor = \"C1R1024D10ext_vlmc\"\n[[node]]\nname = \"app\"\ncount = 2\nrecipe_script = \"#!/bin/sh\\necho configured\\n\"\n";
    let r = s
        .http
        .post(s.url("/v1/connectors/okeanos/deployments"))
        .bearer_auth(USER)
        .body(deployment)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: Value = r.json().await.unwrap();
    let done = s.poll(job["status_url"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let run_id = done["run_id"].as_str().unwrap().to_string();
    let vms = done["vms"].as_array().expect("the run's VMs");
    assert_eq!(vms.len(), 2, "{done}");
    for vm in vms {
        assert_eq!(vm["recipe"]["status"], "succeeded", "{vm}");
        assert_eq!(vm["recipe"]["exit_code"], 0, "{vm}");
        // Counted through the simulator: the recipe ran once on this VM.
        let id: u64 = vm["id"].as_str().unwrap().parse().unwrap();
        let records = s.sim.backend().recipes(id).unwrap();
        assert_eq!(records["recipes"].as_array().unwrap().len(), 1, "{records}");
        let (node, index) = (vm["node"].as_str().unwrap(), vm["index"].as_u64().unwrap());
        let r = s
            .get_as(
                USER,
                &format!("/v1/connectors/okeanos/deployments/{run_id}/logs/{node}/{index}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let log = r.text().await.unwrap();
        assert!(
            log.contains("host key SHA256:") && log.contains("okeanos-sim"),
            "{log}"
        );
    }
    assert_eq!(done["groups"]["app"]["configured"], 2, "{done}");
    let (code, _) = s
        .get(&format!(
            "/v1/connectors/okeanos/deployments/{run_id}/logs/app/9"
        ))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // Terminating the run deletes its key (its logs stay).
    let (code, term) = s
        .delete(&format!("/v1/connectors/okeanos/deployments/{run_id}"))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{term}");
    s.poll(term["status_url"].as_str().unwrap()).await;
    assert!(!runs.path().join(&run_id).join("key").exists());
    assert!(runs.path().join(&run_id).join("app-1.log").exists());
}
