//! `ktui leader-election`, after kafka-leader-election.sh: a preferred or unclean election for
//! one partition (`--topic T --partition P`), the partitions of a JSON file
//! (`{"partitions": [{"topic": "t", "partition": 0}]}`) or every partition that needs one
//! (`--all-topic-partitions`). Prints Kafka's three kinds of line (elected, already elected,
//! failed); exits 1 when any partition failed for a reason other than ELECTION_NOT_NEEDED.

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::connect::ConnectArgs;
use super::output::{self, Format};
use super::topic_partitions::{self, tp_name, tp_names};
use crate::client::admin::TopicPartition;
use crate::client::elections::{self, ElectionOutcome, ElectionType};
use crate::error::{code_name, Error};

/// Flags of `ktui leader-election`.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("partitions")
        .required(true)
        .args(["topic", "all_topic_partitions", "path_to_json_file"])
))]
pub(super) struct LeaderElectionArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// preferred: the first replica leads again where it is in the ISR; unclean: a partition
    /// without a leader gets any live replica, even one outside the ISR (records may be lost).
    #[arg(long, value_enum)]
    election_type: Election,
    /// The topic of the one partition to elect (with --partition).
    #[arg(long, requires = "partition")]
    topic: Option<String>,
    /// The partition of --topic.
    #[arg(long, requires = "topic")]
    partition: Option<i32>,
    /// Every partition that needs the election.
    #[arg(long)]
    all_topic_partitions: bool,
    /// A JSON file listing the partitions: {"partitions": [{"topic": "t", "partition": 0}, ...]}.
    #[arg(long, value_name = "FILE")]
    path_to_json_file: Option<PathBuf>,
}

/// `--election-type`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Election {
    Preferred,
    Unclean,
}

impl From<Election> for ElectionType {
    fn from(e: Election) -> Self {
        match e {
            Election::Preferred => ElectionType::Preferred,
            Election::Unclean => ElectionType::Unclean,
        }
    }
}

/// The JSON file of `--path-to-json-file`.
#[derive(Debug, Deserialize)]
struct ElectionFile {
    partitions: Option<Vec<FilePartition>>,
}

#[derive(Debug, Deserialize)]
struct FilePartition {
    topic: String,
    partition: i32,
}

/// A partition in `-o json`.
#[derive(Debug, Serialize)]
struct PartitionJson {
    topic: String,
    partition: i32,
}

/// A failed partition in `-o json`.
#[derive(Debug, Serialize)]
struct FailureJson {
    topic: String,
    partition: i32,
    error_code: Option<i16>,
    error: String,
}

/// `ktui leader-election -o json`.
#[derive(Debug, Serialize)]
struct Report {
    election_type: String,
    succeeded: Vec<PartitionJson>,
    not_needed: Vec<PartitionJson>,
    failed: Vec<FailureJson>,
}

pub(super) async fn run(args: LeaderElectionArgs) -> anyhow::Result<()> {
    let election_type = ElectionType::from(args.election_type);
    let named: Option<Vec<TopicPartition>> = match (&args.topic, args.partition) {
        (Some(topic), Some(partition)) => Some(vec![(topic.clone(), partition)]),
        _ => match &args.path_to_json_file {
            Some(path) => Some(read_partitions(path)?),
            None => None,
        },
    };
    let cluster = args.connect.connect().await?;
    if let Some(tps) = &named {
        let _ = topic_partitions::current_replicas(&cluster, tps).await?;
    }
    let outcomes = elections::elect_leaders(&cluster, election_type, named.as_deref()).await?;
    let failed: Vec<&ElectionOutcome> = outcomes
        .iter()
        .filter(|o| o.result.is_err() && !o.not_needed())
        .collect();
    match args.connect.output {
        Format::Json => output::print_json(&report(election_type, &outcomes))?,
        Format::Table => output::print_text(&text(election_type, &outcomes))?,
    }
    match failed.as_slice() {
        [] => Ok(()),
        [only] => anyhow::bail!("1 replica(s) could not be elected: {}", error_of(only)),
        [first, ..] => anyhow::bail!(
            "{} replica(s) could not be elected: {} (and the others above)",
            failed.len(),
            error_of(first)
        ),
    }
}

/// The whole error, partition and advice included, for the one line on stderr.
fn error_of(outcome: &ElectionOutcome) -> String {
    outcome
        .result
        .as_ref()
        .err()
        .map_or_else(String::new, ToString::to_string)
}

/// Why a partition failed, without the partition (printed beside it): Kafka's error name and
/// the broker's message.
fn reason(e: &Error) -> String {
    match e {
        Error::Kafka { code, message, .. } => match message {
            Some(m) => format!("{}: {m}", code_name(*code)),
            None => code_name(*code),
        },
        other => other.to_string(),
    }
}

/// Kafka's lines: elected, already elected, then one line per failure.
fn text(election_type: ElectionType, outcomes: &[ElectionOutcome]) -> String {
    let succeeded: Vec<&TopicPartition> = outcomes
        .iter()
        .filter(|o| o.result.is_ok())
        .map(|o| &o.tp)
        .collect();
    let not_needed: Vec<&TopicPartition> = outcomes
        .iter()
        .filter(|o| o.not_needed())
        .map(|o| &o.tp)
        .collect();
    let mut out = String::new();
    if outcomes.is_empty() {
        out.push_str(&format!(
            "No partition needed a leader election ({election_type}).\n"
        ));
    }
    if !succeeded.is_empty() {
        out.push_str(&format!(
            "Successfully completed leader election ({election_type}) for partitions {}\n",
            tp_names(succeeded, ", ")
        ));
    }
    if !not_needed.is_empty() {
        out.push_str(&format!(
            "Valid replica already elected for partitions {}\n",
            tp_names(not_needed, ", ")
        ));
    }
    for o in outcomes.iter().filter(|o| !o.not_needed()) {
        if let Err(e) = &o.result {
            out.push_str(&format!(
                "Error completing leader election ({election_type}) for partition: {}: {}\n",
                tp_name(&o.tp),
                reason(e)
            ));
        }
    }
    out
}

fn report(election_type: ElectionType, outcomes: &[ElectionOutcome]) -> Report {
    let partition = |o: &ElectionOutcome| PartitionJson {
        topic: o.tp.0.clone(),
        partition: o.tp.1,
    };
    Report {
        election_type: election_type.to_string(),
        succeeded: outcomes
            .iter()
            .filter(|o| o.result.is_ok())
            .map(partition)
            .collect(),
        not_needed: outcomes
            .iter()
            .filter(|o| o.not_needed())
            .map(partition)
            .collect(),
        failed: outcomes
            .iter()
            .filter_map(|o| match &o.result {
                Err(e) if !o.not_needed() => Some(FailureJson {
                    topic: o.tp.0.clone(),
                    partition: o.tp.1,
                    error_code: e.code(),
                    error: reason(e),
                }),
                _ => None,
            })
            .collect(),
    }
}

/// The partitions of `--path-to-json-file`, checked as Kafka's tool checks them.
fn read_partitions(path: &Path) -> anyhow::Result<Vec<TopicPartition>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read --path-to-json-file '{shown}': {e}"))?;
    let file: ElectionFile = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("--path-to-json-file '{shown}' is not valid: {e}"))?;
    let Some(partitions) = file.partitions else {
        anyhow::bail!(
            "--path-to-json-file '{shown}': Replica election data is missing \"partitions\" field"
        );
    };
    let tps: Vec<TopicPartition> = partitions
        .into_iter()
        .map(|p| (p.topic, p.partition))
        .collect();
    if let Some(dup) = topic_partitions::first_duplicate(&tps) {
        anyhow::bail!(
            "--path-to-json-file '{shown}': Replica election data contains duplicate \
             partitions: {}",
            tp_name(dup)
        );
    }
    Ok(tps)
}
