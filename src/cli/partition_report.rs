//! The partition reports of `ktui topics describe [TOPIC]`, after kafka-topics.sh's
//! `--under-replicated-partitions` (ISR smaller than the replicas, replicas being added by a
//! reassignment not counted), `--unavailable-partitions` (no leader, or a leader that is not a
//! live broker), `--under-min-isr-partitions` (no leader, or ISR below the topic's
//! `min.insync.replicas`) and `--at-min-isr-partitions` (ISR exactly at it). Several flags
//! list the partitions any of them selects; without TOPIC every topic is searched.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use super::topic_partitions::ids;
use crate::client::admin::{self, TopicPartition};
use crate::client::cluster::{PartitionInfo, TopicInfo};
use crate::client::{reassignments, Cluster};
use crate::error::Error;

/// Kafka's `min.insync.replicas` key and default.
const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";
const MIN_INSYNC_REPLICAS_DEFAULT: usize = 1;

/// The report flags of `topics describe`.
#[derive(Debug, Clone, Copy, Args)]
pub(super) struct ReportFlags {
    /// Only partitions whose ISR is smaller than their replicas.
    #[arg(long)]
    under_replicated_partitions: bool,
    /// Only partitions without a leader, or whose leader is not a live broker.
    #[arg(long)]
    unavailable_partitions: bool,
    /// Only partitions without a leader or whose ISR is below the topic's min.insync.replicas.
    #[arg(long)]
    under_min_isr_partitions: bool,
    /// Only partitions whose ISR is exactly the topic's min.insync.replicas.
    #[arg(long)]
    at_min_isr_partitions: bool,
}

impl ReportFlags {
    /// Whether any report was asked for (else `topics describe` describes one topic in full).
    pub(super) fn any(&self) -> bool {
        self.under_replicated_partitions
            || self.unavailable_partitions
            || self.under_min_isr_partitions
            || self.at_min_isr_partitions
    }

    fn needs_min_isr(&self) -> bool {
        self.under_min_isr_partitions || self.at_min_isr_partitions
    }
}

/// What the reports know of one partition.
struct Health<'a> {
    partition: &'a PartitionInfo,
    /// The replicas minus those a reassignment is adding, as Kafka counts them.
    replication_factor: usize,
    min_isr: usize,
}

impl Health<'_> {
    fn has_leader(&self) -> bool {
        self.partition.leader >= 0
    }

    fn selected(&self, flags: &ReportFlags, live: &BTreeSet<i32>) -> bool {
        let isr = self.partition.isr.len();
        (flags.under_replicated_partitions && isr < self.replication_factor)
            || (flags.unavailable_partitions
                && (!self.has_leader() || !live.contains(&self.partition.leader)))
            || (flags.under_min_isr_partitions && (!self.has_leader() || isr < self.min_isr))
            || (flags.at_min_isr_partitions && isr == self.min_isr)
    }
}

/// A reported partition in `-o json`.
#[derive(Debug, Serialize)]
struct ReportedPartition {
    topic: String,
    partition: i32,
    /// -1 when the partition has no leader.
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    offline: Vec<i32>,
}

/// Prints the partitions of `topic` (every topic when `None`) that `flags` select.
pub(super) async fn report(
    connect: &ConnectArgs,
    topic: Option<&str>,
    flags: ReportFlags,
) -> anyhow::Result<()> {
    let cluster = connect.connect().await?;
    let metadata = cluster.refresh_metadata().await?;
    let topics: Vec<&TopicInfo> = match topic {
        Some(name) => vec![metadata.topic(name)?],
        None => metadata
            .topics
            .values()
            .filter(|t| t.error_code == 0)
            .collect(),
    };
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let min_isr = if flags.needs_min_isr() {
        min_insync_replicas(&cluster, &names).await?
    } else {
        BTreeMap::new()
    };
    let adding = adding_replicas(&cluster).await?;
    let live: BTreeSet<i32> = metadata.brokers.keys().copied().collect();
    let mut rows = Vec::new();
    for t in topics {
        for p in &t.partitions {
            let tp = (t.name.clone(), p.id);
            let health = Health {
                partition: p,
                replication_factor: p
                    .replicas
                    .len()
                    .saturating_sub(adding.get(&tp).map_or(0, Vec::len)),
                min_isr: min_isr
                    .get(&t.name)
                    .copied()
                    .unwrap_or(MIN_INSYNC_REPLICAS_DEFAULT),
            };
            if health.selected(&flags, &live) {
                rows.push(ReportedPartition {
                    topic: t.name.clone(),
                    partition: p.id,
                    leader: p.leader,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    offline: p.offline.clone(),
                });
            }
        }
    }
    match connect.output {
        Format::Json => output::print_json(&rows),
        Format::Table => table(&rows).print(),
    }
}

fn table(rows: &[ReportedPartition]) -> Table {
    let mut table = Table::new(&["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE"]);
    for r in rows {
        let leader = if r.leader >= 0 {
            r.leader.to_string()
        } else {
            "none".to_string()
        };
        table.row(vec![
            r.topic.clone(),
            r.partition.to_string(),
            leader,
            ids(&r.replicas),
            ids(&r.isr),
            ids(&r.offline),
        ]);
    }
    table
}

/// Each topic's `min.insync.replicas`, in one DescribeConfigs.
async fn min_insync_replicas(
    cluster: &Cluster,
    topics: &[String],
) -> anyhow::Result<BTreeMap<String, usize>> {
    let values = admin::topic_config_values(cluster, topics, MIN_INSYNC_REPLICAS).await?;
    let mut out = BTreeMap::new();
    for (topic, value) in values {
        let Some(value) = value else { continue };
        let parsed = value.trim().parse().map_err(|_| {
            anyhow::anyhow!("topic '{topic}' has {MIN_INSYNC_REPLICAS}='{value}', not a number")
        })?;
        let _ = out.insert(topic, parsed);
    }
    Ok(out)
}

/// Replicas being added by reassignments in progress; none from a broker too old to list them.
async fn adding_replicas(cluster: &Cluster) -> anyhow::Result<BTreeMap<TopicPartition, Vec<i32>>> {
    match reassignments::list(cluster, None).await {
        Ok(ongoing) => Ok(ongoing.into_iter().map(|o| (o.tp, o.adding)).collect()),
        Err(Error::UnsupportedVersion { .. }) => Ok(BTreeMap::new()),
        Err(e) => Err(e.into()),
    }
}
