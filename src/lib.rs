//! The `ktui` crate: a Kafka console and toolbox, and the launcher of the workspace's broker.
//!
//! # Layout
//!
//! - `cli`: the command line (clap) and one module per subcommand.
//! - `local`: where a local broker keeps its data, and how an embedded one is started.

pub mod cli;
pub mod local;
