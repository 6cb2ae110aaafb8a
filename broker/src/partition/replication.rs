//! One partition's replication, Kafka's ISR model: what the metadata says (replicas, ISR,
//! leader, epochs), and on the leader each follower's log end offset, from which the high
//! watermark advances (the smallest log end offset in the ISR) and the ISR shrinks
//! (`replica.lag.time.max.ms` without catching up) and grows (a follower that reached the high
//! watermark).

use std::collections::HashMap;

use kafka_protocol::ResponseError;
use tokio::sync::watch;

use crate::cluster::PartitionInfo;

/// How a metadata change moved this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It leads now (it did not, or at an older epoch).
    BecameLeader,
    /// It follows `leader` (-1: nobody leads) at a new epoch.
    BecameFollower { leader: i32 },
    /// Same leadership and epoch; the ISR or replicas may have changed.
    Unchanged,
}

/// The leader's view of one follower.
#[derive(Debug, Clone, Copy)]
struct Follower {
    log_end_offset: i64,
    /// The last time its log end offset reached the leader's (Kafka's lastCaughtUpTimeMs).
    last_caught_up_ms: i64,
    /// The leader's log end offset and the time of the follower's previous fetch.
    previous_fetch_leader_end: i64,
    previous_fetch_ms: i64,
}

/// What acks=all producers wait on: the high watermark, and whether this replica still leads
/// at the epoch it appended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HighWatermark {
    pub offset: i64,
    pub leader_epoch: i32,
    pub leading: bool,
}

/// Something appended on the leader waiting for the ISR (Kafka's delayed produce): done when
/// the high watermark passes `last_offset` while the replica still leads at the epoch of the
/// append. It waits on the partition's own high watermark, without a thread.
#[derive(Debug)]
pub struct IsrWait {
    high_watermark: watch::Receiver<HighWatermark>,
    last_offset: i64,
    leader_epoch: i32,
}

impl IsrWait {
    /// NOT_LEADER_OR_FOLLOWER when leadership moves (or the broker stops) first,
    /// REQUEST_TIMED_OUT at `deadline`.
    pub async fn done(
        mut self,
        deadline: tokio::time::Instant,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Result<(), ResponseError> {
        let (epoch, last) = (self.leader_epoch, self.last_offset);
        let settled =
            |hw: &HighWatermark| hw.offset > last || !hw.leading || hw.leader_epoch != epoch;
        let waited = tokio::select! {
            r = tokio::time::timeout_at(deadline, self.high_watermark.wait_for(settled)) => r,
            _ = shutdown.cancelled() => return Err(ResponseError::NotLeaderOrFollower),
        };
        match waited {
            Ok(Ok(hw)) if hw.leading && hw.leader_epoch == epoch => Ok(()),
            Ok(_) => Err(ResponseError::NotLeaderOrFollower),
            Err(_) => Err(ResponseError::RequestTimedOut),
        }
    }
}

/// What a follower's fetch changed at the leader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchEffect {
    pub high_watermark_advanced: bool,
    /// The ISR to propose, with the follower back in it.
    pub expand_isr: Option<Vec<i32>>,
}

/// Replication state of a partition replica.
#[derive(Debug)]
pub struct ReplicaSet {
    node_id: i32,
    leader: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    high_watermark: watch::Sender<HighWatermark>,
    followers: HashMap<i32, Follower>,
    /// An ISR change sent to the controller and not yet seen in the metadata.
    pending_isr: Option<Vec<i32>>,
}

impl ReplicaSet {
    /// A replica before the metadata has said anything: leading alone, as a single node does.
    pub fn new(node_id: i32, leader_epoch: i32, high_watermark: i64) -> Self {
        ReplicaSet {
            node_id,
            leader: node_id,
            leader_epoch,
            partition_epoch: 0,
            replicas: vec![node_id],
            isr: vec![node_id],
            high_watermark: watch::channel(HighWatermark {
                offset: high_watermark,
                leader_epoch,
                leading: true,
            })
            .0,
            followers: HashMap::new(),
            pending_isr: None,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader == self.node_id
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    pub fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }

    pub fn replicas(&self) -> &[i32] {
        &self.replicas
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.borrow().offset
    }

    /// A wait until every ISR member has `last_offset`; None when they already have.
    pub fn isr_wait(&self, last_offset: i64) -> Option<IsrWait> {
        (self.high_watermark() <= last_offset).then(|| IsrWait {
            high_watermark: self.high_watermark.subscribe(),
            last_offset,
            leader_epoch: self.leader_epoch,
        })
    }

    /// Takes the metadata's view of the partition.
    pub fn apply(&mut self, info: &PartitionInfo, log_end_offset: i64, now_ms: i64) -> Transition {
        let was_leader = self.is_leader();
        let new_epoch = info.leader_epoch != self.leader_epoch;
        self.leader = info.leader;
        self.leader_epoch = info.leader_epoch;
        self.partition_epoch = info.partition_epoch;
        self.replicas.clone_from(&info.replicas);
        self.isr.clone_from(&info.isr);
        if self.pending_isr.as_ref().is_some_and(|p| *p == self.isr) || new_epoch {
            self.pending_isr = None;
        }
        let transition = if self.is_leader() && (!was_leader || new_epoch) {
            // A new leader knows nothing of its followers yet.
            self.followers = info
                .replicas
                .iter()
                .filter(|r| **r != self.node_id)
                .map(|r| {
                    let f = Follower {
                        log_end_offset: -1,
                        last_caught_up_ms: now_ms,
                        previous_fetch_leader_end: -1,
                        previous_fetch_ms: now_ms,
                    };
                    (*r, f)
                })
                .collect();
            Transition::BecameLeader
        } else if !self.is_leader() && (was_leader || new_epoch) {
            self.followers.clear();
            Transition::BecameFollower {
                leader: info.leader,
            }
        } else {
            Transition::Unchanged
        };
        let (epoch, leading) = (self.leader_epoch, self.is_leader());
        self.high_watermark.send_if_modified(|hw| {
            let changed = hw.leader_epoch != epoch || hw.leading != leading;
            hw.leader_epoch = epoch;
            hw.leading = leading;
            changed
        });
        if self.is_leader() {
            for r in &info.replicas {
                if *r != self.node_id {
                    self.followers.entry(*r).or_insert(Follower {
                        log_end_offset: -1,
                        last_caught_up_ms: now_ms,
                        previous_fetch_leader_end: -1,
                        previous_fetch_ms: now_ms,
                    });
                }
            }
            self.followers.retain(|r, _| info.replicas.contains(r));
            self.advance_high_watermark(log_end_offset);
        }
        transition
    }

    /// The leader's high watermark: the smallest log end offset in the ISR. Returns whether it
    /// moved.
    pub fn advance_high_watermark(&mut self, log_end_offset: i64) -> bool {
        if !self.is_leader() {
            return false;
        }
        let mut candidate = log_end_offset;
        for r in &self.isr {
            if *r == self.node_id {
                continue;
            }
            match self.followers.get(r) {
                Some(f) if f.log_end_offset >= 0 => candidate = candidate.min(f.log_end_offset),
                // A member not heard from yet holds the high watermark where it is.
                _ => return false,
            }
        }
        self.high_watermark.send_if_modified(|hw| {
            if candidate > hw.offset {
                hw.offset = candidate;
                true
            } else {
                false
            }
        })
    }

    /// A follower fetched from `fetch_offset`, so its log ends there.
    pub fn follower_fetched(
        &mut self,
        replica: i32,
        fetch_offset: i64,
        log_end_offset: i64,
        now_ms: i64,
    ) -> FetchEffect {
        let Some(f) = self.followers.get_mut(&replica) else {
            return FetchEffect::default();
        };
        if fetch_offset >= log_end_offset {
            f.last_caught_up_ms = now_ms;
        } else if fetch_offset >= f.previous_fetch_leader_end {
            f.last_caught_up_ms = f.last_caught_up_ms.max(f.previous_fetch_ms);
        }
        f.log_end_offset = fetch_offset;
        f.previous_fetch_leader_end = log_end_offset;
        f.previous_fetch_ms = now_ms;
        let high_watermark_advanced = self.advance_high_watermark(log_end_offset);
        let caught_up = fetch_offset >= self.high_watermark();
        let expand_isr = (caught_up && !self.isr.contains(&replica) && self.pending_isr.is_none())
            .then(|| {
                let mut isr = self.isr.clone();
                isr.push(replica);
                self.pending_isr = Some(isr.clone());
                isr
            });
        FetchEffect {
            high_watermark_advanced,
            expand_isr,
        }
    }

    /// The ISR without the members that have not caught up for `lag_max_ms`, if any such.
    pub fn shrink_isr(&mut self, now_ms: i64, lag_max_ms: i64) -> Option<Vec<i32>> {
        if !self.is_leader() || self.pending_isr.is_some() {
            return None;
        }
        let lagging = |r: &i32| {
            *r != self.node_id
                && self
                    .followers
                    .get(r)
                    .is_some_and(|f| now_ms - f.last_caught_up_ms > lag_max_ms)
        };
        if !self.isr.iter().any(lagging) {
            return None;
        }
        let isr: Vec<i32> = self.isr.iter().copied().filter(|r| !lagging(r)).collect();
        self.pending_isr = Some(isr.clone());
        Some(isr)
    }

    /// An ISR change the controller refused or never answered: it may be proposed again.
    pub fn forget_pending_isr(&mut self) {
        self.pending_isr = None;
    }

    /// A follower's high watermark: the leader's, within its own log.
    pub fn set_follower_high_watermark(&mut self, leader_hw: i64, log_end_offset: i64) {
        let hw = leader_hw.min(log_end_offset);
        self.high_watermark.send_if_modified(|current| {
            let changed = current.offset != hw;
            current.offset = hw;
            changed
        });
    }

    /// After a truncation the high watermark cannot be past the log's end.
    pub fn clamp_high_watermark(&mut self, log_end_offset: i64) {
        self.high_watermark.send_if_modified(|hw| {
            let changed = hw.offset > log_end_offset;
            hw.offset = hw.offset.min(log_end_offset);
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(leader: i32, epoch: i32, isr: &[i32]) -> PartitionInfo {
        PartitionInfo {
            leader,
            leader_epoch: epoch,
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    #[test]
    fn the_high_watermark_is_the_smallest_end_in_the_isr() {
        let mut set = ReplicaSet::new(1, 0, 0);
        assert_eq!(
            set.apply(&info(1, 1, &[1, 2, 3]), 10, 0),
            Transition::BecameLeader
        );
        assert_eq!(set.high_watermark(), 0, "followers not heard from hold it");
        let _ = set.follower_fetched(2, 10, 10, 1);
        assert_eq!(set.high_watermark(), 0);
        let effect = set.follower_fetched(3, 4, 10, 1);
        assert!(effect.high_watermark_advanced);
        assert_eq!(set.high_watermark(), 4);
        // 3 falls behind for longer than the lag bound: it leaves the ISR.
        let _ = set.follower_fetched(2, 10, 10, 39_000);
        assert_eq!(set.shrink_isr(40_000, 30_000), Some(vec![1, 2]));
        let _ = set.apply(
            &PartitionInfo {
                partition_epoch: 1,
                ..info(1, 1, &[1, 2])
            },
            10,
            40_000,
        );
        assert_eq!(set.high_watermark(), 10, "only the ISR counts");
        // It catches up to the high watermark and is proposed back.
        let effect = set.follower_fetched(3, 10, 10, 41_000);
        assert_eq!(effect.expand_isr, Some(vec![1, 2, 3]));
        // A follower's high watermark never passes its own log.
        assert_eq!(
            set.apply(&info(2, 2, &[1, 2, 3]), 10, 42_000),
            Transition::BecameFollower { leader: 2 }
        );
        set.set_follower_high_watermark(50, 12);
        assert_eq!(set.high_watermark(), 12);
    }
}
