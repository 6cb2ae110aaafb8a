//! `ktui groups list|describe|reset-offsets|delete`, after kafka-consumer-groups.sh: describe
//! shows each partition's committed offset, log end and lag with the member that owns it;
//! reset-offsets is a dry run unless `--execute`, and refuses a group with active members.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::connect::ConnectArgs;
use super::output::{self, Format, Table};
use crate::client::admin::{self, TopicPartition};
use crate::client::groups::{self, GroupMember};
use crate::client::lag::{self, PartitionLag};
use crate::client::Cluster;

/// Flags of `ktui groups`.
#[derive(Debug, Args)]
pub(super) struct GroupsArgs {
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
    #[command(subcommand)]
    command: GroupsCommand,
}

impl GroupsArgs {
    /// The write this command makes, for `--read-only` to refuse (a reset's dry run writes
    /// nothing).
    pub(super) fn writes(&self) -> Option<&'static str> {
        match &self.command {
            GroupsCommand::ResetOffsets(r) if r.execute => Some("groups reset-offsets --execute"),
            GroupsCommand::Delete { .. } => Some("groups delete"),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum GroupsCommand {
    /// Every group with its state and total lag.
    List,
    /// Partitions of a group: committed offset, log end, lag, and the member that owns each.
    Describe { group: String },
    /// Move a group's committed offsets (a dry run unless --execute).
    ResetOffsets(ResetArgs),
    /// Delete a group (it must have no members).
    Delete { group: String },
}

#[derive(Debug, Args)]
struct ResetArgs {
    group: String,
    /// TOPIC, or TOPIC:P1,P2 for some partitions.
    #[arg(long)]
    topic: String,
    #[command(flatten)]
    to: ResetTo,
    /// Commit the new offsets; without it, only show them.
    #[arg(long)]
    execute: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ResetTo {
    /// The earliest offset.
    #[arg(long)]
    to_earliest: bool,
    /// The log end offset.
    #[arg(long)]
    to_latest: bool,
    /// This offset (kept within earliest..latest).
    #[arg(long, value_name = "N")]
    to_offset: Option<i64>,
    /// The first offset at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    to_datetime: Option<String>,
    /// The first offset at or after this long ago (15m, 2h, 1day).
    #[arg(long, value_name = "DURATION")]
    by_duration: Option<String>,
    /// The committed offset plus N (N may be negative; kept within earliest..latest).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    shift_by: Option<i64>,
}

pub(super) async fn run(args: GroupsArgs) -> anyhow::Result<()> {
    let format = args.connect.output;
    let cluster = args.connect.connect().await?;
    match args.command {
        GroupsCommand::List => list(&cluster, format).await,
        GroupsCommand::Describe { group } => describe(&cluster, format, &group).await,
        GroupsCommand::ResetOffsets(reset) => reset_offsets(&cluster, format, &reset).await,
        GroupsCommand::Delete { group } => {
            groups::delete_groups(&cluster, std::slice::from_ref(&group)).await?;
            match format {
                Format::Json => {
                    output::print_json(&serde_json::json!({"group": group, "deleted": true}))
                }
                Format::Table => output::print_text(&format!("deleted group '{group}'\n")),
            }
        }
    }
}

/// One group in `groups list -o json`.
#[derive(Debug, Serialize)]
struct GroupRow {
    group: String,
    state: String,
    protocol_type: String,
    /// Partitions with a committed offset.
    partitions: usize,
    /// Sum of the partitions' lag; null when it could not be read.
    lag: Option<i64>,
}

async fn list(cluster: &Arc<Cluster>, format: Format) -> anyhow::Result<()> {
    let listed = groups::list_groups(cluster).await?;
    let names: Vec<String> = listed.iter().map(|g| g.group.clone()).collect();
    let lags = if names.is_empty() {
        BTreeMap::new()
    } else {
        match lag::group_lag(cluster, &names, &HashMap::new()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("ktui: lag not shown: {e}");
                BTreeMap::new()
            }
        }
    };
    let rows: Vec<GroupRow> = listed
        .into_iter()
        .map(|g| {
            let parts = lags.get(&g.group);
            GroupRow {
                partitions: parts.map_or(0, Vec::len),
                lag: parts.map(|ps| ps.iter().filter_map(|p| p.lag).sum()),
                group: g.group,
                state: g.state,
                protocol_type: g.protocol_type,
            }
        })
        .collect();
    match format {
        Format::Json => output::print_json(&rows),
        Format::Table => {
            let mut table = Table::new(&["GROUP", "STATE", "TYPE", "PARTITIONS", "LAG"]);
            for r in &rows {
                table.row(vec![
                    r.group.clone(),
                    r.state.clone(),
                    r.protocol_type.clone(),
                    r.partitions.to_string(),
                    output::or_dash(r.lag),
                ]);
            }
            table.print()
        }
    }
}

/// One partition in `groups describe -o json`.
#[derive(Debug, Serialize)]
struct DescribedPartition {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    log_end_offset: Option<i64>,
    lag: Option<i64>,
    member_id: Option<String>,
    host: Option<String>,
    client_id: Option<String>,
}

/// `groups describe -o json`.
#[derive(Debug, Serialize)]
struct GroupReport {
    group: String,
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<GroupMember>,
    partitions: Vec<DescribedPartition>,
}

async fn describe(cluster: &Arc<Cluster>, format: Format, group: &str) -> anyhow::Result<()> {
    let description = groups::describe_groups(cluster, &[group.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("group '{group}' was not described by its coordinator"))?;
    let owners: HashMap<TopicPartition, &GroupMember> = description
        .members
        .iter()
        .flat_map(|m| m.assignment.iter().map(move |tp| (tp.clone(), m)))
        .collect();
    let assigned = HashMap::from([(group.to_string(), owners.keys().cloned().collect())]);
    let lags = lag::group_lag(cluster, &[group.to_string()], &assigned).await?;
    let no_offsets = lags.get(group).is_none_or(Vec::is_empty);
    if description.state == "Dead" && description.members.is_empty() && no_offsets {
        anyhow::bail!(
            "group '{group}' does not exist (GROUP_ID_NOT_FOUND); check the name with `ktui groups list`"
        );
    }
    let partitions =
        lags.get(group)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|p: &PartitionLag| {
                let owner = owners.get(&(p.topic.clone(), p.partition));
                DescribedPartition {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    current_offset: p.current_offset,
                    log_end_offset: p.log_end_offset,
                    lag: p.lag,
                    member_id: owner.map(|m| m.member_id.clone()),
                    host: owner.map(|m| m.host.clone()),
                    client_id: owner.map(|m| m.client_id.clone()),
                }
            });
    let report = GroupReport {
        partitions: partitions.collect(),
        group: description.group,
        state: description.state,
        protocol_type: description.protocol_type,
        protocol: description.protocol,
        members: description.members,
    };
    match format {
        Format::Json => output::print_json(&report),
        Format::Table => print_report(&report),
    }
}

fn print_report(report: &GroupReport) -> anyhow::Result<()> {
    let (group, state, members) = (&report.group, &report.state, report.members.len());
    output::print_text(&format!(
        "Group: {group}  State: {state}  Members: {members}\n\n"
    ))?;
    let mut table = Table::new(&[
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for p in &report.partitions {
        table.row(vec![
            p.topic.clone(),
            p.partition.to_string(),
            output::or_dash(p.current_offset),
            output::or_dash(p.log_end_offset),
            output::or_dash(p.lag),
            output::or_dash(p.member_id.as_ref()),
            output::or_dash(p.host.as_ref()),
            output::or_dash(p.client_id.as_ref()),
        ]);
    }
    table.print()
}

/// One partition in `groups reset-offsets -o json`.
#[derive(Debug, Serialize)]
struct ResetRow {
    topic: String,
    partition: i32,
    previous_offset: Option<i64>,
    new_offset: i64,
}

/// `TOPIC` or `TOPIC:0,1`.
fn parse_topic_spec(spec: &str) -> anyhow::Result<(String, Option<Vec<i32>>)> {
    match spec.rsplit_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((topic, list)) => {
            let parts = list
                .split(',')
                .map(|p| {
                    p.trim().parse::<i32>().map_err(|_| {
                        anyhow::anyhow!("--topic '{spec}': '{p}' is not a partition number")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok((topic.to_string(), Some(parts)))
        }
    }
}

async fn reset_offsets(
    cluster: &Arc<Cluster>,
    format: Format,
    args: &ResetArgs,
) -> anyhow::Result<()> {
    let tps = reset_partitions(cluster, &args.topic).await?;
    let group = std::slice::from_ref(&args.group);
    let committed = groups::fetch_offsets(cluster, group)
        .await?
        .remove(&args.group)
        .unwrap_or_default();
    let targets = target_offsets(cluster, &tps, &args.to, &committed).await?;
    let rows: Vec<ResetRow> = tps
        .iter()
        .map(|tp| ResetRow {
            topic: tp.0.clone(),
            partition: tp.1,
            previous_offset: committed.get(tp).copied(),
            new_offset: targets.get(tp).copied().unwrap_or(-1),
        })
        .collect();
    if args.execute {
        let description = groups::describe_groups(cluster, group).await?;
        if let Some(d) = description.iter().find(|d| !d.members.is_empty()) {
            let (name, members, state) = (&d.group, d.members.len(), &d.state);
            anyhow::bail!("group '{name}' has {members} active members (state {state}); stop its consumers before resetting offsets");
        }
        groups::commit_offsets(cluster, &args.group, &targets).await?;
    }
    match format {
        Format::Json => output::print_json(
            &serde_json::json!({"group": args.group, "executed": args.execute, "partitions": rows}),
        ),
        Format::Table => print_reset(&args.group, &rows, args.execute),
    }
}

/// The partitions `--topic TOPIC[:P,P...]` names, each checked to exist.
async fn reset_partitions(
    cluster: &Arc<Cluster>,
    spec: &str,
) -> anyhow::Result<Vec<TopicPartition>> {
    let (topic, only) = parse_topic_spec(spec)?;
    let all = admin::partitions_of(cluster, &topic).await?;
    let Some(ps) = only else { return Ok(all) };
    if let Some(p) = ps.iter().find(|p| !all.iter().any(|(_, q)| q == *p)) {
        anyhow::bail!(
            "partition {p} does not exist: topic '{topic}' has {} partitions",
            all.len()
        );
    }
    Ok(ps.into_iter().map(|p| (topic.clone(), p)).collect())
}

fn print_reset(group: &str, rows: &[ResetRow], executed: bool) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "PREVIOUS-OFFSET",
        "NEW-OFFSET",
    ]);
    for r in rows {
        table.row(vec![
            group.to_string(),
            r.topic.clone(),
            r.partition.to_string(),
            output::or_dash(r.previous_offset),
            r.new_offset.to_string(),
        ]);
    }
    table.print()?;
    if !executed {
        eprintln!("dry run: pass --execute to commit these offsets");
    }
    Ok(())
}

/// The new offset of each partition, kept within its earliest..latest as Kafka's tool does.
async fn target_offsets(
    cluster: &Arc<Cluster>,
    tps: &[TopicPartition],
    to: &ResetTo,
    committed: &groups::Committed,
) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
    let earliest = admin::list_offsets(cluster, tps, admin::EARLIEST).await?;
    let latest = admin::list_offsets(cluster, tps, admin::LATEST).await?;
    let at_time = match (&to.to_datetime, &to.by_duration) {
        (Some(t), _) => Some(humantime::parse_rfc3339_weak(t).map_err(|_| {
            anyhow::anyhow!("--to-datetime '{t}' is not an RFC 3339 time (2026-11-25T10:00:00Z)")
        })?),
        (None, Some(d)) => {
            let ago = humantime::parse_duration(d).map_err(|_| {
                anyhow::anyhow!("--by-duration '{d}' is not a duration (15m, 2h, 1day)")
            })?;
            Some(
                std::time::SystemTime::now()
                    .checked_sub(ago)
                    .unwrap_or(std::time::UNIX_EPOCH),
            )
        }
        _ => None,
    };
    let by_time = match at_time {
        Some(t) => {
            let ms = t
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Some(admin::list_offsets(cluster, tps, ms).await?)
        }
        None => None,
    };
    let mut out = BTreeMap::new();
    for tp in tps {
        let lo = earliest.get(tp).map_or(0, |o| o.offset);
        let hi = latest.get(tp).map_or(lo, |o| o.offset);
        let wanted = if to.to_earliest {
            lo
        } else if to.to_latest {
            hi
        } else if let Some(n) = to.to_offset {
            n
        } else if let Some(found) = &by_time {
            found
                .get(tp)
                .map(|o| o.offset)
                .filter(|o| *o >= 0)
                .unwrap_or(hi)
        } else {
            committed
                .get(tp)
                .copied()
                .unwrap_or(hi)
                .saturating_add(to.shift_by.unwrap_or(0))
        };
        let _ = out.insert(tp.clone(), wanted.clamp(lo, hi.max(lo)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs_parse() {
        assert_eq!(parse_topic_spec("t").expect("t"), ("t".into(), None));
        assert_eq!(
            parse_topic_spec("t:0,2").expect("t"),
            ("t".into(), Some(vec![0, 2]))
        );
        assert!(parse_topic_spec("t:x").is_err());
    }
}
