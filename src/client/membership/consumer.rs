//! KIP-848's consumer group protocol as a member runs it: a ConsumerGroupHeartbeat at the
//! interval the coordinator gives, carrying the subscribed topic names, the partitions the
//! member owns (by topic id) and its member epoch; the coordinator assigns. The member id is
//! the client's own (a random UUID, as Kafka 4's consumer makes it) and the first heartbeat
//! has epoch 0. An answer with a new assignment is reconciled at once: partitions taken away
//! are released by the consumer and their offsets committed with the current epoch, new ones
//! published with their committed offsets, then the next heartbeat reports what is owned.
//! FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID lose every partition and rejoin with epoch 0;
//! NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE find the coordinator again; other errors end
//! the member. Leaving is a heartbeat with epoch -1 (-2 for a static member).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use base64::Engine;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::consumer_group_heartbeat_response::Assignment;
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::link::{is_coordinator_error, is_transient, millis, Link};
use crate::client::groups::Committer;
use crate::error::{Error, Result};

/// Kafka's error codes this protocol branches on.
const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_MEMBER_EPOCH: i16 = 110;

/// The epochs a leaving member sends: dynamic, and static (KIP-848).
const LEAVE_EPOCH: i32 = -1;
const LEAVE_EPOCH_STATIC: i32 = -2;

/// What a heartbeat brought.
enum Answer {
    /// Heartbeat again after this long; reconcile the assignment if one came.
    Beat(Duration, Option<Assignment>),
    /// The coordinator moved or did not answer: try again after the backoff.
    Retry,
    /// The member was fenced: its partitions are lost; rejoin with epoch 0.
    Fenced,
}

/// Runs the member until it is stopped or fails.
pub(super) async fn run(mut link: Link) -> Result<()> {
    let mut me = Committer {
        member_id: new_member_id(),
        generation: 0,
        instance_id: link.config.instance_id.clone(),
    };
    // The partitions reported as owned, by topic id as the coordinator sent them.
    let mut owned: Vec<TopicPartitions> = Vec::new();
    let mut beat_at = Instant::now();
    loop {
        let command = tokio::select! {
            () = tokio::time::sleep_until(beat_at) => None,
            command = link.next_command() => match command {
                Some(c) => Some(c),
                None => return leave(&mut link, &me).await,
            },
        };
        if let Some(command) = command {
            let joined = me.generation > 0;
            link.answer(command, joined.then_some(&me)).await;
            continue;
        }
        match heartbeat(&mut link, &mut me, &owned).await? {
            Answer::Beat(interval, assignment) => {
                link.reset_backoff();
                beat_at = Instant::now() + interval;
                if let Some(assignment) = assignment {
                    owned = reconcile(&mut link, &me, assignment).await?;
                    beat_at = Instant::now();
                }
            }
            Answer::Retry => beat_at = Instant::now() + link.next_backoff(),
            Answer::Fenced => {
                link.revoke(&BTreeSet::new(), None).await;
                owned.clear();
                me.generation = 0;
                beat_at = Instant::now();
            }
        }
    }
}

/// A member id as Kafka's consumer makes one: 16 random bytes, URL-safe base64.
fn new_member_id() -> String {
    let bytes: Vec<u8> = (0..16).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn request(link: &Link, me: &Committer, epoch: i32) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(link.group.clone())))
        .with_member_id(StrBytes::from_string(me.member_id.clone()))
        .with_member_epoch(epoch)
        .with_instance_id(me.instance_id.clone().map(StrBytes::from_string))
}

async fn heartbeat(
    link: &mut Link,
    me: &mut Committer,
    owned: &[TopicPartitions],
) -> Result<Answer> {
    let request = request(link, me, me.generation)
        .with_rebalance_timeout_ms(millis(link.config.rebalance_timeout))
        .with_subscribed_topic_names(Some(
            link.topics
                .iter()
                .map(|t| TopicName(StrBytes::from_string(t.clone())))
                .collect(),
        ))
        .with_server_assignor(
            link.config
                .remote_assignor
                .clone()
                .map(StrBytes::from_string),
        )
        .with_topic_partitions(Some(owned.to_vec()));
    let timeout = link.request_timeout();
    let response = match link.send(&request, timeout).await {
        Ok(r) => r,
        Err(e) if is_transient(&e) => return Ok(Answer::Retry),
        Err(e) => return Err(e),
    };
    match response.error_code {
        0 => {
            if let Some(id) = response.member_id.filter(|id| !id.is_empty()) {
                me.member_id = id.to_string();
            }
            me.generation = response.member_epoch;
            let interval = u64::try_from(response.heartbeat_interval_ms)
                .ok()
                .filter(|ms| *ms > 0)
                .map_or(link.config.heartbeat_interval, Duration::from_millis);
            Ok(Answer::Beat(interval, response.assignment))
        }
        FENCED_MEMBER_EPOCH | UNKNOWN_MEMBER_ID => Ok(Answer::Fenced),
        code if is_coordinator_error(code) => {
            link.forget_coordinator();
            Ok(Answer::Retry)
        }
        code => Err(Error::kafka(
            format!("heartbeat to group '{}'", link.group),
            code,
            response.error_message.as_deref(),
        )),
    }
}

/// Makes the published assignment the coordinator's: revokes what left it (the consumer
/// releases, the offsets are committed with the current epoch), then publishes it. Returns
/// the partitions to report as owned.
async fn reconcile(
    link: &mut Link,
    me: &Committer,
    assignment: Assignment,
) -> Result<Vec<TopicPartitions>> {
    let names = topic_names(link, &assignment).await?;
    let mut target = BTreeSet::new();
    let mut owned = Vec::new();
    for tp in assignment.topic_partitions {
        let Some(name) = names.get(&tp.topic_id.to_string()) else {
            tracing::warn!(
                "group '{}': topic id {} is not in metadata",
                link.group,
                tp.topic_id
            );
            continue;
        };
        target.extend(tp.partitions.iter().map(|p| (name.clone(), *p)));
        owned.push(
            TopicPartitions::default()
                .with_topic_id(tp.topic_id)
                .with_partitions(tp.partitions),
        );
    }
    link.revoke(&target, Some(me)).await;
    link.assign(me.generation, target).await?;
    Ok(owned)
}

/// Topic id → name for the assignment's topics, from metadata (loaded again once when an
/// id is not in the cache, as for a topic created since).
async fn topic_names(link: &Link, assignment: &Assignment) -> Result<HashMap<String, String>> {
    let names = |m: &crate::client::cluster::Metadata| -> HashMap<String, String> {
        m.topics
            .values()
            .map(|t| (t.id.clone(), t.name.clone()))
            .collect()
    };
    let cached = names(&*link.cluster.metadata().await?);
    let all_known = assignment
        .topic_partitions
        .iter()
        .all(|tp| cached.contains_key(&tp.topic_id.to_string()));
    if all_known {
        return Ok(cached);
    }
    Ok(names(&*link.cluster.refresh_metadata().await?))
}

/// The leaving heartbeat, when the member has joined; best effort.
async fn leave(link: &mut Link, me: &Committer) -> Result<()> {
    if me.generation <= 0 {
        return Ok(());
    }
    let epoch = if me.instance_id.is_some() {
        LEAVE_EPOCH_STATIC
    } else {
        LEAVE_EPOCH
    };
    let request = request(link, me, epoch);
    let timeout = link.request_timeout();
    match link.send(&request, timeout).await {
        Ok(r) if r.error_code != 0 => {
            tracing::debug!(
                "group '{}': leaving heartbeat error code {}",
                link.group,
                r.error_code
            );
        }
        Ok(_) => {}
        Err(e) => tracing::debug!("group '{}': leaving heartbeat: {e}", link.group),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_random_url_safe_uuids() {
        let (a, b) = (new_member_id(), new_member_id());
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
