//! DescribeLogDirs (API 35): the log directories of each broker and the bytes every partition
//! holds in them, asked of each broker itself, as `kafka-log-dirs.sh --describe` asks.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{DescribeLogDirsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::cluster::Cluster;
use crate::error::{Error, Result};

/// One partition's replica in a log directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaDir {
    pub topic: String,
    pub partition: i32,
    pub size: i64,
    /// How far a future replica (one being moved between directories) is behind.
    pub offset_lag: i64,
    pub is_future: bool,
}

/// One log directory of a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogDir {
    pub path: String,
    /// Kafka's error name for the directory (an offline disk), or `None`.
    pub error: Option<String>,
    /// The volume's total and usable bytes (DescribeLogDirs v4), -1 when the broker does not say.
    pub total_bytes: i64,
    pub usable_bytes: i64,
    pub replicas: Vec<ReplicaDir>,
}

/// Every log directory of each broker in `brokers` (all brokers when `None`), by broker id.
/// `topics` limits the partitions listed (all when `None`).
pub async fn describe(
    cluster: &Cluster,
    brokers: Option<&[i32]>,
    topics: Option<&[String]>,
) -> Result<BTreeMap<i32, Vec<LogDir>>> {
    let metadata = cluster.refresh_metadata().await?;
    let ids: Vec<i32> = match brokers {
        Some(ids) => {
            if let Some(missing) = ids.iter().find(|id| !metadata.brokers.contains_key(id)) {
                return Err(Error::Invalid(format!(
                    "broker {missing} is not in the cluster's metadata"
                )));
            }
            ids.to_vec()
        }
        None => metadata.brokers.keys().copied().collect(),
    };
    let wanted = topics.map(|names| {
        names
            .iter()
            .map(|name| {
                let partitions = metadata
                    .topics
                    .get(name)
                    .map(|t| t.partitions.iter().map(|p| p.id).collect())
                    .unwrap_or_default();
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(name.clone())))
                    .with_partitions(partitions)
            })
            .collect()
    });
    let request = DescribeLogDirsRequest::default().with_topics(wanted);
    let mut out = BTreeMap::new();
    for id in ids {
        let response = cluster.broker(id).await?.send(&request).await?;
        Error::check(
            || format!("describe log dirs of broker {id}"),
            response.error_code,
            None,
        )?;
        let dirs = response.results.iter().map(log_dir).collect();
        out.insert(id, dirs);
    }
    Ok(out)
}

fn log_dir(
    r: &kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResult,
) -> LogDir {
    let error = (r.error_code != 0).then(|| crate::error::code_name(r.error_code));
    let replicas = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| ReplicaDir {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                size: p.partition_size,
                offset_lag: p.offset_lag,
                is_future: p.is_future_key,
            })
        })
        .collect();
    LogDir {
        path: r.log_dir.to_string(),
        error,
        total_bytes: r.total_bytes,
        usable_bytes: r.usable_bytes,
        replicas,
    }
}
