//! Topic and cluster administration: create, delete, add partitions, describe and alter
//! configs, and partition offsets (ListOffsets, one request per leader for all its partitions).
//! Topic-changing requests go to the controller, as Kafka's admin client sends them; results
//! are checked per topic and a failing code becomes an [`Error::Kafka`] naming the topic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, ListOffsetsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::cluster::Cluster;
use super::connection::Connection;
use super::isolation::IsolationLevel;
use crate::error::{Error, Result};

/// ListOffsets' special timestamp for the first offset.
pub const EARLIEST: i64 = -2;
/// ListOffsets' special timestamp for the log end offset (high watermark).
pub const LATEST: i64 = -1;
/// Kafka's ConfigResource type for topics.
const RESOURCE_TOPIC: i8 = 2;

/// A topic partition.
pub type TopicPartition = (String, i32);

/// One config of a topic as DescribeConfigs returns it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's ConfigSource name: DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG, STATIC_BROKER_CONFIG ...
    pub source: String,
    pub read_only: bool,
    pub sensitive: bool,
}

fn name(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(crate) fn topic_name(s: &str) -> TopicName {
    TopicName(name(s))
}

/// The controller's connection, else any broker's.
pub(crate) async fn controller(cluster: &Cluster) -> Result<Arc<Connection>> {
    let metadata = cluster.metadata().await?;
    if metadata.brokers.contains_key(&metadata.controller_id) {
        return cluster.broker(metadata.controller_id).await;
    }
    cluster.any_connection().await
}

/// CreateTopics for one topic.
pub async fn create_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, String)],
) -> Result<()> {
    create_topic_reporting(cluster, topic, partitions, replication_factor, configs)
        .await
        .map(|_| ())
}

/// CreateTopics for one topic, returning the partition count and replication factor used.
pub async fn create_topic_reporting(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(String, String)],
) -> Result<CreatedTopic> {
    let creatable = CreatableTopic::default()
        .with_name(topic_name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(name(k))
                        .with_value(Some(name(v)))
                })
                .collect(),
        );
    let request = CreateTopicsRequest::default()
        .with_topics(vec![creatable])
        .with_timeout_ms(timeout_ms(cluster));
    let response = cluster
        .retry(|| async { controller(cluster).await?.send(&request).await })
        .await?;
    let mut created = CreatedTopic {
        partitions,
        replication_factor,
    };
    for t in &response.topics {
        Error::check(
            || format!("create topic '{topic}'"),
            t.error_code,
            t.error_message.as_deref(),
        )?;
        // v5+ reports what the broker chose, which matters when the defaults were asked for.
        if t.num_partitions > 0 {
            created = CreatedTopic {
                partitions: t.num_partitions,
                replication_factor: t.replication_factor,
            };
        }
    }
    let _ = cluster.refresh_metadata().await;
    Ok(created)
}

/// What CreateTopics made: -1 for a count the broker chose but did not report (before v5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedTopic {
    pub partitions: i32,
    pub replication_factor: i16,
}

/// DeleteTopics for one topic, by name.
pub async fn delete_topic(cluster: &Cluster, topic: &str) -> Result<()> {
    let conn = controller(cluster).await?;
    let version = conn.version_of::<DeleteTopicsRequest>()?;
    let mut request = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms(cluster));
    if version >= 6 {
        request.topics = vec![DeleteTopicState::default().with_name(Some(topic_name(topic)))];
    } else {
        request.topic_names = vec![topic_name(topic)];
    }
    let response = conn.send_at(&request, version).await?;
    for r in &response.responses {
        Error::check(
            || format!("delete topic '{topic}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    let _ = cluster.refresh_metadata().await;
    Ok(())
}

/// CreatePartitions: grow `topic` to `total` partitions.
pub async fn add_partitions(cluster: &Cluster, topic: &str, total: i32) -> Result<()> {
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name(topic))
            .with_count(total)
            .with_assignments(None)])
        .with_timeout_ms(timeout_ms(cluster));
    let response = controller(cluster).await?.send(&request).await?;
    for r in &response.results {
        Error::check(
            || format!("add partitions to '{topic}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    let _ = cluster.refresh_metadata().await;
    Ok(())
}

/// DescribeConfigs: every config of `topic`, sorted by name.
pub async fn describe_topic_configs(cluster: &Cluster, topic: &str) -> Result<Vec<ConfigEntry>> {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(name(topic))
            .with_configuration_keys(None)]);
    let response = cluster.any_connection().await?.send(&request).await?;
    let mut out = Vec::new();
    for r in &response.results {
        Error::check(
            || format!("describe configs of '{topic}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
        out.extend(r.configs.iter().map(|c| ConfigEntry {
            name: c.name.to_string(),
            value: c.value.as_ref().map(|v| v.to_string()),
            source: config_source(c.config_source).to_string(),
            read_only: c.read_only,
            sensitive: c.is_sensitive,
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// DescribeConfigs of one key for many topics in one request: each topic's value (`None` when
/// the broker has none), by topic.
pub async fn topic_config_values(
    cluster: &Cluster,
    topics: &[String],
    key: &str,
) -> Result<BTreeMap<String, Option<String>>> {
    if topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let resources = topics
        .iter()
        .map(|t| {
            DescribeConfigsResource::default()
                .with_resource_type(RESOURCE_TOPIC)
                .with_resource_name(name(t))
                .with_configuration_keys(Some(vec![name(key)]))
        })
        .collect();
    let request = DescribeConfigsRequest::default().with_resources(resources);
    let response = cluster
        .retry(|| async { cluster.any_connection().await?.send(&request).await })
        .await?;
    let mut out = BTreeMap::new();
    for r in &response.results {
        let topic = r.resource_name.to_string();
        Error::check(
            || format!("describe config '{key}' of '{topic}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
        let value = r
            .configs
            .iter()
            .find(|c| c.name.as_str() == key)
            .and_then(|c| c.value.as_ref().map(|v| v.to_string()));
        let _ = out.insert(topic, value);
    }
    Ok(out)
}

fn config_source(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// IncrementalAlterConfigs: SET each of `set`, DELETE each of `delete`.
pub async fn alter_topic_config(
    cluster: &Cluster,
    topic: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<()> {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    let mut configs: Vec<AlterableConfig> = set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(name(k))
                .with_config_operation(SET)
                .with_value(Some(name(v)))
        })
        .collect();
    configs.extend(delete.iter().map(|k| {
        AlterableConfig::default()
            .with_name(name(k))
            .with_config_operation(DELETE)
            .with_value(None)
    }));
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(RESOURCE_TOPIC)
            .with_resource_name(name(topic))
            .with_configs(configs),
    ]);
    let response = controller(cluster).await?.send(&request).await?;
    for r in &response.responses {
        Error::check(
            || format!("alter configs of '{topic}'"),
            r.error_code,
            r.error_message.as_deref(),
        )?;
    }
    Ok(())
}

/// An offset as ListOffsets returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub offset: i64,
    pub timestamp: i64,
}

/// ListOffsets at `timestamp` (or [`EARLIEST`]/[`LATEST`]) for every partition given: one
/// request per leader, all in flight at once; retried as a whole on retriable errors.
pub async fn list_offsets(
    cluster: &Arc<Cluster>,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<HashMap<TopicPartition, ListedOffset>> {
    list_offsets_isolated(
        cluster,
        partitions,
        timestamp,
        IsolationLevel::ReadUncommitted,
    )
    .await
}

/// As [`list_offsets`] at `isolation`: with read_committed, [`LATEST`] is each partition's
/// last stable offset (ListOffsets v2+), not its high watermark.
pub async fn list_offsets_isolated(
    cluster: &Arc<Cluster>,
    partitions: &[TopicPartition],
    timestamp: i64,
    isolation: IsolationLevel,
) -> Result<HashMap<TopicPartition, ListedOffset>> {
    cluster
        .retry(|| list_offsets_once(cluster.clone(), partitions, timestamp, isolation))
        .await
}

async fn list_offsets_once(
    cluster: Arc<Cluster>,
    partitions: &[TopicPartition],
    timestamp: i64,
    isolation: IsolationLevel,
) -> Result<HashMap<TopicPartition, ListedOffset>> {
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    for (topic, partition) in partitions {
        let leader = cluster.leader(topic, *partition).await?;
        by_leader
            .entry(leader)
            .or_default()
            .entry(topic.clone())
            .or_default()
            .push(*partition);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (leader, topics) in by_leader {
        let cluster = cluster.clone();
        let asked = (leader, timestamp, isolation);
        let _ = tasks.spawn(async move { list_offsets_at(&cluster, asked, topics).await });
    }
    let mut out = HashMap::with_capacity(partitions.len());
    while let Some(joined) = tasks.join_next().await {
        let part =
            joined.map_err(|e| Error::Invalid(format!("ListOffsets task failed: {e}")))??;
        out.extend(part);
    }
    Ok(out)
}

/// ListOffsets at one leader: `(leader, timestamp, isolation)` for `topics`' partitions.
async fn list_offsets_at(
    cluster: &Cluster,
    (leader, timestamp, isolation): (i32, i64, IsolationLevel),
    topics: BTreeMap<String, Vec<i32>>,
) -> Result<Vec<(TopicPartition, ListedOffset)>> {
    let request = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_isolation_level(isolation.code())
        .with_topics(
            topics
                .iter()
                .map(|(t, ps)| {
                    ListOffsetsTopic::default()
                        .with_name(topic_name(t))
                        .with_partitions(
                            ps.iter()
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(*p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let conn = cluster.broker(leader).await?;
    let version = conn.version_of::<ListOffsetsRequest>()?;
    if isolation == IsolationLevel::ReadCommitted && version < 2 {
        return Err(Error::UnsupportedVersion {
            addr: conn.addr().to_string(),
            api: "ListOffsets at read_committed".into(),
            ours: "v2-v9".into(),
        });
    }
    let response = conn.send_at(&request, version).await?;
    let mut out = Vec::new();
    for t in &response.topics {
        for p in &t.partitions {
            let tp = (t.name.0.to_string(), p.partition_index);
            Error::check(
                || format!("list offsets of {}-{}", tp.0, tp.1),
                p.error_code,
                None,
            )?;
            out.push((
                tp,
                ListedOffset {
                    offset: p.offset,
                    timestamp: p.timestamp,
                },
            ));
        }
    }
    Ok(out)
}

/// Every partition of `topic`, as `(topic, partition)` pairs.
pub async fn partitions_of(cluster: &Cluster, topic: &str) -> Result<Vec<TopicPartition>> {
    let t = cluster.topic(topic).await?;
    Ok(t.partitions
        .iter()
        .map(|p| (topic.to_string(), p.id))
        .collect())
}

/// The request timeout in the `timeout_ms` field admin requests carry.
pub(crate) fn timeout_ms(cluster: &Cluster) -> i32 {
    i32::try_from(cluster.request_timeout().as_millis()).unwrap_or(i32::MAX)
}
