//! Partition reassignment (KIP-455), as `kafka-reassign-partitions.sh` drives it: the target
//! replicas are added first (the partition's replicas are the target followed by the old ones
//! it drops), the new ones catch up and join the ISR, and then the old ones are removed, the
//! leader moving if it was one of them. A reassignment with nothing to add completes at once;
//! a cancelled one returns to the original replicas.

use kafka_protocol::ResponseError;

use super::elections::{eligible, PartitionOutcome, Refused};
use super::{ControllerResponse, Decision};
use crate::cluster::records::MetadataRecord;
use crate::cluster::{ClusterImage, PartitionInfo};

/// One requested change: the target replicas, or None to cancel.
pub type Reassignment = (String, i32, Option<Vec<i32>>);

pub(super) fn alter(image: &ClusterImage, wanted: &[Reassignment]) -> Decision {
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (topic, index, target) in wanted {
        let found = image.topics.get(topic).and_then(|t| {
            let p = t.partitions.get(usize::try_from(*index).ok()?)?;
            Some((t.id, p))
        });
        let outcome = match found {
            None => Err((ResponseError::UnknownTopicOrPartition, None)),
            Some((id, p)) => {
                let change = match target {
                    Some(target) => start(image, p, target),
                    None => cancel(image, p),
                };
                change.map(|c| {
                    if let Some(c) = c {
                        records.push(c.record(id, *index));
                    }
                })
            }
        };
        results.push(PartitionOutcome::new(topic, *index, outcome));
    }
    Decision {
        records,
        response: ControllerResponse::Reassignments(results),
    }
}

/// The fields of a PartitionChange a reassignment writes.
#[derive(Debug, Default)]
pub(super) struct Change {
    replicas: Vec<i32>,
    isr: Option<Vec<i32>>,
    leader: Option<i32>,
    adding: Vec<i32>,
    removing: Vec<i32>,
}

impl Change {
    pub(super) fn record(self, topic_id: uuid::Uuid, partition: i32) -> MetadataRecord {
        MetadataRecord::PartitionChange {
            partition_id: partition,
            topic_id,
            isr: self.isr,
            leader: self.leader,
            replicas: Some(self.replicas),
            adding_replicas: Some(self.adding),
            removing_replicas: Some(self.removing),
        }
    }
}

type Outcome = Result<Option<Change>, Refused>;

fn invalid(message: String) -> Refused {
    (ResponseError::InvalidReplicaAssignment, Some(message))
}

/// The replicas before the reassignment in progress, if any.
fn original(p: &PartitionInfo) -> Vec<i32> {
    p.replicas
        .iter()
        .copied()
        .filter(|r| !p.adding_replicas.contains(r))
        .collect()
}

fn start(image: &ClusterImage, p: &PartitionInfo, target: &[i32]) -> Outcome {
    if target.is_empty() {
        return Err(invalid("The target replica list is empty.".into()));
    }
    let mut seen = target.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != target.len() {
        return Err(invalid(format!(
            "The target replicas {target:?} repeat a broker."
        )));
    }
    if let Some(b) = target.iter().find(|b| !image.brokers.contains_key(b)) {
        return Err(invalid(format!("Broker {b} is not registered.")));
    }
    let original = original(p);
    let adding: Vec<i32> = target
        .iter()
        .copied()
        .filter(|r| !original.contains(r))
        .collect();
    let removing: Vec<i32> = original
        .iter()
        .copied()
        .filter(|r| !target.contains(r))
        .collect();
    if adding.is_empty() {
        return finish(image, p, target, &p.isr).map(Some);
    }
    let mut replicas = target.to_vec();
    replicas.extend(removing.iter().copied());
    Ok(Some(Change {
        replicas,
        adding,
        removing,
        ..Change::default()
    }))
}

fn cancel(image: &ClusterImage, p: &PartitionInfo) -> Outcome {
    if p.adding_replicas.is_empty() && p.removing_replicas.is_empty() {
        return Err((ResponseError::NoReassignmentInProgress, None));
    }
    let isr: Vec<i32> = p
        .isr
        .iter()
        .copied()
        .filter(|r| !p.adding_replicas.contains(r))
        .collect();
    finish(image, p, &original(p), &isr).map(Some)
}

/// The change that ends a reassignment with `target` as the replicas, given the ISR: the ISR
/// keeps its target members and a leader outside the target gives way to one inside it.
pub(super) fn finish(
    image: &ClusterImage,
    p: &PartitionInfo,
    target: &[i32],
    isr: &[i32],
) -> Result<Change, Refused> {
    let isr: Vec<i32> = isr.iter().copied().filter(|r| target.contains(r)).collect();
    if isr.is_empty() {
        return Err(invalid(format!(
            "No replica of {target:?} is in the ISR {:?}; add one first.",
            p.isr
        )));
    }
    let leader = if target.contains(&p.leader) {
        None
    } else {
        Some(
            target
                .iter()
                .copied()
                .find(|r| isr.contains(r) && eligible(image, *r))
                .unwrap_or(-1),
        )
    };
    Ok(Change {
        replicas: target.to_vec(),
        isr: Some(isr),
        leader,
        adding: Vec::new(),
        removing: Vec::new(),
    })
}
