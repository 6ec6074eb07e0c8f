//! Throughput of `GET /compute/v2.0/servers/detail` with 100 servers.
//!
//! Run with: `cargo run --release -p okeanos-sim --example bench [-- SECONDS CLIENTS]`
//!
//! Starts the simulator in-process on 127.0.0.1:0, creates 100 servers over HTTP, then
//! hammers the detail list with concurrent keep-alive clients (one connection each) and
//! prints requests per second. Client and server share the same machine and runtime, so
//! the figure is a floor for the server alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use okeanos_sim::{SimConfig, Timings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let clients: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(4);

    let sim = okeanos_sim::spawn(
        SimConfig {
            timings: Timings::instant(),
            ..Default::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let base = sim.base_url();
    let token = sim.token();
    let setup = reqwest::Client::new();
    for i in 0..100 {
        let r = setup
            .post(format!("{base}/compute/v2.0/servers"))
            .header("X-Auth-Token", &token)
            .json(&serde_json::json!({"server": {
                "name": format!("bench-{i}"),
                "imageRef": "fe31fced-a3cf-49c6-b43b-f58f5235ba45",
                "flavorRef": 49,
                "metadata": {"OS": "ubuntu", "USERS": "user", "run": "bench"},
            }}))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 202, "create failed: {}", r.text().await?);
    }
    let url = format!("{base}/compute/v2.0/servers/detail");
    let probe = setup
        .get(&url)
        .header("X-Auth-Token", &token)
        .send()
        .await?;
    let body = probe.bytes().await?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(v["servers"].as_array().map(Vec::len) == Some(100));
    println!(
        "100 servers, detail body {} bytes; {clients} clients for {seconds} s…",
        body.len()
    );

    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        // One client per task: one keep-alive connection each.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let (url, token, done, bytes) = (url.clone(), token.clone(), done.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match client.get(&url).header("X-Auth-Token", &token).send().await {
                    Ok(r) if r.status() == 200 => {
                        if let Ok(b) = r.bytes().await {
                            bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} requests in {secs:.2} s = {:.0} req/s ({:.0} MB/s of JSON)",
        n as f64 / secs,
        bytes.load(Ordering::Relaxed) as f64 / secs / 1e6
    );
    println!(
        "reproduce: cargo run --release -p okeanos-sim --example bench -- {seconds} {clients}"
    );
    sim.shutdown().await;
    Ok(())
}
