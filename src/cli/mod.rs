//! The command line: no subcommand starts a local broker (the console will open on it once it
//! exists); `ktui broker` runs a broker from a `server.properties` file; the other subcommands
//! are scriptable Kafka tools (names and flags follow Kafka's own tools) that talk to any
//! cluster through `crate::client`, printing a table or stable JSON (`-o json`).

mod acls;
mod broker;
mod brokers;
mod connect;
mod consume;
mod groups;
mod leader_election;
mod log_dirs;
mod metadata_quorum;
mod output;
mod partition_report;
mod perf;
mod produce;
mod producers;
mod reassign;
mod reassignment_json;
mod topic_partitions;
mod topics;
mod transactions;
mod users;

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
    /// ACLs: list, create, delete (like kafka-acls.sh).
    Acls(acls::AclsArgs),
    /// SCRAM users: list, set a password, delete (like kafka-configs.sh --entity-type users).
    Users(users::UsersArgs),
    /// Transactions: list, describe, abort a hanging one (like kafka-transactions.sh).
    Transactions(transactions::TransactionsArgs),
    /// A partition's active producers and their open transactions (like kafka-transactions.sh
    /// describe-producers).
    Producers(producers::ProducersArgs),
    /// Log directories of the brokers with each partition's size on disk (like kafka-log-dirs.sh).
    LogDirs(log_dirs::LogDirsArgs),
    /// Elect preferred or unclean partition leaders (like kafka-leader-election.sh).
    LeaderElection(leader_election::LeaderElectionArgs),
    /// Move partition replicas between brokers: generate, execute, verify, cancel or list a
    /// plan (like kafka-reassign-partitions.sh).
    #[command(visible_alias = "reassign-partitions")]
    Reassign(reassign::ReassignArgs),
    /// The KRaft controller quorum: leader, epoch, high watermark, each voter's lag (like
    /// kafka-metadata-quorum.sh).
    MetadataQuorum(metadata_quorum::MetadataQuorumArgs),
    /// Throughput and latency tests (like kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh).
    Perf(perf::PerfArgs),
    /// The workspace broker on this machine: up (background; -n N for a local cluster), down,
    /// status, stop/start a cluster node, run (foreground).
    Local(crate::local::LocalArgs),
}

impl Command {
    /// The write this command would make, for `--read-only` to refuse: changes to the
    /// cluster's data or metadata, and stopping brokers.
    fn writes(&self) -> Option<&'static str> {
        match self {
            Command::Topics(a) => a.writes(),
            Command::Produce(_) => Some("produce"),
            Command::Groups(a) => a.writes(),
            Command::Acls(a) => a.writes(),
            Command::Users(a) => a.writes(),
            Command::Transactions(a) => a.writes(),
            Command::LeaderElection(_) => Some("leader-election"),
            Command::Reassign(a) => a.writes(),
            Command::MetadataQuorum(a) => a.writes(),
            Command::Perf(a) => a.writes(),
            Command::Local(a) => match a.command {
                crate::local::LocalCommand::Down => Some("local down"),
                crate::local::LocalCommand::Stop(_) => Some("local stop"),
                _ => None,
            },
            Command::Consume(_)
            | Command::Brokers(_)
            | Command::LogDirs(_)
            | Command::Producers(_)
            | Command::Broker(_) => None,
        }
    }

    /// The connection flags of a client subcommand.
    fn connect_args(&mut self) -> Option<&mut connect::ConnectArgs> {
        match self {
            Command::Topics(a) => Some(&mut a.connect),
            Command::Produce(a) => Some(a.connect_mut()),
            Command::Consume(a) => Some(&mut a.connect),
            Command::Groups(a) => Some(&mut a.connect),
            Command::Brokers(a) => Some(&mut a.connect),
            Command::LogDirs(a) => Some(&mut a.connect),
            Command::Acls(a) => Some(&mut a.connect),
            Command::Users(a) => Some(&mut a.connect),
            Command::Transactions(a) => Some(&mut a.connect),
            Command::Producers(a) => Some(&mut a.connect),
            Command::LeaderElection(a) => Some(&mut a.connect),
            Command::Reassign(a) => Some(&mut a.connect),
            Command::MetadataQuorum(a) => Some(&mut a.connect),
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
        if let Err(e) = connect.refuse_zookeeper() {
            exit_with(&e);
        }
    }
    if cli.console.read_only {
        if let Some(what) = cli.command.as_ref().and_then(Command::writes) {
            exit_with(&anyhow::anyhow!(
                "--read-only: `{what}` writes to the cluster; run it without --read-only"
            ));
        }
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
        Some(Command::Acls(args)) => connect::block_on(acls::run(args)),
        Some(Command::Users(args)) => connect::block_on(users::run(args)),
        Some(Command::Transactions(args)) => connect::block_on(transactions::run(args)),
        Some(Command::Producers(args)) => connect::block_on(producers::run(args)),
        Some(Command::LeaderElection(args)) => connect::block_on(leader_election::run(args)),
        Some(Command::Reassign(args)) => connect::block_on(reassign::run(args)),
        Some(Command::MetadataQuorum(args)) => connect::block_on(metadata_quorum::run(args)),
        Some(Command::Perf(args)) => connect::block_on(perf::run(args)),
    };
    if let Err(e) = result {
        exit_with(&e);
    }
    Ok(())
}

/// Prints `e` as one line on stderr and exits with status 1.
fn exit_with(e: &anyhow::Error) -> ! {
    eprintln!("ktui: error: {e:#}");
    std::process::exit(1);
}
