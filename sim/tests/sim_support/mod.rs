//! Shared helpers of the simulator conformance suite: a simulator on `127.0.0.1:0` with
//! short timings and a tiny JSON client that returns status, headers and body.
#![allow(dead_code)]

use std::time::Duration;

use okeanos_sim::{RunningSim, SimConfig, SimUser, Timings};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The documented public Ubuntu image.
pub const UBUNTU: &str = "fe31fced-a3cf-49c6-b43b-f58f5235ba45";
/// `C1R1024D10ext_vlmc`: detachable volumes, snapshots allowed.
pub const VLMC: u64 = 49;
/// `C1R1024D10drbd`.
pub const DRBD: u64 = 1;
/// Token of the second user.
pub const OTHER_TOKEN: &str = "other-user-token";
/// Uuid (and project) of the second user.
pub const OTHER_UUID: &str = "99999999-8888-4777-8666-555555555555";

/// One response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the text when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// The `(fault name, message)` of a fault envelope.
    pub fn fault(&self) -> (String, String) {
        let v = self.json();
        let (name, body) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("fault envelope");
        assert_eq!(
            body["code"].as_u64(),
            Some(self.status.as_u16() as u64),
            "code field"
        );
        (
            name.clone(),
            body["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// A running simulator with two users and a client.
pub struct Sim {
    pub sim: RunningSim,
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// Timings used by the suite: short but observable.
pub fn quick() -> Timings {
    Timings::uniform(Duration::from_millis(300))
}

impl Sim {
    pub async fn start() -> Sim {
        Self::with(SimConfig {
            timings: quick(),
            ..Default::default()
        })
        .await
    }

    pub async fn with(mut config: SimConfig) -> Sim {
        if config.users.len() < 2 {
            config.users.push(SimUser {
                token: OTHER_TOKEN.into(),
                uuid: OTHER_UUID.into(),
                name: "Other User".into(),
            });
        }
        let sim = okeanos_sim::spawn(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("spawn");
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if let Some(pem) = sim.ca_cert_pem() {
            builder = builder
                .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
        }
        Sim {
            base: sim.base_url(),
            token: sim.token(),
            client: builder.build().unwrap(),
            sim,
        }
    }

    /// A request with full control (no token when `token` is None; raw body).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, reqwest::Error> {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.header("X-Auth-Token", t);
        }
        if let Some(ct) = content_type {
            rb = rb.header("Content-Type", ct);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().await?;
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await?;
        Ok(Resp {
            status,
            headers,
            text,
        })
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let (ct, body) = match body {
            Some(b) => (
                Some("application/json"),
                Some(serde_json::to_vec(&b).unwrap()),
            ),
            None => (None, None),
        };
        self.raw(method, path, Some(token), ct, body, &[])
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call_as(&self.token.clone(), Method::GET, path, None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call_as(&self.token.clone(), Method::POST, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call_as(&self.token.clone(), Method::PUT, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call_as(&self.token.clone(), Method::DELETE, path, None)
            .await
    }

    /// `POST /servers` with the given extra fields; returns the response.
    pub async fn create_server_with(&self, name: &str, flavor: u64, extra: Value) -> Resp {
        let mut server = serde_json::json!({"name": name, "imageRef": UBUNTU, "flavorRef": flavor});
        if let (Some(s), Some(e)) = (server.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        self.post(
            "/compute/v2.0/servers",
            serde_json::json!({"server": server}),
        )
        .await
    }

    /// Creates a server and returns its id.
    pub async fn create_server(&self, name: &str, flavor: u64) -> u64 {
        let r = self
            .create_server_with(name, flavor, serde_json::json!({}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        r.json()["server"]["id"].as_u64().unwrap()
    }

    /// Creates a server and waits until it is ACTIVE.
    pub async fn active_server(&self, name: &str, flavor: u64) -> u64 {
        let id = self.create_server(name, flavor).await;
        self.wait_server(id, "ACTIVE").await;
        id
    }

    /// Polls a JSON path until `pred` holds (5 s at most); returns the last body.
    pub async fn wait_for(&self, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..250 {
            let r = self.get(path).await;
            if r.status.is_success() {
                let v = r.json();
                if pred(&v) {
                    return v;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "timed out waiting on {path}: last {}",
            self.get(path).await.text
        );
    }

    pub async fn wait_server(&self, id: u64, status: &str) -> Value {
        let v = self
            .wait_for(&format!("/compute/v2.0/servers/{id}"), |v| {
                v["server"]["status"] == status && v["server"]["SNF:task_state"] == ""
            })
            .await;
        v["server"].clone()
    }

    pub async fn wait_volume(&self, id: &str, status: &str) -> Value {
        let v = self
            .wait_for(&format!("/volume/v2.0/volumes/{id}"), |v| {
                v["volume"]["status"] == status
            })
            .await;
        v["volume"].clone()
    }

    pub async fn action(&self, id: u64, body: Value) -> Resp {
        self.post(&format!("/compute/v2.0/servers/{id}/action"), body)
            .await
    }
}

/// Asserts status and fault name (and message when given).
#[track_caller]
pub fn assert_fault(r: &Resp, status: u16, name: &str, message: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "status; body {}", r.text);
    let (n, m) = r.fault();
    assert_eq!(n, name, "fault name; body {}", r.text);
    if let Some(msg) = message {
        assert_eq!(m, msg, "fault message");
    }
}
