//! The command line: no subcommand starts a local broker (the console will open on it once it
//! exists); `ktui broker` runs a broker from a `server.properties` file; the other subcommands
//! are scriptable Kafka tools (names and flags follow Kafka's own tools) that talk to any
//! cluster through `crate::client`, printing a table or stable JSON (`-o json`).

mod broker;
mod brokers;
mod connect;
mod consume;
mod groups;
mod log_dirs;
mod output;
mod perf;
mod produce;
mod topics;

use clap::{Parser, Subcommand};

/// A Kafka console and toolbox, with its own Kafka-compatible broker.
#[derive(Debug, Parser)]
#[command(name = "ktui", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The console's flags (used when no subcommand is given).
    #[command(flatten)]
    console: crate::tui::ConsoleArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Kafka-compatible broker, alone or as a node of a cluster (reads Kafka's
    /// server.properties keys, KRaft's included).
    Broker(broker::BrokerArgs),
    /// List, describe, create, delete and configure topics (like kafka-topics.sh).
    Topics(topics::TopicsArgs),
    /// Produce records from stdin or a file, one per line (like kafka-console-producer.sh).
    Produce(produce::ProduceArgs),
    /// Print records of a topic (like kafka-console-consumer.sh and kcat -C).
    Consume(consume::ConsumeArgs),
    /// Consumer groups: list, describe with lag, reset offsets, delete (like kafka-consumer-groups.sh).
    Groups(groups::GroupsArgs),
    /// The cluster's brokers: id, address, rack, controller.
    Brokers(brokers::BrokersArgs),
    /// Log directories of the brokers with each partition's size on disk (like kafka-log-dirs.sh).
    LogDirs(log_dirs::LogDirsArgs),
    /// Throughput and latency tests (like kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh).
    Perf(perf::PerfArgs),
    /// The workspace broker on this machine: up (background; -n N for a local cluster), down,
    /// status, stop/start a cluster node, run (foreground).
    Local(crate::local::LocalArgs),
}

impl Command {
    /// The connection flags of a client subcommand.
    fn connect_args(&mut self) -> Option<&mut connect::ConnectArgs> {
        match self {
            Command::Topics(a) => Some(&mut a.connect),
            Command::Produce(a) => Some(&mut a.connect),
            Command::Consume(a) => Some(&mut a.connect),
            Command::Groups(a) => Some(&mut a.connect),
            Command::Brokers(a) => Some(&mut a.connect),
            Command::LogDirs(a) => Some(&mut a.connect),
            Command::Perf(a) => Some(&mut a.connect),
            Command::Broker(_) | Command::Local(_) => None,
        }
    }
}

/// Runs the parsed command line. A client subcommand's error is printed as one line on
/// stderr, `ktui: error: ...`, and the process exits with status 1.
pub fn run(mut cli: Cli) -> anyhow::Result<()> {
    if let Some(connect) = cli.command.as_mut().and_then(Command::connect_args) {
        connect.inherit(&cli.console);
    }
    let result = match cli.command {
        Some(Command::Broker(args)) => return broker::run(args),
        None => crate::tui::run(cli.console),
        Some(Command::Local(args)) => match args.command {
            crate::local::LocalCommand::Run => return broker::run_local(),
            command => crate::local::run(&command),
        },
        Some(Command::Topics(args)) => connect::block_on(topics::run(args)),
        Some(Command::Produce(args)) => connect::block_on(produce::run(args)),
        Some(Command::Consume(args)) => connect::block_on(consume::run(args)),
        Some(Command::Groups(args)) => connect::block_on(groups::run(args)),
        Some(Command::Brokers(args)) => connect::block_on(brokers::run(args)),
        Some(Command::LogDirs(args)) => connect::block_on(log_dirs::run(args)),
        Some(Command::Perf(args)) => connect::block_on(perf::run(args)),
    };
    if let Err(e) = result {
        eprintln!("ktui: error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}
