//! `connector-host connectors list | swap NAME FILE | rollback NAME`: the admin API of a
//! running `connector-host serve`, from the command line.
//!
//! ```text
//! connector-host connectors swap okeanos guest.wasm --server http://10.0.0.5:8080
//! ```
//! The admin token comes from `--admin-token`, else `CONNECTOR_HOST_ADMIN_TOKEN`, else
//! `[server] admin_token`; it is sent only in the `Authorization` header, never printed.

use crate::config::HostConfig;
use crate::view;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ConnectorsArgs {
    #[command(subcommand)]
    pub action: ConnectorsAction,
    /// The server's base URL [default: http:// + [server] listen, else http://127.0.0.1:8080]
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// The admin token [default: $CONNECTOR_HOST_ADMIN_TOKEN, else [server] admin_token]
    #[arg(
        long,
        global = true,
        env = "CONNECTOR_HOST_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorsAction {
    /// Show every connector of the server: version, digest, previous digest, source
    List,
    /// Replace a connector's component (validated first; the old version keeps serving if rejected)
    Swap { name: String, file: PathBuf },
    /// Go back to a connector's previous version
    Rollback { name: String },
}

/// A client of the admin API.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// A row of `GET /v1/admin/connectors` (the fields the text output shows).
#[derive(Debug, Deserialize)]
pub struct ConnectorRow {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub previous_digest: Option<String>,
    pub source: String,
}

impl AdminClient {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A swap compiles and validates the component on the server.
            .timeout(Duration::from_secs(300))
            .build()
            .context("cannot create the HTTP client")?;
        Ok(AdminClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    pub async fn list(&self) -> anyhow::Result<Value> {
        self.send(self.http.get(self.url("/v1/admin/connectors")))
            .await
    }

    pub async fn swap(&self, name: &str, component: Vec<u8>) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(self.url(&format!("/v1/admin/connectors/{name}/swap")))
            .header(reqwest::header::CONTENT_TYPE, "application/wasm")
            .body(component);
        self.send(req).await
    }

    pub async fn rollback(&self, name: &str) -> anyhow::Result<Value> {
        self.send(
            self.http
                .post(self.url(&format!("/v1/admin/connectors/{name}/rollback"))),
        )
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends with the token; turns the server's `{"error": …}` into a readable error.
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = req.bearer_auth(&self.token).send().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the connector-host server at {} ({}): is `connector-host serve` running there? (--server URL)",
                self.base,
                e.without_url()
            )
        })?;
        let status = response.status();
        let body: Value = response.json().await.with_context(|| {
            format!(
                "the server at {} answered {status} without JSON: is it a connector-host server?",
                self.base
            )
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        match status.as_u16() {
            401 => bail!(
                "the server refused the admin token ({message}); check --admin-token, CONNECTOR_HOST_ADMIN_TOKEN or [server] admin_token"
            ),
            403 => bail!("that token is not the admin token ({message})"),
            _ => bail!(
                "{message} (HTTP {status}, {})",
                body["error"]["kind"].as_str().unwrap_or("error")
            ),
        }
    }
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// Runs `connector-host connectors …`.
pub async fn run(config: &HostConfig, args: ConnectorsArgs, json: bool) -> anyhow::Result<()> {
    let base = args.server.clone().unwrap_or_else(|| {
        format!(
            "http://{}",
            config
                .server
                .listen
                .as_deref()
                .unwrap_or(crate::config::DEFAULT_LISTEN)
        )
    });
    let token = args
        .admin_token
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| config.server.admin_token.clone())
        .context("no admin token: pass --admin-token, set CONNECTOR_HOST_ADMIN_TOKEN, or set [server] admin_token in the configuration")?;
    let client = AdminClient::new(&base, &token)?;
    let print = |value: &Value, text: String| {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("JSON values print")
            );
        } else {
            println!("{text}");
        }
    };
    match args.action {
        ConnectorsAction::List => {
            let value = client.list().await?;
            let rows: Vec<ConnectorRow> = serde_json::from_value(value.clone())
                .context("the server's connector list has an unexpected shape")?;
            let headers = ["NAME", "VERSION", "DIGEST", "PREVIOUS", "SOURCE"];
            let table = view::table(&headers, &rows, |r| {
                let previous = r.previous_digest.as_deref().map(short);
                vec![
                    r.name.clone(),
                    r.version.clone(),
                    short(&r.digest).to_string(),
                    previous.unwrap_or("-").to_string(),
                    r.source.clone(),
                ]
            });
            print(&value, table);
        }
        ConnectorsAction::Swap { name, file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read component {}", file.display()))?;
            let value = client.swap(&name, bytes).await?;
            print(&value, outcome_text(&name, &value));
        }
        ConnectorsAction::Rollback { name } => {
            let value = client.rollback(&name).await?;
            print(&value, outcome_text(&name, &value));
        }
    }
    Ok(())
}

/// A swap outcome (`{"outcome": "swapped"|"unchanged", …}`) as a sentence.
fn outcome_text(name: &str, v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    match v["outcome"].as_str() {
        Some("unchanged") => format!("{name}: unchanged (already {})", short(&s("digest"))),
        Some("swapped") => format!(
            "{name}: {} → {} (version {})",
            short(&s("from")),
            short(&s("to")),
            s("version")
        ),
        _ => v.to_string(),
    }
}
