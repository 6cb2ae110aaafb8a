//! `ktui reassign`, after kafka-reassign-partitions.sh: `--generate` proposes a plan moving
//! topics onto a list of brokers (Kafka's placement), `--execute` starts a plan (printing the
//! current assignment to roll back to), `--verify` reports each partition's progress,
//! `--cancel` stops the moves of a plan, `--list` shows every move in progress. Plans are the
//! tool's JSON files (`reassignment_json`); the calls are `client::reassignments`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format};
use super::reassignment_json::{self, Plan};
use super::topic_partitions::{self, ids, tp_name, tp_names};
use crate::client::admin::TopicPartition;
use crate::client::placement::{self, Candidate, Start};
use crate::client::reassignments::{self, OngoingReassignment, ReassignmentOutcome};
use crate::client::Cluster;

impl ReassignArgs {
    /// The write this command makes, for `--read-only` to refuse.
    pub(super) fn writes(&self) -> Option<&'static str> {
        if self.execute {
            Some("reassign --execute")
        } else if self.cancel {
            Some("reassign --cancel")
        } else {
            None
        }
    }
}

/// Flags of `ktui reassign`.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("action")
        .required(true)
        .args(["generate", "execute", "verify", "cancel", "list"])
))]
pub(super) struct ReassignArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    /// Propose a plan moving the topics of --topics-to-move-json-file onto --broker-list
    /// (printed; nothing changes).
    #[arg(long, requires_all = ["topics_to_move_json_file", "broker_list"])]
    generate: bool,
    /// Start the reassignment of --reassignment-json-file.
    #[arg(long, requires = "reassignment_json_file")]
    execute: bool,
    /// Whether each partition of --reassignment-json-file has reached its target replicas.
    #[arg(long, requires = "reassignment_json_file")]
    verify: bool,
    /// Stop the moves of --reassignment-json-file's partitions; they keep their replicas from
    /// before.
    #[arg(long, requires = "reassignment_json_file")]
    cancel: bool,
    /// Every reassignment in progress.
    #[arg(long)]
    list: bool,
    /// The topics to move: {"version":1,"topics":[{"topic":"t"}, ...]} (with --generate).
    #[arg(long, value_name = "FILE", requires = "generate")]
    topics_to_move_json_file: Option<PathBuf>,
    /// Broker ids to place the replicas on, comma-separated (with --generate).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ID,ID...",
        requires = "generate"
    )]
    broker_list: Option<Vec<i32>>,
    /// The plan: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],
    /// "log_dirs":["any","any"]}, ...]} (with --execute, --verify, --cancel).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["generate", "list"])]
    reassignment_json_file: Option<PathBuf>,
    /// Start even though other reassignments are in progress (with --execute).
    #[arg(long, requires = "execute")]
    additional: bool,
    /// Place replicas without regard to the brokers' racks (with --generate).
    #[arg(long, requires = "generate")]
    disable_rack_aware: bool,
}

/// Kafka's refusal to start a plan while another runs.
const CANNOT_EXECUTE: &str = "Cannot execute because there is an existing partition \
    assignment. Use --additional to override this and create a new partition assignment in \
    addition to the existing one.";

pub(super) async fn run(args: ReassignArgs) -> anyhow::Result<()> {
    let format = args.connect.output;
    if args.list {
        let cluster = args.connect.connect().await?;
        return list(&cluster, format).await;
    }
    if args.generate {
        // clap requires both with --generate.
        let (Some(file), Some(brokers)) = (&args.topics_to_move_json_file, &args.broker_list)
        else {
            anyhow::bail!("--generate needs --topics-to-move-json-file and --broker-list");
        };
        let topics = reassignment_json::read_topics(file)?;
        check_broker_list(brokers)?;
        let cluster = args.connect.connect().await?;
        return generate(&cluster, format, &topics, brokers, args.disable_rack_aware).await;
    }
    let Some(file) = &args.reassignment_json_file else {
        anyhow::bail!("--execute, --verify and --cancel need --reassignment-json-file");
    };
    let plan = reassignment_json::read_plan(file)?;
    let cluster = args.connect.connect().await?;
    if args.execute {
        execute(&cluster, format, &plan, args.additional).await
    } else if args.verify {
        verify(&cluster, format, &plan).await
    } else {
        cancel(&cluster, format, &plan).await
    }
}

fn check_broker_list(brokers: &[i32]) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = brokers.iter().find(|b| !seen.insert(**b)) {
        anyhow::bail!("--broker-list: Broker list contains duplicate entries: {dup}");
    }
    Ok(())
}

/// An error naming the first of `wanted` that is not a live broker.
async fn check_brokers(cluster: &Cluster, wanted: &[i32]) -> anyhow::Result<()> {
    let metadata = cluster.refresh_metadata().await?;
    if let Some(unknown) = wanted.iter().find(|id| !metadata.brokers.contains_key(id)) {
        let live: Vec<i32> = metadata.brokers.keys().copied().collect();
        anyhow::bail!(
            "Unknown broker id {unknown}: the cluster's live brokers are {}",
            ids(&live)
        );
    }
    Ok(())
}

/// `--generate` in `-o json`.
#[derive(Debug, Serialize)]
struct Generated {
    current: Plan,
    proposed: Plan,
}

async fn generate(
    cluster: &Cluster,
    format: Format,
    topics: &[String],
    brokers: &[i32],
    disable_rack_aware: bool,
) -> anyhow::Result<()> {
    check_brokers(cluster, brokers).await?;
    let metadata = cluster.metadata().await?;
    let candidates: Vec<Candidate> = brokers
        .iter()
        .map(|id| Candidate {
            id: *id,
            rack: metadata
                .brokers
                .get(id)
                .and_then(|b| b.rack.clone())
                .filter(|_| !disable_rack_aware),
        })
        .collect();
    let racked = candidates.iter().filter(|c| c.rack.is_some()).count();
    if racked != 0 && racked != candidates.len() {
        anyhow::bail!(
            "Not all brokers have rack information. Add --disable-rack-aware in command line \
             to make replica assignment without rack information."
        );
    }
    let mut current = BTreeMap::new();
    let mut proposed = BTreeMap::new();
    for name in topics {
        let topic = metadata.topic(name)?;
        let rf = topic.partitions.first().map_or(0, |p| p.replicas.len());
        let start = Start::random(candidates.len());
        let assigned = placement::assign(&candidates, topic.partitions.len(), rf, start)
            .map_err(|e| anyhow::anyhow!("cannot place the replicas of topic '{name}': {e}"))?;
        for (p, replicas) in topic.partitions.iter().zip(assigned) {
            let _ = current.insert((name.clone(), p.id), p.replicas.clone());
            let _ = proposed.insert((name.clone(), p.id), replicas);
        }
    }
    let generated = Generated {
        current: Plan::new(&current),
        proposed: Plan::new(&proposed),
    };
    match format {
        Format::Json => output::print_json(&generated),
        Format::Table => output::print_text(&format!(
            "Current partition replica assignment\n{}\n\n\
             Proposed partition reassignment configuration\n{}\n",
            generated.current.to_line(),
            generated.proposed.to_line()
        )),
    }
}

/// `--execute` in `-o json`.
#[derive(Debug, Serialize)]
struct Executed {
    /// The assignment before, to roll back to.
    current: Plan,
    started: Vec<PartitionJson>,
}

/// A partition in `-o json`.
#[derive(Debug, Serialize)]
struct PartitionJson {
    topic: String,
    partition: i32,
}

impl PartitionJson {
    fn of(tp: &TopicPartition) -> Self {
        PartitionJson {
            topic: tp.0.clone(),
            partition: tp.1,
        }
    }
}

async fn execute(
    cluster: &Cluster,
    format: Format,
    plan: &[(TopicPartition, Vec<i32>)],
    additional: bool,
) -> anyhow::Result<()> {
    let ongoing = reassignments::list(cluster, None).await?;
    if !additional && !ongoing.is_empty() {
        anyhow::bail!("{CANNOT_EXECUTE}");
    }
    let mut wanted: Vec<i32> = plan.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    check_brokers(cluster, &wanted).await?;
    let tps: Vec<TopicPartition> = plan.iter().map(|(tp, _)| tp.clone()).collect();
    let current = Plan::new(&topic_partitions::current_replicas(cluster, &tps).await?);
    if format == Format::Table {
        output::print_text(&format!(
            "Current partition replica assignment\n\n{}\n\nSave this to use as the \
             --reassignment-json-file option during rollback\n",
            current.to_line()
        ))?;
    }
    let changes: Vec<(TopicPartition, Option<Vec<i32>>)> = plan
        .iter()
        .map(|(tp, replicas)| (tp.clone(), Some(replicas.clone())))
        .collect();
    let outcomes = reassignments::alter(cluster, &changes).await?;
    failures("Error reassigning partition(s)", &outcomes)?;
    match format {
        Format::Json => output::print_json(&Executed {
            current,
            started: tps.iter().map(PartitionJson::of).collect(),
        }),
        Format::Table => {
            let mut sorted = tps.clone();
            sorted.sort();
            output::print_text(&format!(
                "Successfully started partition reassignment{} for {}\n",
                plural(sorted.len()),
                tp_names(&sorted, ",")
            ))
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// An error listing every failed partition, on one line.
fn failures(what: &str, outcomes: &[ReassignmentOutcome]) -> anyhow::Result<()> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(ToString::to_string))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    anyhow::bail!("{what}: {}", failed.join("; "))
}

/// One partition's state in `--verify`.
#[derive(Debug, Serialize)]
struct Verified {
    topic: String,
    partition: i32,
    /// `completed`, `in_progress`, or `replicas_differ` (no move runs, but the replicas are
    /// not the plan's).
    status: &'static str,
    current_replicas: Vec<i32>,
    target_replicas: Vec<i32>,
}

/// `--verify` in `-o json`.
#[derive(Debug, Serialize)]
struct Verification {
    partitions: Vec<Verified>,
    /// Whether any reassignment, of this plan or another, is in progress.
    in_progress: bool,
}

async fn verify(
    cluster: &Cluster,
    format: Format,
    plan: &[(TopicPartition, Vec<i32>)],
) -> anyhow::Result<()> {
    let ongoing = reassignments::list(cluster, None).await?;
    let tps: Vec<TopicPartition> = plan.iter().map(|(tp, _)| tp.clone()).collect();
    let current = topic_partitions::current_replicas(cluster, &tps).await?;
    let by_tp: BTreeMap<&TopicPartition, &OngoingReassignment> =
        ongoing.iter().map(|o| (&o.tp, o)).collect();
    let mut partitions: Vec<Verified> = plan
        .iter()
        .map(|(tp, target)| {
            let (status, replicas) = match by_tp.get(tp) {
                Some(o) => ("in_progress", o.replicas.clone()),
                None => {
                    let now = current.get(tp).cloned().unwrap_or_default();
                    let status = if &now == target {
                        "completed"
                    } else {
                        "replicas_differ"
                    };
                    (status, now)
                }
            };
            Verified {
                topic: tp.0.clone(),
                partition: tp.1,
                status,
                current_replicas: replicas,
                target_replicas: target.clone(),
            }
        })
        .collect();
    partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let verification = Verification {
        partitions,
        in_progress: !ongoing.is_empty(),
    };
    match format {
        Format::Json => output::print_json(&verification),
        Format::Table => output::print_text(&verify_text(&verification)),
    }
}

fn verify_text(v: &Verification) -> String {
    let mut out = String::from("Status of partition reassignment:\n");
    for p in &v.partitions {
        let tp = tp_name(&(p.topic.clone(), p.partition));
        let line = match p.status {
            "completed" => format!("Reassignment of partition {tp} is completed."),
            "in_progress" => format!("Reassignment of partition {tp} is still in progress."),
            _ => format!(
                "There is no active reassignment of partition {tp}, but replica set is {} \
                 rather than {}.",
                ids(&p.current_replicas),
                ids(&p.target_replicas)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `--cancel` in `-o json`.
#[derive(Debug, Serialize)]
struct Cancelled {
    cancelled: Vec<PartitionJson>,
}

async fn cancel(
    cluster: &Cluster,
    format: Format,
    plan: &[(TopicPartition, Vec<i32>)],
) -> anyhow::Result<()> {
    let tps: Vec<TopicPartition> = plan.iter().map(|(tp, _)| tp.clone()).collect();
    let _ = topic_partitions::current_replicas(cluster, &tps).await?;
    let active: Vec<TopicPartition> = reassignments::list(cluster, Some(&tps))
        .await?
        .into_iter()
        .map(|o| o.tp)
        .collect();
    if !active.is_empty() {
        let changes: Vec<(TopicPartition, Option<Vec<i32>>)> =
            active.iter().map(|tp| (tp.clone(), None)).collect();
        let outcomes = reassignments::alter(cluster, &changes).await?;
        failures("Error cancelling partition reassignment(s)", &outcomes)?;
    }
    match format {
        Format::Json => output::print_json(&Cancelled {
            cancelled: active.iter().map(PartitionJson::of).collect(),
        }),
        Format::Table if active.is_empty() => {
            output::print_text("None of the specified partition reassignments are active.\n")
        }
        Format::Table => output::print_text(&format!(
            "Successfully cancelled partition reassignment{} for: {}\n",
            plural(active.len()),
            tp_names(&active, ",")
        )),
    }
}

/// A move in progress in `--list -o json`.
#[derive(Debug, Serialize)]
struct OngoingJson {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
    adding: Vec<i32>,
    removing: Vec<i32>,
}

async fn list(cluster: &Cluster, format: Format) -> anyhow::Result<()> {
    let ongoing = reassignments::list(cluster, None).await?;
    match format {
        Format::Json => output::print_json(
            &ongoing
                .iter()
                .map(|o| OngoingJson {
                    topic: o.tp.0.clone(),
                    partition: o.tp.1,
                    replicas: o.replicas.clone(),
                    adding: o.adding.clone(),
                    removing: o.removing.clone(),
                })
                .collect::<Vec<_>>(),
        ),
        Format::Table if ongoing.is_empty() => {
            output::print_text("No partition reassignments found.\n")
        }
        Format::Table => {
            let mut out = String::from("Current partition reassignments:\n");
            for o in &ongoing {
                out.push_str(&format!(
                    "{}: replicas: {}.",
                    tp_name(&o.tp),
                    ids(&o.replicas)
                ));
                if !o.adding.is_empty() {
                    out.push_str(&format!(" adding: {}.", ids(&o.adding)));
                }
                if !o.removing.is_empty() {
                    out.push_str(&format!(" removing: {}.", ids(&o.removing)));
                }
                out.push('\n');
            }
            output::print_text(&out)
        }
    }
}
