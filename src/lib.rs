//! The `ktui` crate: a Kafka console and toolbox, and the launcher of the workspace's broker.
//!
//! # Layout
//!
//! - `cli`: the command line (clap) and one module per subcommand.
//! - `client`: the async Kafka client the subcommands (and the console) use.
//! - `config`: connection settings from profiles, `client.properties` and flags.
//! - `error`: the client's error type.
//! - `local`: where a local broker keeps its data, and how an embedded one is started.
//! - `tui`: the interactive console.

pub mod cli;
pub mod client;

/// The client's unit tests answer it with hostile counts; the binary declares the same.
#[cfg(test)]
#[global_allocator]
static GLOBAL: ktui_broker::alloc::LazyHugeAlloc = ktui_broker::alloc::LazyHugeAlloc;

pub mod config;
pub mod error;
pub mod local;
pub mod tui;
