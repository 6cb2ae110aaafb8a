//! Consumer groups of KIP-848 at the coordinator: ConsumerGroupHeartbeat, ConsumerGroupDescribe,
//! and the conversion of an empty classic group (one holding only offsets, as after a restart)
//! into a consumer group and back.

use std::time::Instant;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::assignor::Assignment;
use super::consumer_group::{ConsumerGroup, Heartbeat, HeartbeatAnswer, TopicSource};
use super::group::GroupState;
use super::GroupCoordinator;

/// A consumer group as ConsumerGroupDescribe shows it.
#[derive(Debug, Clone)]
pub struct ConsumerGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMemberDescription>,
}

/// One member of a described consumer group; assignments are (topic id, partitions).
#[derive(Debug, Clone)]
pub struct ConsumerMemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub topics: Vec<String>,
    pub regex: Option<String>,
    pub assignment: Vec<(Uuid, Vec<i32>)>,
    pub target: Vec<(Uuid, Vec<i32>)>,
}

fn listed(a: &Assignment) -> Vec<(Uuid, Vec<i32>)> {
    a.iter()
        .map(|(t, p)| (*t, p.iter().copied().collect()))
        .collect()
}

impl GroupCoordinator {
    pub fn consumer_heartbeat(
        &self,
        group_id: &str,
        request: &Heartbeat,
        topics: &dyn TopicSource,
    ) -> HeartbeatAnswer {
        let fail = |error: ResponseError, message: String| HeartbeatAnswer {
            error: Some((error, message)),
            member_id: request.member_id.clone(),
            member_epoch: request.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        };
        if group_id.is_empty() {
            return fail(
                ResponseError::InvalidRequest,
                "the group id is empty".into(),
            );
        }
        let mut guard = self.lock();
        if let Some(classic) = guard.classic.get(group_id) {
            if !classic.is(GroupState::Empty) && !classic.is(GroupState::Dead) {
                return fail(
                    ResponseError::GroupIdNotFound,
                    format!(
                        "group {group_id} is a classic group with members, not a consumer group"
                    ),
                );
            }
            if let Some(old) = guard.classic.remove(group_id) {
                let mut group = ConsumerGroup::new(group_id, crate::now_ms());
                group.offsets = old.offsets;
                guard.consumer.insert(group_id.to_string(), group);
            }
        }
        if !guard.consumer.contains_key(group_id) {
            if request.member_epoch != 0 {
                return fail(
                    ResponseError::UnknownMemberId,
                    format!("group {group_id} has no member {}", request.member_id),
                );
            }
            guard.consumer.insert(
                group_id.to_string(),
                ConsumerGroup::new(group_id, crate::now_ms()),
            );
        }
        let Some(group) = guard.consumer.get_mut(group_id) else {
            return fail(
                ResponseError::CoordinatorNotAvailable,
                "group vanished".into(),
            );
        };
        // The group's own configs win over the broker's.
        let mut settings = self.consumer.clone();
        let own = |key: &str| {
            topics
                .group_config(group_id, key)
                .and_then(|v| v.parse().ok())
        };
        if let Some(ms) = own("consumer.session.timeout.ms") {
            settings.session_timeout_ms = ms;
        }
        if let Some(ms) = own("consumer.heartbeat.interval.ms") {
            settings.heartbeat_interval_ms = ms;
        }
        group.heartbeat(request, Instant::now(), crate::now_ms(), topics, &settings)
    }

    /// Whether the id names a consumer (KIP-848) group.
    pub fn is_consumer_group(&self, group_id: &str) -> bool {
        self.lock().consumer.contains_key(group_id)
    }

    pub fn consumer_describe(&self, group_id: &str) -> Option<ConsumerGroupDescription> {
        let groups = self.lock();
        let g = groups.consumer.get(group_id)?;
        Some(ConsumerGroupDescription {
            state: g.state_name(),
            group_epoch: g.group_epoch,
            assignment_epoch: g.assignment_epoch,
            assignor: g.assignor.clone(),
            members: g
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    epoch: m.epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    topics: m.topics.iter().cloned().collect(),
                    regex: m.regex.clone(),
                    assignment: listed(&m.assigned),
                    target: listed(&g.target.get(&m.id).cloned().unwrap_or_default()),
                })
                .collect(),
        })
    }
}
