//! Partitions named on the command line or in a JSON file: `topic-N` as Kafka's tools print
//! them, and the check, before a request names them, that each exists (with the replicas it
//! has now), so that a typo is one clear error instead of a failure per partition.

use std::collections::BTreeMap;

use crate::client::admin::TopicPartition;
use crate::client::Cluster;
use crate::error::Error;

/// `topic-N`.
pub(super) fn tp_name(tp: &TopicPartition) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// `t-0<sep>t-1...`.
pub(super) fn tp_names<'a>(tps: impl IntoIterator<Item = &'a TopicPartition>, sep: &str) -> String {
    tps.into_iter().map(tp_name).collect::<Vec<_>>().join(sep)
}

/// `1,2,3`.
pub(super) fn ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The replicas each of `tps` has now, from freshly loaded metadata; an error naming the first
/// topic or partition that does not exist.
pub(super) async fn current_replicas(
    cluster: &Cluster,
    tps: &[TopicPartition],
) -> anyhow::Result<BTreeMap<TopicPartition, Vec<i32>>> {
    let metadata = cluster.refresh_metadata().await?;
    let mut out = BTreeMap::new();
    for tp in tps {
        let topic = metadata.topic(&tp.0)?;
        let Some(p) = topic.partitions.iter().find(|p| p.id == tp.1) else {
            return Err(Error::Invalid(format!(
                "partition {} does not exist: topic '{}' has {} partitions (0 to {})",
                tp_name(tp),
                tp.0,
                topic.partitions.len(),
                topic.partitions.len().saturating_sub(1)
            ))
            .into());
        };
        let _ = out.insert(tp.clone(), p.replicas.clone());
    }
    Ok(out)
}

/// The first partition named twice, if any.
pub(super) fn first_duplicate(tps: &[TopicPartition]) -> Option<&TopicPartition> {
    let mut seen = std::collections::BTreeSet::new();
    tps.iter().find(|tp| !seen.insert(*tp))
}
