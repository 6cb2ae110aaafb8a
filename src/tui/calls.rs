//! The client calls behind each screen, turning the client's answers into the console's rows
//! (`model`). Every function runs on a background task; none is called from the UI.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;

use crate::client::admin::{self, TopicPartition};
use crate::client::cluster::Metadata;
use crate::client::groups;
use crate::client::lag;
use crate::client::produce::{ProduceOptions, Producer, ProducerRecord};
use crate::client::Cluster;
use crate::error::Result;
use crate::tui::action::{ProduceRequest, ResetSpec};
use crate::tui::model::{
    BrokerRow, ClusterSnapshot, ConfigRow, GroupDetail, GroupPartitionRow, GroupRow, PartitionRow,
    ResetRow, TopicDetail, TopicRow,
};

/// Metadata (fresh) and the low and high watermarks of every partition.
pub async fn cluster(cluster: &Arc<Cluster>) -> Result<ClusterSnapshot> {
    let metadata = cluster.refresh_metadata().await?;
    let all: Vec<TopicPartition> = metadata
        .topics
        .values()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.id)))
        .collect();
    let (low, high) = if all.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        let (low, high) = tokio::join!(
            admin::list_offsets(cluster, &all, admin::EARLIEST),
            admin::list_offsets(cluster, &all, admin::LATEST),
        );
        (low.unwrap_or_default(), high.unwrap_or_default())
    };
    let reachable = reachability(cluster, &metadata).await;
    Ok(snapshot(&metadata, &low, &high, &reachable))
}

/// How long a broker may take to accept a connection before it is shown unreachable.
const REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether each broker accepts a connection (all at once, each within [`REACH_TIMEOUT`]).
async fn reachability(cluster: &Arc<Cluster>, metadata: &Metadata) -> BTreeMap<i32, bool> {
    let mut checks = tokio::task::JoinSet::new();
    for id in metadata.brokers.keys().copied() {
        let cluster = cluster.clone();
        drop(checks.spawn(async move {
            let reached = tokio::time::timeout(REACH_TIMEOUT, cluster.broker(id)).await;
            (id, matches!(reached, Ok(Ok(_))))
        }));
    }
    let mut out = BTreeMap::new();
    while let Some(Ok((id, reached))) = checks.join_next().await {
        let _ = out.insert(id, reached);
    }
    out
}

type Offsets = HashMap<TopicPartition, admin::ListedOffset>;

/// The snapshot of `metadata` with watermarks (pure, for benchmarks too).
pub fn snapshot(
    metadata: &Metadata,
    low: &Offsets,
    high: &Offsets,
    reachable: &BTreeMap<i32, bool>,
) -> ClusterSnapshot {
    let mut leaders: BTreeMap<i32, usize> = BTreeMap::new();
    let topics = metadata
        .topics
        .values()
        .map(|t| {
            let mut messages = Some(0i64);
            let mut under = 0;
            let mut offline = 0;
            for p in &t.partitions {
                *leaders.entry(p.leader).or_default() += 1;
                let key = (t.name.clone(), p.id);
                let count = low
                    .get(&key)
                    .zip(high.get(&key))
                    .map(|(l, h)| h.offset - l.offset);
                messages = messages.zip(count).map(|(a, b)| a + b);
                under += usize::from(p.isr.len() < p.replicas.len());
                offline += usize::from(p.leader < 0 || !p.offline.is_empty());
            }
            TopicRow {
                name: t.name.clone(),
                partitions: t.partitions.len(),
                replication: t.partitions.first().map_or(0, |p| p.replicas.len()),
                messages,
                under_replicated: under,
                offline,
                internal: t.internal || t.name.starts_with("__"),
            }
        })
        .collect();
    let brokers = metadata
        .brokers
        .values()
        .map(|b| BrokerRow {
            id: b.id,
            addr: b.addr(),
            rack: b.rack.clone(),
            controller: b.id == metadata.controller_id,
            leaders: leaders.get(&b.id).copied().unwrap_or(0),
            reachable: reachable.get(&b.id).copied().unwrap_or(false),
        })
        .collect();
    ClusterSnapshot {
        cluster_id: metadata.cluster_id.clone(),
        controller: metadata.controller_id,
        topics,
        brokers,
    }
}

/// Every group with state, members, protocol, topics and total lag.
pub async fn groups(cluster: &Arc<Cluster>) -> Result<Vec<GroupRow>> {
    let listed = groups::list_groups(cluster).await?;
    let names: Vec<String> = listed.iter().map(|g| g.group.clone()).collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let started = std::time::Instant::now();
    let described = groups::describe_groups(cluster, &names).await?;
    tracing::debug!("describe {} groups: {:?}", names.len(), started.elapsed());
    let assigned: HashMap<String, Vec<TopicPartition>> = described
        .iter()
        .map(|d| {
            let parts = d
                .members
                .iter()
                .flat_map(|m| m.assignment.clone())
                .collect();
            (d.group.clone(), parts)
        })
        .collect();
    let lags = lag::group_lag(cluster, &names, &assigned).await?;
    tracing::debug!("lag of {} groups: {:?}", names.len(), started.elapsed());
    let by_name: HashMap<&str, &groups::GroupDescription> =
        described.iter().map(|d| (d.group.as_str(), d)).collect();
    Ok(listed
        .iter()
        .map(|g| {
            let parts = lags.get(&g.group);
            let topics: BTreeSet<String> = parts
                .iter()
                .flat_map(|ps| ps.iter().map(|p| p.topic.clone()))
                .collect();
            let d = by_name.get(g.group.as_str());
            GroupRow {
                id: g.group.clone(),
                state: d.map_or_else(|| g.state.clone(), |d| d.state.clone()),
                members: d.map_or(0, |d| d.members.len()),
                protocol: d.map_or_else(String::new, |d| d.protocol.clone()),
                topics: topics.into_iter().collect(),
                lag: parts.map(|ps| ps.iter().filter_map(|p| p.lag).sum()),
            }
        })
        .collect())
}

/// Partitions with watermarks, configs, and the groups with commits on the topic.
pub async fn topic(cluster: &Arc<Cluster>, name: &str) -> Result<TopicDetail> {
    let metadata = cluster.topic_metadata(&[name.to_string()]).await?;
    let info = metadata.topic(name)?.clone();
    let tps: Vec<TopicPartition> = info
        .partitions
        .iter()
        .map(|p| (name.to_string(), p.id))
        .collect();
    let (low, high, configs) = tokio::join!(
        admin::list_offsets(cluster, &tps, admin::EARLIEST),
        admin::list_offsets(cluster, &tps, admin::LATEST),
        admin::describe_topic_configs(cluster, name),
    );
    let (low, high) = (low.unwrap_or_default(), high.unwrap_or_default());
    let partitions = info
        .partitions
        .iter()
        .map(|p| {
            let key = (name.to_string(), p.id);
            PartitionRow {
                id: p.id,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                offline: p.offline.clone(),
                low: low.get(&key).map(|o| o.offset),
                high: high.get(&key).map(|o| o.offset),
            }
        })
        .collect();
    let configs = configs?
        .into_iter()
        .map(|c| ConfigRow {
            name: c.name,
            value: c.value,
            source: c.source,
            sensitive: c.sensitive,
        })
        .collect();
    let groups = groups_reading(cluster, name).await.unwrap_or_default();
    Ok(TopicDetail {
        name: name.to_string(),
        partitions,
        configs,
        groups,
    })
}

async fn groups_reading(cluster: &Arc<Cluster>, topic: &str) -> Result<Vec<(String, Option<i64>)>> {
    let names: Vec<String> = groups::list_groups(cluster)
        .await?
        .into_iter()
        .map(|g| g.group)
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let lags = lag::group_lag(cluster, &names, &HashMap::new()).await?;
    Ok(lags
        .into_iter()
        .filter_map(|(g, parts)| {
            let on: Vec<_> = parts.iter().filter(|p| p.topic == topic).collect();
            (!on.is_empty()).then(|| (g, Some(on.iter().filter_map(|p| p.lag).sum())))
        })
        .collect())
}

/// A group's partitions with committed offset, end, lag and owning member.
pub async fn group(cluster: &Arc<Cluster>, id: &str) -> Result<GroupDetail> {
    let ids = [id.to_string()];
    let described = groups::describe_groups(cluster, &ids).await?;
    let d = described.into_iter().next();
    let members = d.as_ref().map(|d| d.members.clone()).unwrap_or_default();
    let assigned: Vec<TopicPartition> = members.iter().flat_map(|m| m.assignment.clone()).collect();
    let mut by_group = HashMap::new();
    let _ = by_group.insert(id.to_string(), assigned);
    let lags = lag::group_lag(cluster, &ids, &by_group).await?;
    let owner = |tp: (&str, i32)| {
        members
            .iter()
            .find(|m| m.assignment.iter().any(|(t, p)| t == tp.0 && *p == tp.1))
    };
    let partitions = lags
        .get(id)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let m = owner((&p.topic, p.partition));
                    GroupPartitionRow {
                        topic: p.topic.clone(),
                        partition: p.partition,
                        committed: p.current_offset,
                        end: p.log_end_offset,
                        lag: p.lag,
                        member: m.map(|m| m.member_id.clone()),
                        client: m.map(|m| m.client_id.clone()),
                        host: m.map(|m| m.host.clone()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(GroupDetail {
        id: id.to_string(),
        state: d
            .as_ref()
            .map_or_else(|| "Dead".into(), |d| d.state.clone()),
        protocol: d.as_ref().map_or_else(String::new, |d| d.protocol.clone()),
        members: members.len(),
        partitions,
    })
}

/// The offsets a reset of `group` on every partition of `topic` would commit, kept within
/// each partition's earliest..latest as Kafka's reset tool keeps them.
pub async fn reset_preview(
    cluster: &Arc<Cluster>,
    group: &str,
    topic: &str,
    spec: &ResetSpec,
) -> Result<Vec<ResetRow>> {
    let tps = admin::partitions_of(cluster, topic).await?;
    let committed = groups::fetch_offsets(cluster, &[group.to_string()])
        .await?
        .remove(group)
        .unwrap_or_default();
    let earliest = admin::list_offsets(cluster, &tps, admin::EARLIEST).await?;
    let latest = admin::list_offsets(cluster, &tps, admin::LATEST).await?;
    let by_time = match spec {
        ResetSpec::Timestamp(ms) => Some(admin::list_offsets(cluster, &tps, *ms).await?),
        _ => None,
    };
    Ok(tps
        .iter()
        .map(|tp| {
            let lo = earliest.get(tp).map_or(0, |o| o.offset);
            let hi = latest.get(tp).map_or(lo, |o| o.offset).max(lo);
            let current = committed.get(tp).copied();
            let wanted = match spec {
                ResetSpec::Earliest => lo,
                ResetSpec::Latest => hi,
                ResetSpec::Offset(n) => *n,
                ResetSpec::Timestamp(_) => by_time
                    .as_ref()
                    .and_then(|f| f.get(tp))
                    .map(|o| o.offset)
                    .filter(|o| *o >= 0)
                    .unwrap_or(hi),
                ResetSpec::Shift(n) => current.unwrap_or(hi).saturating_add(*n),
            };
            ResetRow {
                topic: tp.0.clone(),
                partition: tp.1,
                current,
                new: wanted.clamp(lo, hi),
                end: hi,
            }
        })
        .collect())
}

/// Commits the previewed offsets (the group must have no active members).
pub async fn reset_execute(cluster: &Arc<Cluster>, group: &str, rows: &[ResetRow]) -> Result<()> {
    let offsets: BTreeMap<(String, i32), i64> = rows
        .iter()
        .map(|r| ((r.topic.clone(), r.partition), r.new))
        .collect();
    groups::commit_offsets(cluster, group, &offsets).await
}

/// Produces every line of `path` (line endings dropped) with the form's key, headers and
/// partition, acks=all; the number of records.
pub async fn produce_file(
    cluster: &Arc<Cluster>,
    request: &ProduceRequest,
    path: &str,
) -> Result<usize> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| crate::error::Error::Io {
            what: format!("cannot read '{path}'"),
            source,
        })?;
    let mut producer =
        Producer::new(cluster.clone(), &request.topic, ProduceOptions::default()).await?;
    let mut count = 0;
    for line in text.lines() {
        producer.send(record(request, line)).await?;
        count += 1;
    }
    producer.flush().await?;
    Ok(count)
}

fn record(request: &ProduceRequest, value: &str) -> ProducerRecord {
    ProducerRecord {
        key: request.key.clone().map(Bytes::from),
        value: Some(Bytes::from(value.to_string())),
        headers: request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Some(Bytes::from(v.clone()))))
            .collect(),
        partition: request.partition,
        timestamp: None,
    }
}

/// Produces one record with acks=all; the partition and offset written.
pub async fn produce(cluster: &Arc<Cluster>, request: &ProduceRequest) -> Result<(i32, i64)> {
    let mut producer =
        Producer::new(cluster.clone(), &request.topic, ProduceOptions::default()).await?;
    producer.send(record(request, &request.value)).await?;
    producer.flush().await?;
    let ack =
        producer.take_acks().into_iter().next().ok_or_else(|| {
            crate::error::Error::Invalid("the broker sent no acknowledgement".into())
        })?;
    Ok((ack.partition, ack.base_offset))
}
