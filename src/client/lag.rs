//! Consumer lag: committed offsets (OffsetFetch, batched per coordinator) against log end
//! offsets (ListOffsets latest, one request per leader for every partition of every group), so
//! the lag of all groups of a cluster is a handful of round trips. The arithmetic is pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::admin::{self, ListedOffset, TopicPartition};
use super::cluster::Cluster;
use super::groups::{self, Committed};
use crate::error::Result;

/// One partition of one group.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// `None` when the group has no committed offset for the partition.
    pub current_offset: Option<i64>,
    pub log_end_offset: Option<i64>,
    /// `log_end_offset - current_offset`, never negative; `None` if either is unknown.
    pub lag: Option<i64>,
}

/// Lag of each partition in `committed` plus `assigned` (partitions a member owns but has not
/// committed), sorted by topic and partition.
pub fn compute(
    committed: &Committed,
    assigned: &[TopicPartition],
    log_end: &HashMap<TopicPartition, ListedOffset>,
) -> Vec<PartitionLag> {
    let keys: BTreeSet<&TopicPartition> = committed.keys().chain(assigned.iter()).collect();
    keys.into_iter()
        .map(|tp| {
            let current = committed.get(tp).copied();
            let end = log_end.get(tp).map(|o| o.offset);
            PartitionLag {
                topic: tp.0.clone(),
                partition: tp.1,
                current_offset: current,
                log_end_offset: end,
                lag: current.zip(end).map(|(c, e)| (e - c).max(0)),
            }
        })
        .collect()
}

/// Lag of every partition of every group in `groups`; `assigned` adds partitions per group.
pub async fn group_lag(
    cluster: &Arc<Cluster>,
    groups: &[String],
    assigned: &HashMap<String, Vec<TopicPartition>>,
) -> Result<BTreeMap<String, Vec<PartitionLag>>> {
    let committed = groups::fetch_offsets(cluster, groups).await?;
    let metadata = cluster.metadata().await?;
    let exists = |tp: &TopicPartition| {
        metadata
            .topics
            .get(&tp.0)
            .is_some_and(|t| t.partitions.iter().any(|p| p.id == tp.1))
    };
    let wanted: BTreeSet<TopicPartition> = committed
        .values()
        .flat_map(|c| c.keys().cloned())
        .chain(assigned.values().flatten().cloned())
        .filter(exists)
        .collect();
    let wanted: Vec<_> = wanted.into_iter().collect();
    let log_end = if wanted.is_empty() {
        HashMap::new()
    } else {
        admin::list_offsets(cluster, &wanted, admin::LATEST).await?
    };
    let empty = Committed::new();
    Ok(groups
        .iter()
        .map(|g| {
            let c = committed.get(g).unwrap_or(&empty);
            let a = assigned.get(g).map_or(&[][..], Vec::as_slice);
            (g.clone(), compute(c, a, &log_end))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_end_minus_committed_and_unknowns_stay_unknown() {
        let mut committed = Committed::new();
        let _ = committed.insert(("t".into(), 0), 5);
        let _ = committed.insert(("t".into(), 1), 12);
        let mut ends = HashMap::new();
        let _ = ends.insert(
            ("t".to_string(), 0),
            ListedOffset {
                offset: 10,
                timestamp: -1,
            },
        );
        let _ = ends.insert(
            ("t".to_string(), 1),
            ListedOffset {
                offset: 10,
                timestamp: -1,
            },
        );
        let _ = ends.insert(
            ("t".to_string(), 2),
            ListedOffset {
                offset: 3,
                timestamp: -1,
            },
        );
        let rows = compute(&committed, &[("t".into(), 2)], &ends);
        let lags: Vec<_> = rows.iter().map(|r| r.lag).collect();
        assert_eq!(lags, vec![Some(5), Some(0), None]);
        assert_eq!(rows[2].log_end_offset, Some(3));
    }

    /// The lag of a thousand groups is four requests: FindCoordinator, OffsetFetch and
    /// ListOffsets once each (one coordinator, one leader), after the bootstrap's Metadata.
    #[tokio::test]
    async fn lag_of_many_groups_is_a_handful_of_round_trips() {
        use std::sync::atomic::Ordering;
        let (addr, counts) = crate::client::test_server::start_flaky_leader(0, 0).await;
        let config = crate::config::ClientConfig::from_properties(&[(
            "bootstrap.servers".to_string(),
            addr,
        )])
        .expect("config");
        let cluster = Cluster::connect(config).await.expect("connect");
        let groups: Vec<String> = (0..1000).map(|i| format!("g{i}")).collect();
        let lag = group_lag(&cluster, &groups, &HashMap::new())
            .await
            .expect("lag");
        assert_eq!(lag.len(), 1000);
        assert!(lag.values().all(|ps| ps.len() == 1 && ps[0].lag == Some(2)));
        assert_eq!(counts.find_coordinator.load(Ordering::SeqCst), 1);
        assert_eq!(counts.offset_fetch.load(Ordering::SeqCst), 1);
        assert_eq!(counts.list_offsets.load(Ordering::SeqCst), 1);
        assert_eq!(counts.metadata.load(Ordering::SeqCst), 1);
    }
}
