//! `connector-host`: run VMs, deployments and image builds on ~Okeanos (or the embedded
//! simulator) through the sandboxed WebAssembly connector.

use anyhow::Context;
use clap::Parser;
use connector_host::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.output == cli::OutputFormat::Json;
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let kind = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<connector_runtime::error::CallError>())
                    .map(|c| c.label())
                    .unwrap_or("error");
                eprintln!(
                    "{}",
                    serde_json::json!({"error": {"kind": kind, "message": format!("{e:#}")}})
                );
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
