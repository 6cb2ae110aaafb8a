//! `ktui transactions list | describe | describe-producers | abort | find-hanging |
//! force-terminate`, after
//! `kafka-transactions.sh` (KIP-664): list every transactional id the brokers coordinate
//! (filtered by state, producer id, KIP-994's duration or an id pattern), describe one, show a
//! partition's producers, and abort a hanging transaction on one partition, named by the offset
//! it starts at (or, as for brokers before 3.0, by producer id, producer epoch and coordinator
//! epoch); find hanging transactions (`find-hanging`, see [`crate::client::hanging`]); and end
//! a transactional id's open transaction by fencing it (`force-terminate`,
//! [`crate::client::fence`]). The abort and the fence write; `ktui --read-only` refuses them.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use super::producers::PartitionArgs;
use crate::client::transactions::{
    self, AbortSpec, ListFilter, TransactionDescription, TxnPartition,
};
use crate::client::Cluster;
use crate::client::{fence, hanging};

/// Flags of `ktui transactions`.
#[derive(Debug, Args)]
pub(super) struct TransactionsArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: TransactionsCommand,
}

#[derive(Debug, Subcommand)]
enum TransactionsCommand {
    /// Every transactional id: its coordinator, producer id and state.
    List(ListArgs),
    /// One transactional id: coordinator, producer id and epoch, state, timeout, start time,
    /// how long it has been open, the partitions it writes.
    Describe {
        /// The transactional id.
        #[arg(value_name = "ID", required_unless_present = "transactional_id")]
        id: Option<String>,
        /// The transactional id, named as kafka-transactions.sh names it.
        #[arg(long, value_name = "ID", conflicts_with = "id")]
        transactional_id: Option<String>,
    },
    /// A partition's active producers (as `ktui producers describe`).
    DescribeProducers(PartitionArgs),
    /// Abort a hanging transaction on one partition: an ABORT marker at its leader.
    Abort(AbortArgs),
    /// Transactions left open on partitions longer than any transaction may last, that their
    /// coordinator does not know as open there (of a topic, or led by a broker).
    FindHanging(FindHangingArgs),
    /// End a transactional id's open transaction by fencing its producer (an abort at a
    /// bumped epoch, as kafka-transactions.sh force-terminate / Admin.fenceProducers).
    ForceTerminate {
        /// The transactional id.
        #[arg(long, value_name = "ID")]
        transactional_id: String,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "where")]
struct HangingWhere {
    /// The partitions of this topic ...
    #[arg(long)]
    topic: Option<String>,
    /// ... or the partitions this broker leads.
    #[arg(long)]
    broker_id: Option<i32>,
}

#[derive(Debug, Args)]
struct FindHangingArgs {
    #[command(flatten)]
    at: HangingWhere,
    /// With --topic: only this partition.
    #[arg(long, requires = "topic")]
    partition: Option<i32>,
    /// Open longer than this many minutes (transaction.max.timeout.ms: 15 by default).
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    max_transaction_timeout: i64,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only transactions in this state (Ongoing, PrepareCommit, CompleteAbort, ...);
    /// repeatable.
    #[arg(long = "state", value_name = "STATE")]
    states: Vec<String>,
    /// Only transactions open longer than this many milliseconds (KIP-994).
    #[arg(long, value_name = "MS")]
    duration_filter: Option<i64>,
    /// Only transactions of this producer id; repeatable.
    #[arg(long = "producer-id", value_name = "ID")]
    producer_ids: Vec<i64>,
    /// Only transactional ids matching this regular expression (ListTransactions v2).
    #[arg(long, value_name = "REGEX")]
    transactional_id_pattern: Option<String>,
}

#[derive(Debug, Args)]
struct AbortArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    partition: i32,
    /// The offset the transaction to abort starts at (`ktui producers describe` shows it).
    #[arg(long, value_name = "OFFSET", required_unless_present = "producer_id")]
    start_offset: Option<i64>,
    /// Instead of --start-offset (brokers before 3.0): the producer id ...
    #[arg(
        long,
        conflicts_with = "start_offset",
        requires_all = ["producer_epoch", "coordinator_epoch"]
    )]
    producer_id: Option<i64>,
    /// ... its epoch ...
    #[arg(long, requires = "producer_id")]
    producer_epoch: Option<i16>,
    /// ... and the coordinator epoch of its last marker (-1 is taken as 0).
    #[arg(long, requires = "producer_id", allow_hyphen_values = true)]
    coordinator_epoch: Option<i32>,
}

impl TransactionsArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        match self.command {
            TransactionsCommand::Abort(_) => Some("transactions abort"),
            TransactionsCommand::ForceTerminate { .. } => Some("transactions force-terminate"),
            _ => None,
        }
    }
}

/// Runs `ktui transactions`.
pub(super) async fn run(args: TransactionsArgs) -> anyhow::Result<()> {
    let format = args.connect.output;
    let cluster = args.connect.connect().await?;
    match &args.command {
        TransactionsCommand::List(list_args) => list(&cluster, format, list_args).await,
        TransactionsCommand::Describe {
            id,
            transactional_id,
        } => {
            let id = id.as_ref().or(transactional_id.as_ref());
            describe(&cluster, format, id.map_or("", String::as_str)).await
        }
        TransactionsCommand::DescribeProducers(target) => {
            super::producers::describe(&cluster, format, target).await
        }
        TransactionsCommand::Abort(abort_args) => abort(&cluster, format, abort_args).await,
        TransactionsCommand::FindHanging(find_args) => {
            find_hanging(&cluster, format, find_args).await
        }
        TransactionsCommand::ForceTerminate { transactional_id } => {
            let fenced = fence::fence(&cluster, transactional_id).await?;
            match format {
                Format::Json => output::print_json(&fenced),
                Format::Table => {
                    println!(
                        "Transactional id '{}' fenced: producer id {} is at epoch {}; its open transaction, if any, is aborted.",
                        fenced.transactional_id, fenced.producer_id, fenced.producer_epoch
                    );
                    Ok(())
                }
            }
        }
    }
}

/// The partitions `find-hanging` looks at: a topic's (or one of them), or those a broker leads.
async fn hanging_scope(
    cluster: &Cluster,
    args: &FindHangingArgs,
) -> anyhow::Result<Vec<TxnPartition>> {
    let metadata = cluster.metadata().await?;
    let chosen: Vec<TxnPartition> = match (&args.at.topic, args.at.broker_id) {
        (Some(topic), _) => {
            let info = metadata
                .topics
                .get(topic)
                .ok_or_else(|| anyhow::anyhow!("topic '{topic}' does not exist"))?;
            info.partitions
                .iter()
                .filter(|p| args.partition.is_none_or(|want| want == p.id))
                .map(|p| TxnPartition {
                    topic: topic.clone(),
                    partition: p.id,
                })
                .collect()
        }
        (None, Some(broker)) => {
            if !metadata.brokers.contains_key(&broker) {
                anyhow::bail!("broker {broker} is not in the cluster");
            }
            metadata
                .topics
                .iter()
                .flat_map(|(name, t)| {
                    t.partitions
                        .iter()
                        .filter(move |p| p.leader == broker)
                        .map(move |p| TxnPartition {
                            topic: name.clone(),
                            partition: p.id,
                        })
                })
                .collect()
        }
        (None, None) => anyhow::bail!("give --topic or --broker-id"),
    };
    if let (Some(p), true) = (args.partition, chosen.is_empty()) {
        anyhow::bail!("partition {p} does not exist");
    }
    Ok(chosen)
}

async fn find_hanging(
    cluster: &std::sync::Arc<Cluster>,
    format: Format,
    args: &FindHangingArgs,
) -> anyhow::Result<()> {
    if args.max_transaction_timeout < 0 {
        anyhow::bail!("--max-transaction-timeout is a number of minutes, not negative");
    }
    let partitions = hanging_scope(cluster, args).await?;
    let now = crate::client::produce::now_ms();
    let max_ms = args.max_transaction_timeout.saturating_mul(60_000);
    let found = hanging::find(cluster, &partitions, max_ms, now).await?;
    match format {
        Format::Json => output::print_json(&found),
        Format::Table => {
            let mut table = Table::new(&[
                "TOPIC",
                "PARTITION",
                "PRODUCER ID",
                "PRODUCER EPOCH",
                "COORDINATOR EPOCH",
                "START OFFSET",
                "LAST TIMESTAMP",
                "DURATION (MIN)",
            ]);
            for h in &found {
                table.row(vec![
                    h.topic.clone(),
                    h.partition.to_string(),
                    h.producer_id.to_string(),
                    h.producer_epoch.to_string(),
                    h.coordinator_epoch.to_string(),
                    h.start_offset.to_string(),
                    h.last_timestamp.to_string(),
                    (h.duration_ms / 60_000).to_string(),
                ]);
            }
            table.print()
        }
    }
}

/// Kafka's spelling of a state named in any case.
fn state_name(text: &str) -> anyhow::Result<&'static str> {
    transactions::STATES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(text))
        .copied()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--state '{text}' is not one of {}",
                transactions::STATES.join(", ")
            )
        })
}

async fn list(
    cluster: &std::sync::Arc<Cluster>,
    format: Format,
    args: &ListArgs,
) -> anyhow::Result<()> {
    let states = args
        .states
        .iter()
        .map(|s| state_name(s).map(str::to_string))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(ms) = args.duration_filter.filter(|ms| *ms < 0) {
        anyhow::bail!("--duration-filter {ms} is negative; give a number of milliseconds");
    }
    let filter = ListFilter {
        states,
        producer_ids: args.producer_ids.clone(),
        duration_ms: args.duration_filter,
        pattern: args.transactional_id_pattern.clone(),
    };
    let listing = transactions::list(cluster, &filter).await?;
    for unknown in &listing.unknown_states {
        eprintln!("ktui: a broker does not know the state '{unknown}'");
    }
    match format {
        Format::Json => output::print_json(&listing.transactions),
        Format::Table => {
            let mut table =
                Table::new(&["TRANSACTIONAL ID", "COORDINATOR", "PRODUCER ID", "STATE"]);
            for t in &listing.transactions {
                table.row(vec![
                    t.transactional_id.clone(),
                    t.coordinator.to_string(),
                    t.producer_id.to_string(),
                    t.state.clone(),
                ]);
            }
            table.print()
        }
    }
}

/// `transactions describe -o json`: the description and how long it has been open.
#[derive(Debug, Serialize)]
struct Described<'a> {
    #[serde(flatten)]
    description: &'a TransactionDescription,
    /// Milliseconds since it began, while it is open (Kafka's TransactionDurationMs).
    duration_ms: Option<i64>,
}

async fn describe(
    cluster: &std::sync::Arc<Cluster>,
    format: Format,
    id: &str,
) -> anyhow::Result<()> {
    let answers = transactions::describe(cluster, &[id.to_string()]).await?;
    let description = match answers.into_iter().next() {
        Some((_, answer)) => answer?,
        None => anyhow::bail!("the coordinator did not describe transactional id '{id}'"),
    };
    let now = crate::client::produce::now_ms();
    let described = Described {
        duration_ms: description.open_for_ms(now),
        description: &description,
    };
    match format {
        Format::Json => output::print_json(&described),
        Format::Table => {
            let mut table = Table::new(&[
                "COORDINATOR",
                "TRANSACTIONAL ID",
                "PRODUCER ID",
                "PRODUCER EPOCH",
                "STATE",
                "TIMEOUT MS",
                "START TIME",
                "DURATION MS",
                "PARTITIONS",
            ]);
            let d = &description;
            let start = d.start_time_ms.map(|ms| {
                let at = std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
                humantime::format_rfc3339_millis(at).to_string()
            });
            let partitions: Vec<String> = d
                .partitions
                .iter()
                .map(|p| format!("{}-{}", p.topic, p.partition))
                .collect();
            table.row(vec![
                d.coordinator.to_string(),
                d.transactional_id.clone(),
                d.producer_id.to_string(),
                d.producer_epoch.to_string(),
                d.state.clone(),
                d.timeout_ms.to_string(),
                output::or_dash(start),
                output::or_dash(described.duration_ms),
                if partitions.is_empty() {
                    "-".to_string()
                } else {
                    partitions.join(",")
                },
            ]);
            table.print()
        }
    }
}

async fn abort(cluster: &Cluster, format: Format, args: &AbortArgs) -> anyhow::Result<()> {
    let (topic, partition) = (args.topic.as_str(), args.partition);
    let spec = match (args.start_offset, args.producer_id) {
        (Some(offset), _) => transactions::abort(cluster, topic, partition, offset).await?,
        (None, Some(producer_id)) => {
            let spec = AbortSpec {
                topic: topic.to_string(),
                partition,
                producer_id,
                producer_epoch: args.producer_epoch.unwrap_or_default(),
                coordinator_epoch: args.coordinator_epoch.unwrap_or_default().max(0),
            };
            transactions::write_abort(cluster, &spec).await?;
            spec
        }
        (None, None) => anyhow::bail!(
            "name the transaction to abort with --start-offset, or with --producer-id, --producer-epoch and --coordinator-epoch"
        ),
    };
    let aborted = Aborted {
        spec: &spec,
        start_offset: args.start_offset,
    };
    match format {
        Format::Json => output::print_json(&aborted),
        Format::Table => {
            let from = args
                .start_offset
                .map_or_else(String::new, |o| format!(" from offset {o}"));
            output::print_text(&format!(
                "aborted the transaction of producer {} (epoch {}) on {topic}-{partition}{from}\n",
                spec.producer_id, spec.producer_epoch
            ))
        }
    }
}

/// `transactions abort -o json`: the marker written, and the offset the transaction began at.
#[derive(Debug, Serialize)]
struct Aborted<'a> {
    #[serde(flatten)]
    spec: &'a AbortSpec,
    start_offset: Option<i64>,
}
