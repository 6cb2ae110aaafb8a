//! The client calls behind each screen, turning the client's answers into the console's rows
//! (`model`). Every function runs on a background task; none is called from the UI.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;

use crate::client::admin::{self, TopicPartition};
use crate::client::cluster::Metadata;
use crate::client::elections::{self, ElectionType};
use crate::client::groups;
use crate::client::isolation::IsolationLevel;
use crate::client::lag;
use crate::client::produce::{ProduceOptions, Producer, ProducerRecord};
use crate::client::transactions::{self, AbortSpec, ListFilter};
use crate::client::Cluster;
use crate::client::{acls, producers, reassignments, scram_users};
use crate::error::Result;
use crate::tui::action::{BrokerOp, ElectionScope, ProduceRequest, ResetSpec, TxnAbort};
use crate::tui::model::{
    BrokerRow, ClusterSnapshot, ConfigRow, GroupDetail, GroupPartitionRow, GroupRow, LogDirRow,
    PartitionRow, PartitionState, Reassigning, ResetRow, TopicDetail, TopicRow, TransactionRow,
};

/// Kafka's `min.insync.replicas` key and default.
const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";
const MIN_INSYNC_REPLICAS_DEFAULT: usize = 1;

/// Metadata (fresh), the low and high watermarks of every partition, whether each broker
/// answers, and `min.insync.replicas` of the topics with under-replicated partitions (only
/// those can be under it, so a healthy cluster costs no DescribeConfigs).
pub async fn cluster(cluster: &Arc<Cluster>) -> Result<ClusterSnapshot> {
    let metadata = cluster.refresh_metadata().await?;
    let all: Vec<TopicPartition> = metadata
        .topics
        .values()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.id)))
        .collect();
    let degraded: Vec<String> = metadata
        .topics
        .values()
        .filter(|t| t.partitions.iter().any(|p| p.isr.len() < p.replicas.len()))
        .map(|t| t.name.clone())
        .collect();
    let offsets = async {
        if all.is_empty() {
            return (HashMap::new(), HashMap::new());
        }
        let (low, high) = tokio::join!(
            admin::list_offsets(cluster, &all, admin::EARLIEST),
            admin::list_offsets(cluster, &all, admin::LATEST),
        );
        (low.unwrap_or_default(), high.unwrap_or_default())
    };
    let ((low, high), reachable, min_isr, quorum_leader) = tokio::join!(
        offsets,
        reachability(cluster, &metadata),
        admin::topic_config_values(cluster, &degraded, MIN_INSYNC_REPLICAS),
        crate::client::quorum::active_controller(cluster),
    );
    let min_isr: BTreeMap<String, usize> = min_isr
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(topic, value)| Some((topic, value?.parse().ok()?)))
        .collect();
    Ok(snapshot(
        &metadata,
        &low,
        &high,
        &reachable,
        &min_isr,
        quorum_leader,
    ))
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

/// The snapshot of `metadata` with watermarks (pure, for benchmarks too). A partition is
/// offline without a leader that Metadata lists; under min ISR when its ISR is below the
/// topic's `min.insync.replicas` (from `min_isr`, else Kafka's default of 1). The controller is
/// the quorum's leader when the quorum named one, else Metadata's.
pub fn snapshot(
    metadata: &Metadata,
    low: &Offsets,
    high: &Offsets,
    reachable: &BTreeMap<i32, bool>,
    min_isr: &BTreeMap<String, usize>,
    quorum_leader: Option<i32>,
) -> ClusterSnapshot {
    let controller = quorum_leader.unwrap_or(metadata.controller_id);
    #[derive(Default)]
    struct Counts {
        leaders: usize,
        replicas: usize,
        under_replicated_led: usize,
    }
    let mut per_broker: BTreeMap<i32, Counts> = BTreeMap::new();
    let mut partitions = Vec::new();
    let topics = metadata
        .topics
        .values()
        .map(|t| {
            let mut messages = Some(0i64);
            let (mut under, mut under_min, mut offline) = (0, 0, 0);
            let min = min_isr
                .get(&t.name)
                .copied()
                .unwrap_or(MIN_INSYNC_REPLICAS_DEFAULT);
            for p in &t.partitions {
                let led = metadata.brokers.contains_key(&p.leader);
                let under_replicated = p.isr.len() < p.replicas.len();
                if led {
                    let counts = per_broker.entry(p.leader).or_default();
                    counts.leaders += 1;
                    counts.under_replicated_led += usize::from(under_replicated);
                }
                for r in &p.replicas {
                    per_broker.entry(*r).or_default().replicas += 1;
                }
                let key = (t.name.clone(), p.id);
                let count = low
                    .get(&key)
                    .zip(high.get(&key))
                    .map(|(l, h)| h.offset - l.offset);
                messages = messages.zip(count).map(|(a, b)| a + b);
                under += usize::from(under_replicated);
                under_min += usize::from(led && p.isr.len() < min);
                offline += usize::from(!led);
                partitions.push(PartitionState {
                    topic: t.name.clone(),
                    partition: p.id,
                    leader: if led { p.leader } else { -1 },
                    isr: p.isr.clone(),
                });
            }
            TopicRow {
                name: t.name.clone(),
                partitions: t.partitions.len(),
                replication: t.partitions.first().map_or(0, |p| p.replicas.len()),
                messages,
                under_replicated: under,
                under_min_isr: under_min,
                offline,
                internal: t.internal || t.name.starts_with("__"),
                groups: 0,
                lag: None,
            }
        })
        .collect();
    let brokers = per_broker
        .keys()
        .chain(metadata.brokers.keys())
        .copied()
        .collect::<BTreeSet<i32>>()
        .into_iter()
        .map(|id| {
            let counts = per_broker.get(&id);
            let listed = metadata.brokers.get(&id);
            BrokerRow {
                id,
                addr: listed.map(|b| b.addr()).unwrap_or_default(),
                rack: listed.and_then(|b| b.rack.clone()),
                controller: id == controller,
                leaders: counts.map_or(0, |c| c.leaders),
                replicas: counts.map_or(0, |c| c.replicas),
                under_replicated_led: counts.map_or(0, |c| c.under_replicated_led),
                fenced: listed.is_none(),
                reachable: reachable.get(&id).copied().unwrap_or(false),
            }
        })
        .collect();
    ClusterSnapshot {
        cluster_id: metadata.cluster_id.clone(),
        controller,
        topics,
        brokers,
        partitions,
    }
}

/// Every log directory of every broker with the bytes of its partitions.
pub async fn log_dirs(cluster: &Arc<Cluster>) -> Result<BTreeMap<i32, Vec<LogDirRow>>> {
    let described = crate::client::log_dirs::describe(cluster, None, None).await?;
    Ok(described
        .into_iter()
        .map(|(broker, dirs)| {
            let rows = dirs
                .into_iter()
                .map(|d| LogDirRow {
                    bytes: d.replicas.iter().map(|r| r.size).sum(),
                    path: d.path,
                    error: d.error,
                })
                .collect();
            (broker, rows)
        })
        .collect())
}

/// Elects leaders for `scope`; the status line's words on success (elected and already
/// elected), or the first partition's error.
pub async fn elect(cluster: &Arc<Cluster>, scope: &ElectionScope, unclean: bool) -> Result<String> {
    let kind = if unclean {
        ElectionType::Unclean
    } else {
        ElectionType::Preferred
    };
    let partitions: Option<Vec<TopicPartition>> = match scope {
        ElectionScope::All => None,
        ElectionScope::Topic(t) => Some(admin::partitions_of(cluster, t).await?),
        ElectionScope::Partition(t, p) => Some(vec![(t.clone(), *p)]),
    };
    let outcomes = elections::elect_leaders(cluster, kind, partitions.as_deref()).await?;
    let (mut elected, mut not_needed) = (Vec::new(), 0usize);
    for o in outcomes {
        if o.not_needed() {
            not_needed += 1;
        } else {
            match o.result {
                Ok(()) => elected.push(format!("{}-{}", o.tp.0, o.tp.1)),
                Err(e) => return Err(e),
            }
        }
    }
    let elected_text = match elected.len() {
        0 => "no leader changed".to_string(),
        1..=3 => format!("elected {}", elected.join(", ")),
        n => format!("elected {n} partitions"),
    };
    Ok(format!(
        "{} leader election for {scope}: {elected_text}; {not_needed} already had it",
        kind.to_string().to_lowercase()
    ))
}

/// Starts moving one partition to `replicas`.
pub async fn reassign(
    cluster: &Arc<Cluster>,
    topic: &str,
    partition: i32,
    replicas: &[i32],
) -> Result<()> {
    let tp = (topic.to_string(), partition);
    let outcomes = reassignments::alter(cluster, &[(tp, Some(replicas.to_vec()))]).await?;
    outcomes.into_iter().try_for_each(|o| o.result)
}

/// Reassignments in progress.
pub async fn reassigning(cluster: &Arc<Cluster>) -> Result<Vec<Reassigning>> {
    Ok(reassignments::list(cluster, None)
        .await?
        .into_iter()
        .map(|r| Reassigning {
            topic: r.tp.0,
            partition: r.tp.1,
            replicas: r.replicas,
            adding: r.adding,
            removing: r.removing,
        })
        .collect())
}

/// Deletes exactly `binding` (a filter naming every field).
pub async fn delete_acl(cluster: &Arc<Cluster>, binding: &acls::AclBinding) -> Result<()> {
    let filter = acls::AclFilter {
        resource_type: binding.resource_type,
        resource_name: Some(binding.resource_name.clone()),
        pattern_type: binding.pattern_type,
        principal: Some(binding.principal.clone()),
        host: Some(binding.host.clone()),
        operation: binding.operation,
        permission: binding.permission,
    };
    acls::delete(cluster, &[filter]).await.map(|_| ())
}

/// Deletes every SCRAM credential of `user`.
pub async fn delete_user(cluster: &Arc<Cluster>, user: &str) -> Result<()> {
    let found = scram_users::describe(cluster, Some(&[user.to_string()])).await?;
    for credential in found.iter().flat_map(|u| &u.credentials) {
        scram_users::delete(cluster, user, credential.mechanism).await?;
    }
    Ok(())
}

/// Stops, kills or starts node `id` of the local cluster (blocking: run off the runtime).
pub fn control_local_node(id: i32, op: BrokerOp) -> anyhow::Result<String> {
    use crate::local::cluster::{self as local, report};
    Ok(match op {
        BrokerOp::Stop => report::stop(id, local::stop(id, crate::local::Signal::Term)?, false),
        BrokerOp::Kill => report::stop(id, local::stop(id, crate::local::Signal::Kill)?, true),
        BrokerOp::Start => report::start(&local::start(id)?),
    })
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
            let mut topic_lag: BTreeMap<String, Option<i64>> = BTreeMap::new();
            for p in parts.iter().flat_map(|ps| ps.iter()) {
                let sum = topic_lag.entry(p.topic.clone()).or_insert(Some(0));
                *sum = sum.zip(p.lag).map(|(a, b)| a + b);
            }
            let d = by_name.get(g.group.as_str());
            GroupRow {
                id: g.group.clone(),
                state: d.map_or_else(|| g.state.clone(), |d| d.state.clone()),
                members: d.map_or(0, |d| d.members.len()),
                protocol: d.map_or_else(String::new, |d| d.protocol.clone()),
                topics: topic_lag.keys().cloned().collect(),
                lag: parts.map(|ps| ps.iter().filter_map(|p| p.lag).sum()),
                topic_lag: topic_lag.into_iter().collect(),
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
    let lso = last_stable_offsets(cluster, lags.get(id).map_or(&[][..], Vec::as_slice)).await;
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
                        lso: lso.get(&(p.topic.clone(), p.partition)).copied(),
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

/// The last stable offset of each partition in `lags` (ListOffsets at read_committed); empty
/// when the brokers cannot say (before ListOffsets v2), which the screen shows as no LSO.
async fn last_stable_offsets(
    cluster: &Arc<Cluster>,
    lags: &[lag::PartitionLag],
) -> HashMap<TopicPartition, i64> {
    let tps: Vec<TopicPartition> = lags
        .iter()
        .filter(|p| p.log_end_offset.is_some())
        .map(|p| (p.topic.clone(), p.partition))
        .collect();
    if tps.is_empty() {
        return HashMap::new();
    }
    let committed = IsolationLevel::ReadCommitted;
    match admin::list_offsets_isolated(cluster, &tps, admin::LATEST, committed).await {
        Ok(found) => found.into_iter().map(|(tp, o)| (tp, o.offset)).collect(),
        Err(e) => {
            tracing::debug!("no last stable offsets: {e}");
            HashMap::new()
        }
    }
}

/// Every transactional id the brokers list, each described by its coordinator; how long an
/// open transaction has been open is measured at `now_ms`.
pub async fn transactions(cluster: &Arc<Cluster>, now_ms: i64) -> Result<Vec<TransactionRow>> {
    let listing = transactions::list(cluster, &ListFilter::default()).await?;
    let ids: Vec<String> = listing
        .transactions
        .iter()
        .map(|t| t.transactional_id.clone())
        .collect();
    let described: HashMap<String, _> = transactions::describe(cluster, &ids)
        .await?
        .into_iter()
        .collect();
    Ok(listing
        .transactions
        .iter()
        .map(|listed| match described.get(&listed.transactional_id) {
            Some(Ok(d)) => TransactionRow {
                id: d.transactional_id.clone(),
                coordinator: d.coordinator,
                state: d.state.clone(),
                producer_id: d.producer_id,
                producer_epoch: d.producer_epoch,
                timeout_ms: d.timeout_ms,
                open_ms: d.open_for_ms(now_ms),
                partitions: d
                    .partitions
                    .iter()
                    .map(|p| (p.topic.clone(), p.partition))
                    .collect(),
                error: None,
            },
            other => TransactionRow {
                id: listed.transactional_id.clone(),
                coordinator: listed.coordinator,
                state: listed.state.clone(),
                producer_id: listed.producer_id,
                producer_epoch: -1,
                error: Some(match other {
                    Some(Err(e)) => e.to_string(),
                    _ => "not described".to_string(),
                }),
                ..TransactionRow::default()
            },
        })
        .collect())
}

/// KIP-664's abort of `txn` on each of its partitions: the leader's DescribeProducers finds
/// the open transaction of its producer there (its start offset), and an ABORT marker is
/// written for it. Partitions where the producer has none open are left alone. The status
/// line's words, or the first partition's error.
pub async fn abort_transaction(cluster: &Arc<Cluster>, txn: &TxnAbort) -> Result<String> {
    let (mut aborted, mut closed) = (Vec::new(), 0usize);
    for (topic, partition) in &txn.partitions {
        let active = producers::describe(cluster, topic, *partition).await?;
        let open = active
            .iter()
            .find(|p| p.producer_id == txn.producer_id && p.open_transaction().is_some());
        let Some(producer) = open else {
            closed += 1;
            continue;
        };
        let spec = AbortSpec::for_producer(topic, *partition, producer)?;
        transactions::write_abort(cluster, &spec).await?;
        aborted.push(format!(
            "{topic}-{partition} from offset {}",
            producer.current_txn_start_offset
        ));
    }
    let id = &txn.id;
    Ok(match (aborted.len(), closed) {
        (0, _) => format!(
            "abort transaction {id}: producer {} has no open transaction on its partitions",
            txn.producer_id
        ),
        (_, 0) => format!("abort transaction {id}: aborted {}", aborted.join(", ")),
        (_, n) => format!(
            "abort transaction {id}: aborted {}; {n} partitions had none open",
            aborted.join(", ")
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::cluster::BrokerInfo;

    /// Brokers 3 and 4, Metadata naming `named` as the controller (as Kafka names a random
    /// live broker when the controllers are nodes of their own).
    fn metadata(named: i32) -> Metadata {
        let mut m = Metadata {
            controller_id: named,
            ..Metadata::default()
        };
        for id in [3, 4] {
            let broker = BrokerInfo {
                id,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: None,
            };
            let _ = m.brokers.insert(id, broker);
        }
        m
    }

    fn marked(s: &ClusterSnapshot) -> Vec<i32> {
        s.brokers
            .iter()
            .filter(|b| b.controller)
            .map(|b| b.id)
            .collect()
    }

    #[test]
    fn the_quorums_leader_is_the_controller_whatever_metadata_names() {
        let empty = HashMap::new();
        let none = BTreeMap::new();
        // A controller of its own: no broker is marked, whichever one Metadata names.
        for named in [3, 4] {
            let s = snapshot(
                &metadata(named),
                &empty,
                &empty,
                &none,
                &BTreeMap::new(),
                Some(0),
            );
            assert_eq!(s.controller, 0);
            assert!(marked(&s).is_empty(), "{:?}", marked(&s));
        }
        // A combined node leads: it is marked.
        let s = snapshot(
            &metadata(3),
            &empty,
            &empty,
            &none,
            &BTreeMap::new(),
            Some(4),
        );
        assert_eq!((s.controller, marked(&s)), (4, vec![4]));
        // No quorum to ask (ZooKeeper-mode Kafka, Redpanda): Metadata's.
        let s = snapshot(&metadata(3), &empty, &empty, &none, &BTreeMap::new(), None);
        assert_eq!((s.controller, marked(&s)), (3, vec![3]));
    }
}
