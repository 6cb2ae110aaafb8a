//! The command line: no subcommand starts a local broker (the console will open on it once it
//! exists); `ktui broker` runs a broker from a `server.properties` file.

mod broker;

use clap::{Parser, Subcommand};

/// A Kafka console and toolbox, with its own Kafka-compatible broker.
#[derive(Debug, Parser)]
#[command(name = "ktui", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Kafka-compatible broker (reads Kafka's server.properties keys).
    Broker(broker::BrokerArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Broker(args)) => broker::run(args),
        None => broker::run_local(),
    }
}
