//! The `connector-host` application around [`connector_runtime`]: the command line, the
//! HTTP/JSON server (serve mode) and its admin client, configuration, and — behind the
//! default-on `embedded-sim` feature — the in-process ~Okeanos simulator used when no cloud is
//! configured.

pub mod admin_client;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deployment;
pub mod embedded;
pub mod ops;
pub mod recipes;
pub mod serve;
pub mod setup;
pub mod view;

/// The ~Okeanos connector component this application runs unless told otherwise.
pub use connector_artifacts::OKEANOS_CONNECTOR;
