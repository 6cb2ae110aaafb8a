//! `ktui producers describe --topic T --partition P`: the producers a partition's leader keeps
//! state for, as `kafka-transactions.sh describe-producers` shows them (producer id and epoch,
//! the latest coordinator epoch, last sequence and timestamp, and the offset its open
//! transaction starts at, which `ktui transactions abort --start-offset` takes).

use clap::{Args, Subcommand};

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::producers::{self, ProducerState};
use crate::client::Cluster;

/// Flags of `ktui producers`.
#[derive(Debug, Args)]
pub(super) struct ProducersArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: ProducersCommand,
}

#[derive(Debug, Subcommand)]
enum ProducersCommand {
    /// A partition's active producers and their open transactions (at its leader).
    Describe(PartitionArgs),
}

/// The partition whose producers are described.
#[derive(Debug, Args)]
pub(super) struct PartitionArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    partition: i32,
}

pub(super) async fn run(args: ProducersArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let ProducersCommand::Describe(partition) = args.command;
    describe(&cluster, args.connect.output, &partition).await
}

/// Prints the producers of the partition `target` names.
pub(super) async fn describe(
    cluster: &Cluster,
    format: Format,
    target: &PartitionArgs,
) -> anyhow::Result<()> {
    let found = producers::describe(cluster, &target.topic, target.partition).await?;
    match format {
        Format::Json => output::print_json(&found),
        Format::Table => table(&found).print(),
    }
}

fn table(found: &[ProducerState]) -> Table {
    let mut table = Table::new(&[
        "PRODUCER ID",
        "EPOCH",
        "COORDINATOR EPOCH",
        "LAST SEQUENCE",
        "LAST TIMESTAMP",
        "TXN START OFFSET",
    ]);
    for p in found {
        table.row(vec![
            p.producer_id.to_string(),
            p.producer_epoch.to_string(),
            p.coordinator_epoch.to_string(),
            p.last_sequence.to_string(),
            p.last_timestamp.to_string(),
            output::or_dash(p.open_transaction()),
        ]);
    }
    table
}
