//! Leader and ISR changes: what happens to partitions when a broker goes or comes back, and
//! AlterPartition from a leader changing its ISR (KIP-497), with Kafka's checks.
//!
//! A new leader comes from the ISR, in the order of the replica list; a partition whose whole
//! ISR is gone keeps its last ISR member and has no leader (offline) until that broker returns.
//! Where `unclean.leader.election.enable` is true (the topic's config, else the cluster's
//! dynamic default, else the broker's own), such a partition is given to any live replica
//! instead, which becomes the whole ISR: records only the lost leader had are lost, as in Kafka.

use kafka_protocol::ResponseError;

use super::{ControllerResponse, Decision, IsrChange};
use crate::cluster::records::MetadataRecord;
use crate::cluster::{ClusterImage, PartitionInfo, Refusal};

/// Whether `id` may lead or join an ISR: registered, unfenced, not shutting down.
pub(super) fn eligible(image: &ClusterImage, id: i32) -> bool {
    image
        .brokers
        .get(&id)
        .is_some_and(|b| !b.fenced && !b.in_controlled_shutdown)
}

/// Whether a topic allows unclean elections: its config, else the cluster-wide dynamic
/// default, else `broker_default`.
pub(super) fn unclean_allowed(image: &ClusterImage, topic: &str, broker_default: bool) -> bool {
    const KEY: &str = "unclean.leader.election.enable";
    image
        .topics
        .get(topic)
        .and_then(|t| t.configs.get(KEY))
        .or_else(|| image.broker_configs.get("").and_then(|c| c.get(KEY)))
        .map_or(broker_default, |v| v.eq_ignore_ascii_case("true"))
}

/// The partition changes that take `gone` out of every ISR and leadership; a partition left
/// without an ISR member to lead goes to a live replica where unclean elections are allowed.
pub(super) fn without_broker(
    image: &ClusterImage,
    gone: i32,
    unclean_default: bool,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for (name, topic) in &image.topics {
        for (index, p) in topic.partitions.iter().enumerate() {
            if !p.isr.contains(&gone) && p.leader != gone {
                continue;
            }
            let mut isr: Vec<i32> = p.isr.iter().copied().filter(|r| *r != gone).collect();
            if isr.is_empty() {
                // The last ISR member stays in it: only it has every committed record.
                isr = p.isr.clone();
            }
            let mut leader = if p.leader == gone {
                p.replicas
                    .iter()
                    .copied()
                    .find(|r| *r != gone && isr.contains(r) && eligible(image, *r))
                    .unwrap_or(-1)
            } else {
                p.leader
            };
            if leader < 0 && unclean_allowed(image, name, unclean_default) {
                if let Some(r) = p
                    .replicas
                    .iter()
                    .copied()
                    .find(|r| *r != gone && eligible(image, *r))
                {
                    tracing::warn!(topic = %name, partition = index, leader = r, "unclean leader election");
                    leader = r;
                    isr = vec![r];
                }
            }
            if isr == p.isr && leader == p.leader {
                continue;
            }
            records.push(MetadataRecord::PartitionChange {
                partition_id: index as i32,
                topic_id: topic.id,
                isr: (isr != p.isr).then_some(isr),
                leader: (leader != p.leader).then_some(leader),
                replicas: None,
                adding_replicas: None,
                removing_replicas: None,
            });
        }
    }
    records
}

/// The partitions without a leader that `back` can lead again: those whose ISR it is in, and,
/// where unclean elections are allowed, those it is a replica of (it becomes the ISR).
pub(super) fn elect_offline(
    image: &ClusterImage,
    back: i32,
    unclean_default: bool,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for (name, topic) in &image.topics {
        for (index, p) in topic.partitions.iter().enumerate() {
            if p.leader >= 0 || !p.replicas.contains(&back) {
                continue;
            }
            let clean = p.isr.contains(&back);
            if clean || unclean_allowed(image, name, unclean_default) {
                if !clean {
                    tracing::warn!(topic = %name, partition = index, leader = back, "unclean leader election");
                }
                records.push(MetadataRecord::PartitionChange {
                    partition_id: index as i32,
                    topic_id: topic.id,
                    isr: (!clean).then(|| vec![back]),
                    leader: Some(back),
                    replicas: None,
                    adding_replicas: None,
                    removing_replicas: None,
                });
            }
        }
    }
    records
}

/// After config records that may have turned unclean elections on: the partitions without a
/// leader of topics that now allow them go to a live replica (ElectLeaders' unclean choice).
pub(super) fn elect_after_config_change(
    image: &ClusterImage,
    config_records: &[MetadataRecord],
    unclean_default: bool,
) -> Vec<MetadataRecord> {
    let mut scratch = image.clone();
    for record in config_records {
        scratch.apply(record);
    }
    let offline: Vec<(String, i32)> = scratch
        .topics
        .iter()
        .filter(|(name, _)| unclean_allowed(&scratch, name, unclean_default))
        .flat_map(|(name, t)| {
            t.partitions
                .iter()
                .enumerate()
                .filter(|(_, p)| p.leader < 0)
                .map(move |(i, _)| (name.clone(), i as i32))
        })
        .collect();
    if offline.is_empty() {
        return Vec::new();
    }
    let decision = elect(&scratch, UNCLEAN, Some(&offline));
    if !decision.records.is_empty() {
        tracing::warn!(
            partitions = decision.records.len(),
            "unclean leader elections after a config change"
        );
    }
    decision.records
}

/// AlterPartition: the leader `broker_id` proposes new ISRs for partitions at the epochs it
/// knows; each is decided on the image the earlier ones leave, and all are written together.
pub(super) fn alter_partitions(
    image: &ClusterImage,
    broker_id: i32,
    broker_epoch: i64,
    changes: &[IsrChange],
) -> Result<Decision, Refusal> {
    if image.brokers.get(&broker_id).map(|b| b.epoch) != Some(broker_epoch) {
        return Err(Refusal::new(
            ResponseError::StaleBrokerEpoch,
            format!("Broker {broker_id} epoch {broker_epoch} is not current."),
        ));
    }
    let mut scratch = (changes.len() > 1).then(|| image.clone());
    let mut records = Vec::new();
    let mut outcomes = Vec::new();
    for change in changes {
        let current = scratch.as_ref().unwrap_or(image);
        let outcome = alter_partition(current, broker_id, change).map(|record| {
            if let Some(s) = scratch.as_mut() {
                s.apply(&record);
            }
            records.push(record);
        });
        outcomes.push(PartitionOutcome::new(
            &change.topic,
            change.partition,
            outcome,
        ));
    }
    Ok(Decision {
        records,
        response: ControllerResponse::IsrChanges(outcomes),
    })
}

/// One partition's ISR change, with Kafka's checks.
fn alter_partition(
    image: &ClusterImage,
    broker_id: i32,
    change: &IsrChange,
) -> Result<MetadataRecord, Refused> {
    let IsrChange {
        topic,
        partition,
        leader_epoch,
        partition_epoch,
        new_isr,
    } = change;
    let (topic, partition, leader_epoch, partition_epoch) =
        (topic.as_str(), *partition, *leader_epoch, *partition_epoch);
    let refuse = |e: ResponseError, m: String| Err((e, Some(m)));
    let Some((topic_info, p)) = image.topics.get(topic).and_then(|t| {
        let p = t.partitions.get(usize::try_from(partition).ok()?)?;
        Some((t, p))
    }) else {
        return refuse(
            ResponseError::UnknownTopicOrPartition,
            format!("{topic}-{partition} does not exist."),
        );
    };
    if p.leader != broker_id {
        return refuse(
            ResponseError::NotLeaderOrFollower,
            format!("Broker {broker_id} does not lead {topic}-{partition}."),
        );
    }
    if leader_epoch != p.leader_epoch {
        return refuse(
            ResponseError::FencedLeaderEpoch,
            format!(
                "Leader epoch {leader_epoch} of {topic}-{partition} is not the current {}.",
                p.leader_epoch
            ),
        );
    }
    if partition_epoch != p.partition_epoch {
        return refuse(
            ResponseError::InvalidUpdateVersion,
            format!(
                "Partition epoch {partition_epoch} of {topic}-{partition} is not the current {}.",
                p.partition_epoch
            ),
        );
    }
    if !new_isr.contains(&broker_id) || new_isr.iter().any(|r| !p.replicas.contains(r)) {
        return refuse(
            ResponseError::InvalidRequest,
            format!(
                "ISR {new_isr:?} must hold the leader and only replicas of {topic}-{partition}."
            ),
        );
    }
    if let Some(r) = new_isr
        .iter()
        .find(|r| !p.isr.contains(r) && !eligible(image, **r))
    {
        return refuse(
            ResponseError::IneligibleReplica,
            format!("Replica {r} is fenced or shutting down and cannot join the ISR."),
        );
    }
    // The last new replica of a reassignment joined the ISR: the old ones go now.
    let adding_done =
        !p.adding_replicas.is_empty() && p.adding_replicas.iter().all(|r| new_isr.contains(r));
    if adding_done {
        let target: Vec<i32> = p
            .replicas
            .iter()
            .copied()
            .filter(|r| !p.removing_replicas.contains(r))
            .collect();
        if let Ok(change) = super::reassignments::finish(image, p, &target, new_isr) {
            tracing::info!(topic, partition, ?target, "reassignment complete");
            return Ok(change.record(topic_info.id, partition));
        }
    }
    Ok(MetadataRecord::PartitionChange {
        partition_id: partition,
        topic_id: topic_info.id,
        isr: Some(new_isr.clone()),
        leader: None,
        replicas: None,
        adding_replicas: None,
        removing_replicas: None,
    })
}

/// Kafka's election types (ElectLeaders v1+).
pub const PREFERRED: i8 = 0;
pub const UNCLEAN: i8 = 1;

/// The outcome of one partition's election or reassignment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionOutcome {
    pub topic: String,
    pub partition: i32,
    /// 0, or Kafka's error code.
    pub error: i16,
    pub message: Option<String>,
}

/// A partition's refusal: Kafka's error and, maybe, a message.
pub(super) type Refused = (ResponseError, Option<String>);

impl PartitionOutcome {
    pub(super) fn new(topic: &str, partition: i32, outcome: Result<(), Refused>) -> Self {
        let (error, message) = match outcome {
            Ok(()) => (0, None),
            Err((e, m)) => (e.code(), m),
        };
        PartitionOutcome {
            topic: topic.to_string(),
            partition,
            error,
            message,
        }
    }
}

/// ElectLeaders: a preferred election makes the first replica leader when it is in the ISR
/// and up (ELECTION_NOT_NEEDED when it leads already, PREFERRED_LEADER_NOT_AVAILABLE when it
/// cannot); an unclean one gives a partition without a leader to any live replica, the ISR
/// then being that replica alone (ELIGIBLE_LEADERS_NOT_AVAILABLE when none is up). `None`
/// means every partition that needs it.
pub(super) fn elect(
    image: &ClusterImage,
    election_type: i8,
    wanted: Option<&[(String, i32)]>,
) -> Decision {
    let mut records = Vec::new();
    let mut results = Vec::new();
    let all: Vec<(String, i32)>;
    let wanted = match wanted {
        Some(w) => w,
        None => {
            all = image
                .topics
                .iter()
                .flat_map(|(name, t)| {
                    t.partitions
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| needs_election(p, election_type))
                        .map(move |(i, _)| (name.clone(), i as i32))
                })
                .collect();
            &all
        }
    };
    for (topic, index) in wanted {
        let found = image.topics.get(topic).and_then(|t| {
            let p = t.partitions.get(usize::try_from(*index).ok()?)?;
            Some((t.id, p))
        });
        let outcome = match found {
            None => Err((ResponseError::UnknownTopicOrPartition, None)),
            Some((id, p)) => match choose_leader(image, p, election_type) {
                Ok((leader, isr)) => {
                    records.push(MetadataRecord::PartitionChange {
                        partition_id: *index,
                        topic_id: id,
                        isr,
                        leader: Some(leader),
                        replicas: None,
                        adding_replicas: None,
                        removing_replicas: None,
                    });
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
        results.push(PartitionOutcome::new(topic, *index, outcome));
    }
    Decision {
        records,
        response: ControllerResponse::Elections(results),
    }
}

fn needs_election(p: &PartitionInfo, election_type: i8) -> bool {
    match election_type {
        UNCLEAN => p.leader < 0,
        _ => p.replicas.first().is_some_and(|r| *r != p.leader),
    }
}

type Choice = Result<(i32, Option<Vec<i32>>), Refused>;

fn choose_leader(image: &ClusterImage, p: &PartitionInfo, election_type: i8) -> Choice {
    if !needs_election(p, election_type) {
        return Err((ResponseError::ElectionNotNeeded, None));
    }
    if election_type == UNCLEAN {
        return match p.replicas.iter().copied().find(|r| eligible(image, *r)) {
            Some(r) if p.isr.contains(&r) => Ok((r, None)),
            Some(r) => Ok((r, Some(vec![r]))),
            None => Err((
                ResponseError::EligibleLeadersNotAvailable,
                Some("No replica of the partition is up.".into()),
            )),
        };
    }
    let preferred = p.replicas[0];
    if p.isr.contains(&preferred) && eligible(image, preferred) {
        Ok((preferred, None))
    } else {
        Err((
            ResponseError::PreferredLeaderNotAvailable,
            Some(format!(
                "Preferred replica {preferred} is not in the ISR or not up."
            )),
        ))
    }
}

/// Kafka's automatic preferred election (`auto.leader.rebalance.enable`): for every broker
/// whose share of partitions it prefers but does not lead is above `percentage`, elect it on
/// those where it can lead.
pub(super) fn rebalance(image: &ClusterImage, percentage: u32) -> Vec<MetadataRecord> {
    let mut preferred: std::collections::BTreeMap<i32, (usize, Vec<(uuid::Uuid, i32)>)> =
        Default::default();
    for topic in image.topics.values() {
        for (index, p) in topic.partitions.iter().enumerate() {
            let Some(first) = p.replicas.first() else {
                continue;
            };
            let entry = preferred.entry(*first).or_default();
            entry.0 += 1;
            if p.leader != *first && p.isr.contains(first) && eligible(image, *first) {
                entry.1.push((topic.id, index as i32));
            }
        }
    }
    let mut records = Vec::new();
    for (_, (total, imbalanced)) in preferred {
        if total == 0 || imbalanced.len() * 100 <= total * percentage as usize {
            continue;
        }
        records.extend(imbalanced.into_iter().map(|(id, index)| {
            MetadataRecord::PartitionChange {
                partition_id: index,
                topic_id: id,
                isr: None,
                leader: Some(
                    image
                        .topic_by_id(&id)
                        .and_then(|(_, t)| t.partitions.get(index as usize))
                        .map_or(-1, |p| p.replicas[0]),
                ),
                replicas: None,
                adding_replicas: None,
                removing_replicas: None,
            }
        }));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::records::EndPoint;

    fn image() -> ClusterImage {
        let mut image = ClusterImage::new("c".into(), 1);
        for id in 1..=3 {
            image.apply(&MetadataRecord::RegisterBroker {
                broker_id: id,
                incarnation_id: uuid::Uuid::new_v4(),
                broker_epoch: 10 + i64::from(id),
                end_points: vec![EndPoint {
                    name: "PLAINTEXT".into(),
                    host: "127.0.0.1".into(),
                    port: 9090 + id as u16,
                    security_protocol: 0,
                }],
                rack: None,
                fenced: id == 3,
            });
        }
        let topic_id = uuid::Uuid::new_v4();
        image.apply(&MetadataRecord::Topic {
            name: "t".into(),
            topic_id,
        });
        image.apply(&MetadataRecord::Partition {
            partition_id: 0,
            topic_id,
            replicas: vec![1, 2, 3],
            isr: vec![1, 2],
            leader: 1,
            leader_epoch: 4,
            partition_epoch: 7,
        });
        image
    }

    fn change(leader_epoch: i32, partition_epoch: i32, isr: &[i32]) -> IsrChange {
        IsrChange {
            topic: "t".into(),
            partition: 0,
            leader_epoch,
            partition_epoch,
            new_isr: isr.to_vec(),
        }
    }

    fn outcome(image: &ClusterImage, broker: i32, epoch: i64, c: IsrChange) -> i16 {
        match alter_partitions(image, broker, epoch, &[c]) {
            Ok(Decision {
                response: ControllerResponse::IsrChanges(outcomes),
                ..
            }) => outcomes[0].error,
            Ok(_) => -1,
            Err(r) => r.error.code(),
        }
    }

    #[test]
    fn alter_partition_checks_what_kafka_checks() {
        let image = image();
        assert_eq!(outcome(&image, 1, 11, change(4, 7, &[1])), 0);
        assert_eq!(
            outcome(&image, 1, 99, change(4, 7, &[1])),
            ResponseError::StaleBrokerEpoch.code()
        );
        assert_eq!(
            outcome(&image, 2, 12, change(4, 7, &[1, 2])),
            ResponseError::NotLeaderOrFollower.code()
        );
        assert_eq!(
            outcome(&image, 1, 11, change(3, 7, &[1])),
            ResponseError::FencedLeaderEpoch.code()
        );
        assert_eq!(
            outcome(&image, 1, 11, change(4, 6, &[1])),
            ResponseError::InvalidUpdateVersion.code()
        );
        assert_eq!(
            outcome(&image, 1, 11, change(4, 7, &[1, 2, 3])),
            ResponseError::IneligibleReplica.code(),
            "a fenced broker cannot join the ISR"
        );
        assert_eq!(
            outcome(&image, 1, 11, change(4, 7, &[2])),
            ResponseError::InvalidRequest.code(),
            "the ISR must hold the leader"
        );
    }

    #[test]
    fn a_fenced_leader_gives_way_to_the_isr_and_the_last_member_stays() {
        let image = image();
        let records = without_broker(&image, 1, false);
        let mut next = image.clone();
        for r in &records {
            next.apply(r);
        }
        let p = &next.topics["t"].partitions[0];
        assert_eq!((p.leader, p.isr.clone(), p.leader_epoch), (2, vec![2], 5));
        let records = without_broker(&next, 2, false);
        for r in &records {
            next.apply(r);
        }
        let p = &next.topics["t"].partitions[0];
        assert_eq!(p.leader, -1, "no live ISR member: offline");
        assert_eq!(p.isr, vec![2], "the last ISR member stays in it");
        assert!(
            elect_offline(&next, 3, false).is_empty(),
            "a replica out of the ISR does not lead"
        );
    }

    /// Broker 3 is a live replica out of the ISR: with unclean elections allowed (by the
    /// topic, the cluster default or the broker's own config) it leads when the last ISR
    /// member goes, or when it comes back to an offline partition, and is the whole ISR.
    #[test]
    fn unclean_elections_give_an_offline_partition_to_a_live_replica() {
        let mut image = image();
        image.apply(&MetadataRecord::UnfenceBroker { id: 3, epoch: 13 });
        for r in without_broker(&image, 1, false) {
            image.apply(&r);
        }
        image.apply(&MetadataRecord::FenceBroker { id: 1, epoch: 11 });
        let clean = without_broker(&image, 2, false);
        let unclean = without_broker(&image, 2, true);
        let after = |records: &[MetadataRecord]| {
            let mut next = image.clone();
            for r in records {
                next.apply(r);
            }
            let p = next.topics["t"].partitions[0].clone();
            (p.leader, p.isr)
        };
        assert_eq!(after(&clean), (-1, vec![2]));
        assert_eq!(after(&unclean), (3, vec![3]));
        let mut by_topic = image.clone();
        by_topic
            .topics
            .get_mut("t")
            .expect("t")
            .configs
            .insert("unclean.leader.election.enable".into(), "true".into());
        assert!(unclean_allowed(&by_topic, "t", false));
        let mut by_default = image.clone();
        by_default.broker_configs.insert(
            String::new(),
            [(
                "unclean.leader.election.enable".to_string(),
                "false".to_string(),
            )]
            .into(),
        );
        assert!(
            !unclean_allowed(&by_default, "t", true),
            "the dynamic default wins"
        );

        let mut offline = image.clone();
        for r in &clean {
            offline.apply(r);
        }
        let back = elect_offline(&offline, 3, true);
        let mut next = offline.clone();
        for r in &back {
            next.apply(r);
        }
        let p = &next.topics["t"].partitions[0];
        assert_eq!((p.leader, p.isr.clone()), (3, vec![3]));
    }
    /// Turning unclean elections on for a topic that is already offline elects a live replica
    /// in the same batch; turning it on for another topic, or off, elects nothing.
    #[test]
    fn a_config_change_allowing_unclean_elections_elects_at_once() {
        let mut image = image();
        image.apply(&MetadataRecord::UnfenceBroker { id: 3, epoch: 13 });
        for broker in [1, 2] {
            for r in without_broker(&image, broker, false) {
                image.apply(&r);
            }
            image.apply(&MetadataRecord::FenceBroker {
                id: broker,
                epoch: 10 + i64::from(broker),
            });
        }
        assert_eq!(image.topics["t"].partitions[0].leader, -1, "offline");
        let config = |name: &str, value: &str| MetadataRecord::Config {
            resource_type: 2,
            resource_name: name.to_string(),
            name: "unclean.leader.election.enable".to_string(),
            value: Some(value.to_string()),
        };
        assert!(elect_after_config_change(&image, &[config("t", "false")], false).is_empty());
        let elected = elect_after_config_change(&image, &[config("t", "true")], false);
        let mut next = image.clone();
        for r in &elected {
            next.apply(r);
        }
        let p = &next.topics["t"].partitions[0];
        assert_eq!((p.leader, p.isr.clone()), (3, vec![3]));
    }
}
