//! The classic group protocol as a consumer member runs it, after Kafka's AbstractCoordinator
//! and ConsumerCoordinator with eager rebalancing: JoinGroup (again with the member id a
//! coordinator hands out with MEMBER_ID_REQUIRED, KIP-394), SyncGroup (the leader sends every
//! member's partitions, computed by the protocol the coordinator chose), then a Heartbeat every
//! `heartbeat.interval.ms`. REBALANCE_IN_PROGRESS revokes every partition, after the consumer
//! released them and their offsets were committed, and rejoins; ILLEGAL_GENERATION and
//! UNKNOWN_MEMBER_ID lose them without a commit (another member may own them now) and rejoin;
//! NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE find the coordinator again. FENCED_INSTANCE_ID
//! and other errors end the member. On stop a dynamic member sends LeaveGroup; a static one
//! (`group.instance.id`) stays until its session times out, as Kafka's consumer does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::assignors::{Assignor, Subscriber};
use super::link::{is_coordinator_error, is_transient, millis, Link};
use super::subscription;
use crate::client::admin::TopicPartition;
use crate::client::groups::Committer;
use crate::error::{Error, Result};

/// Kafka's error codes this protocol branches on.
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;

/// The protocol type of consumer groups.
const PROTOCOL_TYPE: &str = "consumer";

/// Added to the rebalance timeout for JoinGroup and SyncGroup answers, as Kafka's consumer
/// adds to its request timeout, so the coordinator answers before the client gives up.
const JOIN_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// How one step of joining ended.
enum Step<T> {
    Done(T),
    /// Join again at once (a new member id, a reset generation, a rebalance).
    Again,
    /// Join again after the backoff (the coordinator moved or is not ready).
    Retry,
}

/// Why the member stopped heartbeating.
enum Leaving {
    /// `leave()`: leave the group.
    Stop,
    /// A rebalance: revoke with a commit and rejoin.
    Rejoin,
    /// The generation is gone: revoke without a commit and rejoin.
    Lost,
}

/// Runs the member until it is stopped or fails.
pub(super) async fn run(mut link: Link) -> Result<()> {
    let mut me = Committer {
        member_id: String::new(),
        generation: -1,
        instance_id: link.config.instance_id.clone(),
    };
    loop {
        let stop = link.stop.clone();
        let joined = tokio::select! {
            () = stop.cancelled() => None,
            joined = join(&mut link, &mut me) => Some(joined?),
        };
        let Some(partitions) = joined else {
            return leave(&mut link, &me).await;
        };
        link.assign(me.generation, partitions).await?;
        match stay(&mut link, &mut me).await? {
            Leaving::Stop => return leave(&mut link, &me).await,
            Leaving::Rejoin => link.revoke(&BTreeSet::new(), Some(&me)).await,
            Leaving::Lost => link.revoke(&BTreeSet::new(), None).await,
        }
    }
}

/// JoinGroup then SyncGroup until the member has an assignment.
async fn join(link: &mut Link, me: &mut Committer) -> Result<BTreeSet<TopicPartition>> {
    loop {
        let joined = match join_group(link, me).await? {
            Step::Done(joined) => joined,
            Step::Again => continue,
            Step::Retry => {
                link.back_off().await;
                continue;
            }
        };
        match sync_group(link, me, &joined).await? {
            Step::Done(partitions) => {
                link.reset_backoff();
                return Ok(partitions);
            }
            Step::Again => {}
            Step::Retry => link.back_off().await,
        }
    }
}

fn group_id(link: &Link) -> GroupId {
    GroupId(StrBytes::from_string(link.group.clone()))
}

async fn join_group(link: &mut Link, me: &mut Committer) -> Result<Step<JoinGroupResponse>> {
    let metadata = subscription::encode_subscription(&link.topics, me.generation)?;
    let request = JoinGroupRequest::default()
        .with_group_id(group_id(link))
        .with_session_timeout_ms(millis(link.config.session_timeout))
        .with_rebalance_timeout_ms(millis(link.config.rebalance_timeout))
        .with_member_id(StrBytes::from_string(me.member_id.clone()))
        .with_group_instance_id(me.instance_id.clone().map(StrBytes::from_string))
        .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
        .with_protocols(
            link.config
                .assignors
                .iter()
                .map(|a| {
                    JoinGroupRequestProtocol::default()
                        .with_name(StrBytes::from_static_str(a.name()))
                        .with_metadata(metadata.clone())
                })
                .collect(),
        )
        .with_reason(Some(StrBytes::from_static_str("ktui consume joins")));
    let timeout = link.config.rebalance_timeout + JOIN_TIMEOUT_MARGIN;
    let response = match link.send(&request, timeout).await {
        Ok(r) => r,
        Err(e) if is_transient(&e) => return Ok(Step::Retry),
        Err(e) => return Err(e),
    };
    match response.error_code {
        0 => {
            me.member_id = response.member_id.to_string();
            me.generation = response.generation_id;
            Ok(Step::Done(response))
        }
        MEMBER_ID_REQUIRED => {
            me.member_id = response.member_id.to_string();
            Ok(Step::Again)
        }
        code => rejoin_or_fail(link, me, code, "join"),
    }
}

/// What JoinGroup and SyncGroup errors mean for the next try.
fn rejoin_or_fail<T>(
    link: &mut Link,
    me: &mut Committer,
    code: i16,
    what: &str,
) -> Result<Step<T>> {
    match code {
        UNKNOWN_MEMBER_ID => {
            me.member_id.clear();
            me.generation = -1;
            Ok(Step::Again)
        }
        ILLEGAL_GENERATION => {
            me.generation = -1;
            Ok(Step::Again)
        }
        REBALANCE_IN_PROGRESS => Ok(Step::Retry),
        code if is_coordinator_error(code) => {
            link.forget_coordinator();
            Ok(Step::Retry)
        }
        code => Err(Error::kafka(
            format!("{what} group '{}'", link.group),
            code,
            None,
        )),
    }
}

async fn sync_group(
    link: &mut Link,
    me: &mut Committer,
    joined: &JoinGroupResponse,
) -> Result<Step<BTreeSet<TopicPartition>>> {
    let protocol = joined.protocol_name.clone().unwrap_or_default();
    let assignments = if joined.leader == joined.member_id && !joined.skip_assignment {
        leader_assignments(link, joined, protocol.as_str()).await?
    } else {
        Vec::new()
    };
    let request = SyncGroupRequest::default()
        .with_group_id(group_id(link))
        .with_generation_id(me.generation)
        .with_member_id(StrBytes::from_string(me.member_id.clone()))
        .with_group_instance_id(me.instance_id.clone().map(StrBytes::from_string))
        .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
        .with_protocol_name(Some(protocol))
        .with_assignments(assignments);
    let timeout = link.config.rebalance_timeout + JOIN_TIMEOUT_MARGIN;
    let response = match link.send(&request, timeout).await {
        Ok(r) => r,
        Err(e) if is_transient(&e) => return Ok(Step::Retry),
        Err(e) => return Err(e),
    };
    if response.error_code == REBALANCE_IN_PROGRESS {
        return Ok(Step::Again);
    }
    if response.error_code != 0 {
        return rejoin_or_fail(link, me, response.error_code, "sync with");
    }
    let partitions = subscription::decode_assignment(&response.assignment)?;
    // Only the topics this member subscribed to, whatever a leader sent.
    Ok(Step::Done(
        partitions
            .into_iter()
            .filter(|(t, _)| link.topics.contains(t))
            .collect(),
    ))
}

/// As the group's leader: every member's partitions, by the protocol the coordinator chose.
async fn leader_assignments(
    link: &mut Link,
    joined: &JoinGroupResponse,
    protocol: &str,
) -> Result<Vec<SyncGroupRequestAssignment>> {
    let assignor = Assignor::parse(protocol)?;
    let members: Vec<Subscriber> = joined
        .members
        .iter()
        .map(|m| Subscriber {
            member_id: m.member_id.to_string(),
            instance_id: m.group_instance_id.as_ref().map(ToString::to_string),
            topics: subscription::decode_subscription(&m.metadata).unwrap_or_else(|e| {
                tracing::warn!("member {} of group '{}': {e}", m.member_id, link.group);
                Vec::new()
            }),
        })
        .collect();
    let wanted: BTreeSet<&String> = members.iter().flat_map(|m| &m.topics).collect();
    let metadata = link.cluster.refresh_metadata().await?;
    let counts: BTreeMap<String, i32> = wanted
        .into_iter()
        .filter_map(|t| {
            let info = metadata.topics.get(t).filter(|i| i.error_code == 0)?;
            Some((t.clone(), i32::try_from(info.partitions.len()).ok()?))
        })
        .collect();
    assignor
        .assign(&members, &counts)
        .into_iter()
        .map(|(member, partitions)| {
            Ok(SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(member))
                .with_assignment(subscription::encode_assignment(&partitions)?))
        })
        .collect()
}

/// Heartbeats and answers the consumer's commands until the member must rejoin or stop.
async fn stay(link: &mut Link, me: &mut Committer) -> Result<Leaving> {
    let interval = link.config.heartbeat_interval;
    let mut beat_at = Instant::now() + interval;
    loop {
        let command = tokio::select! {
            () = tokio::time::sleep_until(beat_at) => None,
            command = link.next_command() => match command {
                Some(c) => Some(c),
                None => return Ok(Leaving::Stop),
            },
        };
        if let Some(command) = command {
            link.answer(command, Some(me)).await;
            continue;
        }
        match heartbeat(link, me).await? {
            Beat::Leave(leaving) => return Ok(leaving),
            Beat::Done => {
                link.reset_backoff();
                beat_at = Instant::now() + interval;
            }
            Beat::Retry => beat_at = Instant::now() + link.next_backoff(),
        }
    }
}

/// How a heartbeat went.
enum Beat {
    Done,
    /// The coordinator moved or did not answer: try again after the backoff.
    Retry,
    /// The member must leave its generation.
    Leave(Leaving),
}

/// One Heartbeat.
async fn heartbeat(link: &mut Link, me: &mut Committer) -> Result<Beat> {
    let request = HeartbeatRequest::default()
        .with_group_id(group_id(link))
        .with_generation_id(me.generation)
        .with_member_id(StrBytes::from_string(me.member_id.clone()))
        .with_group_instance_id(me.instance_id.clone().map(StrBytes::from_string));
    let timeout = link.request_timeout();
    let code = match link.send(&request, timeout).await {
        Ok(r) => r.error_code,
        Err(e) if is_transient(&e) => return Ok(Beat::Retry),
        Err(e) => return Err(e),
    };
    match code {
        0 => Ok(Beat::Done),
        REBALANCE_IN_PROGRESS => Ok(Beat::Leave(Leaving::Rejoin)),
        ILLEGAL_GENERATION => {
            me.generation = -1;
            Ok(Beat::Leave(Leaving::Lost))
        }
        UNKNOWN_MEMBER_ID => {
            me.member_id.clear();
            me.generation = -1;
            Ok(Beat::Leave(Leaving::Lost))
        }
        code if is_coordinator_error(code) => {
            link.forget_coordinator();
            Ok(Beat::Retry)
        }
        FENCED_INSTANCE_ID => {
            let instance = me.instance_id.as_deref().unwrap_or_default();
            let why = format!("another consumer joined with group.instance.id '{instance}'");
            let context = format!("heartbeat to group '{}'", link.group);
            Err(Error::kafka(context, code, Some(&why)))
        }
        code => Err(Error::kafka(
            format!("heartbeat to group '{}'", link.group),
            code,
            None,
        )),
    }
}

/// LeaveGroup for a dynamic member that joined; best effort, as the session ends anyway.
async fn leave(link: &mut Link, me: &Committer) -> Result<()> {
    if me.member_id.is_empty() || me.instance_id.is_some() {
        return Ok(());
    }
    let conn = match link.coordinator().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::debug!("group '{}': no LeaveGroup: {e}", link.group);
            return Ok(());
        }
    };
    let version = conn.version_of::<LeaveGroupRequest>()?;
    let request = LeaveGroupRequest::default().with_group_id(group_id(link));
    let request = if version >= 3 {
        let reason = (version >= 5).then(|| StrBytes::from_static_str("the consumer is closing"));
        request.with_members(vec![MemberIdentity::default()
            .with_member_id(StrBytes::from_string(me.member_id.clone()))
            .with_reason(reason)])
    } else {
        request.with_member_id(StrBytes::from_string(me.member_id.clone()))
    };
    match conn.send(&request).await {
        Ok(r) if r.error_code != 0 => {
            tracing::debug!(
                "group '{}': LeaveGroup error code {}",
                link.group,
                r.error_code
            );
        }
        Ok(_) => {}
        Err(e) => tracing::debug!("group '{}': LeaveGroup: {e}", link.group),
    }
    Ok(())
}
