//! The partitions this broker hosts, by topic and index.
//!
//! Kafka calls this the ReplicaManager. It creates and removes partition directories
//! (`<log.dir>/<topic>-<partition>`, Kafka's layout), hands out partitions to the API handlers,
//! and runs the periodic retention and flush passes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::ResponseError;

use crate::cluster::{PartitionInfo, TopicInfo};
use crate::config::BrokerConfig;
use crate::hw_checkpoint;
use crate::log::{LogConfig, LogError};
use crate::partition::replication::Transition;
use crate::partition::{Partition, PartitionSettings};

/// A shared partition; the mutex is held only for the length of one append or read.
pub type SharedPartition = Arc<Mutex<Partition>>;

/// Partitions hosted here.
#[derive(Debug)]
pub struct ReplicaManager {
    root: PathBuf,
    node_id: i32,
    partitions: RwLock<HashMap<(String, i32), SharedPartition>>,
    /// Log file handles allowed open at once ([`crate::limits::log_files_max`]).
    files_max: usize,
    /// Handles opened since the last count; a count (and release) runs when it passes the cap.
    files_estimate: std::sync::atomic::AtomicUsize,
    /// High watermarks read from `replication-offset-checkpoint` at start.
    checkpointed: HashMap<(String, i32), i64>,
}

impl ReplicaManager {
    /// A manager rooted at the broker's log directory.
    pub fn new(root: &Path, node_id: i32) -> Self {
        ReplicaManager {
            root: root.to_path_buf(),
            node_id,
            partitions: RwLock::new(HashMap::new()),
            files_max: crate::limits::log_files_max(),
            files_estimate: std::sync::atomic::AtomicUsize::new(0),
            checkpointed: hw_checkpoint::read(root),
        }
    }

    /// Writes every hosted partition's high watermark to `replication-offset-checkpoint`.
    pub fn checkpoint_high_watermarks(&self) {
        let mut entries: Vec<((String, i32), i64)> = self
            .read()
            .iter()
            .map(|(key, shared)| (key.clone(), lock(shared).high_watermark()))
            .collect();
        entries.sort();
        if let Err(e) = hw_checkpoint::write(&self.root, &entries) {
            tracing::warn!(error = %e, "could not write the high watermark checkpoint");
        }
    }

    /// Opens (creating or recovering) every partition of `topic` that this broker replicates.
    pub fn open_topic(
        &self,
        config: &BrokerConfig,
        name: &str,
        topic: &TopicInfo,
    ) -> Result<(), LogError> {
        for (index, info) in topic.partitions.iter().enumerate() {
            let _ = self.apply_partition(config, name, index as i32, info, &topic.configs)?;
        }
        Ok(())
    }

    /// Brings one partition in line with the metadata: opened (created or recovered) when a
    /// replica is placed here, with the leadership, epochs and ISR the metadata gives; closed
    /// and removed when none is (`None`).
    pub fn apply_partition(
        &self,
        config: &BrokerConfig,
        name: &str,
        index: i32,
        info: &PartitionInfo,
        topic_configs: &BTreeMap<String, String>,
    ) -> Result<Option<Transition>, LogError> {
        if !info.replicas.contains(&self.node_id) {
            self.remove_partition(name, index);
            return Ok(None);
        }
        let now = crate::now_ms();
        if let Some(shared) = self.get(name, index) {
            let transition = lock(&shared).apply(info, now);
            return Ok(Some(transition));
        }
        let dir = self.root.join(format!("{name}-{index}"));
        let settings = settings_for(config, topic_configs);
        let checkpointed = self.checkpointed.get(&(name.to_string(), index)).copied();
        let mut partition = Partition::open(
            &dir,
            settings,
            self.node_id,
            info.leader_epoch,
            checkpointed,
        )?;
        let transition = partition.apply(info, now);
        let opened = partition.log().open_files();
        self.write()
            .insert((name.to_string(), index), Arc::new(Mutex::new(partition)));
        let estimate = self
            .files_estimate
            .fetch_add(opened, std::sync::atomic::Ordering::Relaxed)
            + opened;
        if estimate > self.files_max {
            self.bound_open_files();
        }
        Ok(Some(transition))
    }

    /// Stops hosting a partition and removes its directory.
    pub fn remove_partition(&self, name: &str, index: i32) {
        if self.write().remove(&(name.to_string(), index)).is_none() {
            return;
        }
        let dir = self.root.join(format!("{name}-{index}"));
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not remove partition directory");
        }
    }

    /// The hosted partitions, by topic and index.
    pub fn hosted(&self) -> Vec<(String, i32)> {
        self.read().keys().cloned().collect()
    }

    /// Removes the topic's partitions and their directories.
    pub fn delete_topic(&self, name: &str) {
        let removed: Vec<(String, i32)> = {
            let mut map = self.write();
            let keys: Vec<(String, i32)> = map.keys().filter(|(t, _)| t == name).cloned().collect();
            keys.into_iter()
                .filter(|k| map.remove(k).is_some())
                .collect()
        };
        for (topic, index) in removed {
            let dir = self.root.join(format!("{topic}-{index}"));
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove partition directory");
            }
        }
    }

    /// Applies a topic's changed configs to its open partitions.
    pub fn update_topic_configs(
        &self,
        config: &BrokerConfig,
        name: &str,
        overrides: &BTreeMap<String, String>,
    ) {
        let settings = settings_for(config, overrides);
        for ((topic, _), shared) in self.read().iter() {
            if topic == name {
                lock(shared).set_settings(settings.clone());
            }
        }
    }

    /// Re-resolves the settings of every hosted partition (the broker's own defaults changed),
    /// in one pass over them; `configs` gives a topic's overrides.
    pub fn update_all_configs<'a>(
        &self,
        config: &BrokerConfig,
        configs: impl Fn(&str) -> Option<&'a BTreeMap<String, String>>,
    ) {
        let mut resolved: HashMap<String, PartitionSettings> = HashMap::new();
        for ((topic, _), shared) in self.read().iter() {
            let Some(overrides) = configs(topic) else {
                continue;
            };
            let settings = resolved
                .entry(topic.clone())
                .or_insert_with(|| settings_for(config, overrides));
            lock(shared).set_settings(settings.clone());
        }
    }

    /// Kafka's `getPartitionOrException` for a request that needs the partition's leader, and
    /// the one way request handlers reach a partition: runs `f` under the partition's lock
    /// once the partition is hosted here, this replica leads it, and the client's view of the
    /// leader epoch, when it sends one, is current (FENCED_LEADER_EPOCH when older,
    /// UNKNOWN_LEADER_EPOCH when newer).
    pub fn with_leader<T, E: From<ResponseError>>(
        &self,
        topic: &str,
        index: i32,
        client_epoch: Option<i32>,
        f: impl FnOnce(&mut Partition) -> Result<T, E>,
    ) -> Result<T, E> {
        // Every partition of the metadata is hosted on a single node; with more brokers a
        // partition hosted elsewhere will answer NOT_LEADER_OR_FOLLOWER from the image.
        let shared = self
            .get(topic, index)
            .ok_or(ResponseError::UnknownTopicOrPartition)?;
        let mut partition = lock(&shared);
        if !partition.is_leader() {
            return Err(ResponseError::NotLeaderOrFollower.into());
        }
        if let Some(epoch) = client_epoch {
            partition.check_leader_epoch(epoch)?;
        }
        f(&mut partition)
    }

    /// Waits until every ISR member has what this leader's log holds now (the coordinator's
    /// writes, acknowledged as acks=all). NOT_COORDINATOR when this replica does not lead or
    /// stops leading; COORDINATOR_NOT_AVAILABLE at the timeout, as Kafka's coordinator says.
    pub async fn wait_replicated(
        &self,
        topic: &str,
        index: i32,
        timeout: std::time::Duration,
    ) -> Result<(), ResponseError> {
        let shared = self
            .get(topic, index)
            .ok_or(ResponseError::NotCoordinator)?;
        let wait = {
            let partition = lock(&shared);
            if !partition.is_leader() {
                return Err(ResponseError::NotCoordinator);
            }
            partition.isr_wait(partition.log_end_offset() - 1)
        };
        let Some(wait) = wait else {
            return Ok(());
        };
        let never = tokio_util::sync::CancellationToken::new();
        let deadline = tokio::time::Instant::now() + timeout;
        wait.done(deadline, &never).await.map_err(|e| match e {
            ResponseError::RequestTimedOut => ResponseError::CoordinatorNotAvailable,
            _ => ResponseError::NotCoordinator,
        })
    }

    /// The partition, if hosted here, for the broker's own work on it (retention, the
    /// coordinator's records); request handlers use [`Self::with_leader`].
    pub fn get(&self, topic: &str, index: i32) -> Option<SharedPartition> {
        self.read().get(&(topic.to_string(), index)).cloned()
    }

    /// Keeps the log files open below the cap: when more are open, the least recently used
    /// partitions close theirs (after an fsync) until a quarter of the cap is free. Returns
    /// the handles open afterwards.
    pub fn bound_open_files(&self) -> usize {
        let mut usage: Vec<(i64, usize, SharedPartition)> = self
            .all()
            .into_iter()
            .map(|shared| {
                let (used, files) = {
                    let p = lock(&shared);
                    (p.log().last_used_ms(), p.log().open_files())
                };
                (used, files, shared)
            })
            .collect();
        let mut open: usize = usage.iter().map(|(_, f, _)| f).sum();
        if open > self.files_max {
            let target = self.files_max * 3 / 4;
            usage.sort_by_key(|(used, _, _)| *used);
            for (_, files, shared) in &usage {
                if open <= target {
                    break;
                }
                if *files == 0 {
                    continue;
                }
                match lock(shared).log_mut().release_files() {
                    Ok(()) => open -= files,
                    Err(e) => tracing::warn!(error = %e, "could not close an idle log's files"),
                }
            }
            tracing::debug!(open, cap = self.files_max, "idle logs closed their files");
        }
        self.files_estimate
            .store(open, std::sync::atomic::Ordering::Relaxed);
        open
    }

    /// Every hosted partition as (topic, index, bytes on disk), sorted (DescribeLogDirs).
    pub fn sizes(&self) -> Vec<(String, i32, u64)> {
        let mut sizes: Vec<(String, i32, u64)> = self
            .read()
            .iter()
            .map(|((topic, index), shared)| (topic.clone(), *index, lock(shared).size_bytes()))
            .collect();
        sizes.sort();
        sizes
    }

    /// Every hosted partition.
    pub fn all(&self) -> Vec<SharedPartition> {
        self.read().values().cloned().collect()
    }

    /// One retention pass over every partition.
    pub fn apply_retention(&self, now_ms: i64) {
        for shared in self.all() {
            if let Err(e) = lock(&shared).log_mut().apply_retention(now_ms) {
                tracing::warn!(error = %e, "retention failed");
            }
        }
    }

    /// One compaction pass over every compacted partition (Kafka's log cleaner), with a key
    /// map of at most `dedupe_buffer_bytes` (`log.cleaner.dedupe.buffer.size`). Each
    /// partition's lock is held only to plan the pass and to swap the cleaned segments in;
    /// appends and fetches go on while its segments are read and rewritten.
    pub fn compact(&self, now_ms: i64, dedupe_buffer_bytes: u64) {
        let hosted: Vec<((String, i32), SharedPartition)> = self
            .read()
            .iter()
            .map(|(key, shared)| (key.clone(), Arc::clone(shared)))
            .collect();
        for (key, shared) in hosted {
            let locked = |phase: &mut dyn FnMut(&mut crate::log::PartitionLog, i64)| {
                // A partition removed (or re-created) meanwhile gets nothing swapped in.
                let hosted = self
                    .read()
                    .get(&key)
                    .is_some_and(|p| Arc::ptr_eq(p, &shared));
                if hosted {
                    let mut partition = lock(&shared);
                    let clean_below = partition.last_stable_offset();
                    phase(partition.log_mut(), clean_below);
                }
            };
            match crate::log::PartitionLog::compact_in_phases(locked, now_ms, dedupe_buffer_bytes) {
                Ok(stats) if stats.segments_rewritten > 0 || stats.discarded => tracing::info!(
                    topic = %key.0,
                    partition = key.1,
                    records_removed = stats.records_removed,
                    bytes_before = stats.bytes_before,
                    bytes_after = stats.bytes_after,
                    cleaned_below = stats.cleaned_below,
                    discarded = stats.discarded,
                    lock_held_us_max = stats.lock_held_us_max,
                    "log compacted"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(topic = %key.0, partition = key.1, error = %e, "compaction failed")
                }
            }
        }
    }

    /// Flushes the partitions whose flush interval has passed (or all, when `force`).
    pub fn flush(&self, now_ms: i64, force: bool) {
        for shared in self.all() {
            let mut partition = lock(&shared);
            let result = if force {
                partition.log_mut().flush()
            } else {
                partition.log_mut().flush_if_due(now_ms)
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "flush failed");
            }
        }
    }

    /// Closes every partition on shutdown: flushed, fsynced and marked clean, so the next
    /// start skips the full scan of their last segments. A partition still shared (a request
    /// outlived the grace period) is flushed instead.
    pub fn close_all(&self) {
        self.checkpoint_high_watermarks();
        let drained: Vec<SharedPartition> = self.write().drain().map(|(_, p)| p).collect();
        for shared in drained {
            let result = match Arc::try_unwrap(shared) {
                Ok(mutex) => mutex
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .close(),
                Err(shared) => lock(&shared).log_mut().flush(),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "closing a partition failed");
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(String, i32), SharedPartition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<(String, i32), SharedPartition>> {
        self.partitions.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Locks a partition; a panic while it was held is a bug, but the data on disk is still valid.
pub fn lock(shared: &SharedPartition) -> std::sync::MutexGuard<'_, Partition> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Resolves the topic configs a partition needs.
pub fn settings_for(
    config: &BrokerConfig,
    overrides: &BTreeMap<String, String>,
) -> PartitionSettings {
    let value = |key: &str| config.topic_value(key, overrides).unwrap_or_default();
    let num = |key: &str, default: i64| value(key).trim().parse::<i64>().unwrap_or(default);
    let defaults = LogConfig::default();
    let compacted = value("cleanup.policy")
        .split(',')
        .any(|p| p.trim() == "compact");
    let log = LogConfig {
        segment_bytes: num("segment.bytes", defaults.segment_bytes as i64).max(1) as u64,
        segment_ms: num("segment.ms", defaults.segment_ms),
        retention_ms: num("retention.ms", defaults.retention_ms),
        retention_bytes: num("retention.bytes", defaults.retention_bytes),
        index_interval_bytes: num("index.interval.bytes", 4096).clamp(1, i64::from(u32::MAX))
            as u32,
        flush_interval_messages: num("flush.messages", i64::MAX).max(1) as u64,
        flush_interval_ms: num("flush.ms", i64::MAX),
        compact: compacted,
        delete_retention_ms: num(
            "delete.retention.ms",
            crate::log::DELETE_RETENTION_MS_DEFAULT,
        ),
    };
    PartitionSettings {
        compacted,
        max_message_bytes: num(
            "max.message.bytes",
            crate::limits::MESSAGE_BYTES_MAX_DEFAULT,
        )
        .max(0) as usize,
        log_append_time: value("message.timestamp.type") == "LogAppendTime",
        timestamps: crate::partition::validate::TimestampBounds {
            before_max_ms: num("message.timestamp.before.max.ms", i64::MAX).max(0),
            after_max_ms: num("message.timestamp.after.max.ms", i64::MAX).max(0),
        },
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(leaders: &[i32]) -> TopicInfo {
        TopicInfo {
            id: uuid::Uuid::new_v4(),
            partitions: leaders
                .iter()
                .map(|leader| PartitionInfo {
                    leader: *leader,
                    leader_epoch: 3,
                    replicas: vec![1, 2],
                    isr: vec![1, 2],
                    partition_epoch: 0,
                    adding_replicas: Vec::new(),
                    removing_replicas: Vec::new(),
                })
                .collect(),
            configs: BTreeMap::new(),
            internal: false,
        }
    }

    #[test]
    fn only_a_current_leader_serves_requests() {
        let dir = tempfile::tempdir().expect("dir");
        let config = BrokerConfig::from_properties("", &[]).expect("config");
        let replicas = ReplicaManager::new(dir.path(), 1);
        replicas
            .open_topic(&config, "t", &topic(&[1, 2]))
            .expect("open");
        let end = |index, epoch| -> Result<i64, ResponseError> {
            replicas.with_leader("t", index, epoch, |p| Ok(p.log_end_offset()))
        };
        assert_eq!(end(0, None), Ok(0));
        assert_eq!(end(0, Some(3)), Ok(0));
        assert_eq!(end(0, Some(2)), Err(ResponseError::FencedLeaderEpoch));
        assert_eq!(end(0, Some(4)), Err(ResponseError::UnknownLeaderEpoch));
        assert_eq!(end(1, None), Err(ResponseError::NotLeaderOrFollower));
        assert_eq!(end(7, None), Err(ResponseError::UnknownTopicOrPartition));
    }
    /// A follower holding records its leader has not yet committed restarts at its
    /// checkpointed high watermark, not at its log end (Kafka's `replication-offset-checkpoint`).
    #[test]
    fn a_restarted_replica_starts_from_its_checkpointed_high_watermark() {
        let dir = tempfile::tempdir().expect("dir");
        let config = BrokerConfig::from_properties("", &[]).expect("config");
        let open = || {
            let replicas = ReplicaManager::new(dir.path(), 1);
            replicas
                .open_topic(&config, "t", &topic(&[2]))
                .expect("open");
            replicas
        };
        let replicas = open();
        let shared = replicas.get("t", 0).expect("hosted");
        let records = crate::log::test_util::batch(5, 1_700_000_000_000, 10);
        lock(&shared)
            .append_replicated(&records, 2, 1_700_000_000_000)
            .expect("replicated");
        {
            let p = lock(&shared);
            assert_eq!((p.log_end_offset(), p.high_watermark()), (5, 2));
        }
        drop(shared);
        replicas.close_all();
        let text = std::fs::read_to_string(dir.path().join(hw_checkpoint::FILE)).expect("file");
        assert_eq!(text, "0\n1\nt 0 2\n");

        let reopened = open();
        let shared = reopened.get("t", 0).expect("hosted");
        assert_eq!(lock(&shared).high_watermark(), 2, "from the checkpoint");
        drop(shared);
        reopened.close_all();
        std::fs::remove_file(dir.path().join(hw_checkpoint::FILE)).expect("removed");
        let without = open();
        let shared = without.get("t", 0).expect("hosted");
        assert_eq!(
            lock(&shared).high_watermark(),
            5,
            "without one, the log end"
        );
    }
}
