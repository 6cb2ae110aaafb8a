//! A group of the consumer group protocol (KIP-848), driven by ConsumerGroupHeartbeat.
//!
//! The group epoch rises whenever membership, subscriptions or the subscribed topics' partition
//! counts change; the server-side assignor then computes a target assignment for that epoch.
//! Each member reconciles towards its target one heartbeat at a time, as Kafka's
//! `CurrentAssignmentBuilder` does: partitions leaving it are revoked first (the member keeps
//! its epoch until it reports them gone), then it moves to the new epoch and receives every
//! target partition that no other member still holds; partitions still held elsewhere follow
//! on later heartbeats. Nothing here does I/O.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use indexmap::IndexMap;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::assignor::{self, Assignment, Subscriber, TopicsMetadata, ASSIGNORS};
use super::group::Offsets;
use super::member::millis;

/// `group.consumer.*` settings.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub heartbeat_interval_ms: i32,
    pub session_timeout_ms: i32,
    pub max_size: usize,
}

/// What the group needs to know of the cluster's topics.
pub trait TopicSource {
    /// Id and partition count of a topic.
    fn topic(&self, name: &str) -> Option<(Uuid, i32)>;
    /// Every topic a regex subscription may match (internal topics excluded).
    fn names(&self) -> Vec<String>;
    /// A group config set on the group (Kafka 4.0's `consumer.session.timeout.ms`,
    /// `consumer.heartbeat.interval.ms`), if any.
    fn group_config(&self, _group: &str, _key: &str) -> Option<String> {
        None
    }
}

/// One ConsumerGroupHeartbeat.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topics: Option<Vec<String>>,
    pub subscribed_regex: Option<String>,
    pub assignor: Option<String>,
    /// The partitions the member owns; None when unchanged since its last heartbeat.
    pub owned: Option<Assignment>,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub error: Option<(ResponseError, String)>,
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when it changed since the member last heard it.
    pub assignment: Option<Assignment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reconciling {
    Stable,
    /// Waiting for the member to report partitions it must give up.
    Revoking,
    /// Waiting for other members to release partitions of this member's target.
    Unreleased,
}

/// A member of a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub topics: BTreeSet<String>,
    pub regex: Option<String>,
    pub assignor: Option<String>,
    pub epoch: i32,
    previous_epoch: i32,
    /// What the member should own now.
    pub assigned: Assignment,
    /// What it must still give up.
    pub revoking: Assignment,
    state: Reconciling,
    session_deadline: Instant,
    revoke_deadline: Option<Instant>,
    last_sent: Option<Assignment>,
}

/// A consumer group (KIP-848).
#[derive(Debug)]
pub struct ConsumerGroup {
    pub id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: IndexMap<String, ConsumerMember>,
    pub target: HashMap<String, Assignment>,
    metadata: TopicsMetadata,
    pub offsets: Offsets,
    pub state_since_ms: i64,
    pub assignor: String,
    /// Set while a heartbeat changes membership, subscriptions or metadata: the group epoch
    /// rises once for all of them.
    changed: bool,
}

/// The partitions in `a` and not in `b`.
fn minus(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, parts) in a {
        let other = b.get(t);
        let rest: BTreeSet<i32> = parts
            .iter()
            .filter(|p| !other.is_some_and(|o| o.contains(p)))
            .copied()
            .collect();
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

fn intersect(a: &Assignment, b: &Assignment) -> Assignment {
    minus(a, &minus(a, b))
}

fn holds(a: &Assignment, topic: &Uuid, p: i32) -> bool {
    a.get(topic).is_some_and(|s| s.contains(&p))
}

impl ConsumerGroup {
    pub fn new(id: &str, now_ms: i64) -> Self {
        ConsumerGroup {
            id: id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: IndexMap::new(),
            target: HashMap::new(),
            metadata: TopicsMetadata::new(),
            offsets: Offsets::new(),
            state_since_ms: now_ms,
            assignor: ASSIGNORS[0].to_string(),
            changed: false,
        }
    }

    /// Empty, Assigning, Reconciling or Stable, as ConsumerGroupDescribe and ListGroups say.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.assignment_epoch < self.group_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != Reconciling::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    fn bump(&mut self, now_ms: i64) {
        self.group_epoch += 1;
        self.state_since_ms = now_ms;
    }

    fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub fn heartbeat(
        &mut self,
        request: &Heartbeat,
        now: Instant,
        now_ms: i64,
        topics: &dyn TopicSource,
        settings: &ConsumerSettings,
    ) -> HeartbeatAnswer {
        let fail = |error: ResponseError, message: &str| HeartbeatAnswer {
            error: Some((error, message.to_string())),
            member_id: request.member_id.clone(),
            member_epoch: request.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        };
        let id = match request.member_epoch {
            -1 | -2 => {
                if self.members.shift_remove(&request.member_id).is_some() {
                    self.bump(now_ms);
                }
                return HeartbeatAnswer {
                    error: None,
                    member_id: request.member_id.clone(),
                    member_epoch: request.member_epoch,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                };
            }
            0 => match self.join(request, now, settings) {
                Ok(id) => id,
                Err((e, m)) => return fail(e, &m),
            },
            epoch if epoch > 0 => {
                let Some(member) = self.members.get(&request.member_id) else {
                    return fail(
                        ResponseError::UnknownMemberId,
                        "the member is not in the group; rejoin with epoch 0",
                    );
                };
                let owned_ok = request
                    .owned
                    .as_ref()
                    .is_none_or(|o| minus(o, &member.assigned).is_empty());
                let accepted =
                    epoch == member.epoch || (epoch == member.previous_epoch && owned_ok);
                if !accepted {
                    return fail(
                        ResponseError::FencedMemberEpoch,
                        &format!("epoch {epoch} is not the member's epoch {}", member.epoch),
                    );
                }
                request.member_id.clone()
            }
            _ => return fail(ResponseError::InvalidRequest, "member epoch below -2"),
        };
        self.update_member(&id, request, now, settings);
        self.refresh_metadata(topics);
        if std::mem::take(&mut self.changed) {
            self.bump(now_ms);
        }
        if self.assignment_epoch < self.group_epoch {
            self.compute_target();
        }
        self.reconcile(&id, request.owned.as_ref(), now);
        let Some(member) = self.members.get_mut(&id) else {
            return fail(ResponseError::UnknownMemberId, "the member left");
        };
        let changed = member.last_sent.as_ref() != Some(&member.assigned);
        let assignment = (changed || request.member_epoch == 0).then(|| member.assigned.clone());
        if assignment.is_some() {
            member.last_sent = Some(member.assigned.clone());
        }
        HeartbeatAnswer {
            error: None,
            member_id: id,
            member_epoch: member.epoch,
            heartbeat_interval_ms: settings.heartbeat_interval_ms,
            assignment,
        }
    }

    /// A member joining (epoch 0); returns its id.
    fn join(
        &mut self,
        request: &Heartbeat,
        now: Instant,
        settings: &ConsumerSettings,
    ) -> Result<String, (ResponseError, String)> {
        let invalid = |m: &str| Err((ResponseError::InvalidRequest, m.to_string()));
        if request.subscribed_topics.is_none() && request.subscribed_regex.is_none() {
            return invalid(
                "SubscribedTopicNames or SubscribedTopicRegex must be set in the first request",
            );
        }
        if request.rebalance_timeout_ms < 0 {
            return invalid("RebalanceTimeoutMs must be set in the first request");
        }
        if let Some(a) = &request.assignor {
            if !ASSIGNORS.contains(&a.as_str()) {
                return Err((
                    ResponseError::UnsupportedAssignor,
                    format!("assignor '{a}' is not one of {ASSIGNORS:?}"),
                ));
            }
        }
        let id = if request.member_id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            request.member_id.clone()
        };
        if let Some(instance) = &request.instance_id {
            // KIP-848: a static member id is released by a leave (epoch -2) or an expired
            // session; until then another member cannot take it (Kafka 4's fencing of a
            // second process started with the same group.instance.id).
            let held = self
                .members
                .values()
                .any(|m| m.instance_id.as_ref() == Some(instance) && m.id != id);
            if held {
                return Err((
                    ResponseError::UnreleasedInstanceId,
                    format!("static member '{instance}' is still in the group"),
                ));
            }
        }
        let known = self.members.shift_remove(&id).is_some();
        if !known && self.members.len() >= settings.max_size {
            return Err((
                ResponseError::GroupMaxSizeReached,
                format!("the group has reached its {} members", settings.max_size),
            ));
        }
        let member = ConsumerMember {
            id: id.clone(),
            instance_id: request.instance_id.clone(),
            rack_id: request.rack_id.clone(),
            client_id: request.client_id.clone(),
            client_host: request.client_host.clone(),
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            topics: BTreeSet::new(),
            regex: None,
            assignor: None,
            epoch: 0,
            previous_epoch: 0,
            assigned: Assignment::new(),
            revoking: Assignment::new(),
            state: Reconciling::Stable,
            session_deadline: now + millis(settings.session_timeout_ms),
            revoke_deadline: None,
            last_sent: None,
        };
        self.members.insert(id.clone(), member);
        self.mark_changed();
        Ok(id)
    }

    fn update_member(
        &mut self,
        id: &str,
        request: &Heartbeat,
        now: Instant,
        settings: &ConsumerSettings,
    ) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        member.session_deadline = now + millis(settings.session_timeout_ms);
        if request.rebalance_timeout_ms > 0 {
            member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        if request.assignor.is_some() {
            member.assignor = request.assignor.clone();
        }
        let mut changed = false;
        if let Some(topics) = &request.subscribed_topics {
            let topics: BTreeSet<String> = topics.iter().cloned().collect();
            if topics != member.topics {
                member.topics = topics;
                changed = true;
            }
        }
        if request.subscribed_regex.is_some() && request.subscribed_regex != member.regex {
            member.regex = request.subscribed_regex.clone().filter(|r| !r.is_empty());
            changed = true;
        }
        if changed {
            self.mark_changed();
        }
    }

    /// The topics some member subscribes to, by name or regex, that exist.
    fn subscribed_metadata(&self, topics: &dyn TopicSource) -> TopicsMetadata {
        let mut names: BTreeSet<String> = self
            .members
            .values()
            .flat_map(|m| m.topics.iter().cloned())
            .collect();
        let regexes: Vec<regex::Regex> = self
            .members
            .values()
            .filter_map(|m| m.regex.as_deref())
            .filter_map(|r| regex::Regex::new(&format!("^(?:{r})$")).ok())
            .collect();
        if !regexes.is_empty() {
            names.extend(
                topics
                    .names()
                    .into_iter()
                    .filter(|n| regexes.iter().any(|r| r.is_match(n))),
            );
        }
        names
            .into_iter()
            .filter_map(|n| topics.topic(&n).map(|t| (n, t)))
            .collect()
    }

    fn refresh_metadata(&mut self, topics: &dyn TopicSource) {
        let fresh = self.subscribed_metadata(topics);
        if fresh != self.metadata {
            self.metadata = fresh;
            self.mark_changed();
        }
    }

    /// The topics a member subscribes to, regex matches included.
    fn member_topics(&self, m: &ConsumerMember) -> BTreeSet<String> {
        let mut topics = m.topics.clone();
        if let Some(r) = m
            .regex
            .as_deref()
            .and_then(|r| regex::Regex::new(&format!("^(?:{r})$")).ok())
        {
            topics.extend(self.metadata.keys().filter(|n| r.is_match(n)).cloned());
        }
        topics
    }

    fn compute_target(&mut self) {
        let assignor = self
            .members
            .values()
            .find_map(|m| m.assignor.clone())
            .unwrap_or_else(|| ASSIGNORS[0].to_string());
        let subscriptions: Vec<BTreeSet<String>> = self
            .members
            .values()
            .map(|m| self.member_topics(m))
            .collect();
        let subscribers: Vec<Subscriber<'_>> = self
            .members
            .values()
            .zip(&subscriptions)
            .map(|(m, topics)| Subscriber {
                member_id: &m.id,
                topics,
                current: self.target.get(&m.id).unwrap_or(&m.assigned),
            })
            .collect();
        let target = assignor::assign(&assignor, &subscribers, &self.metadata);
        self.target = target;
        self.assignor = assignor;
        self.assignment_epoch = self.group_epoch;
    }

    /// Moves one member a step towards its target assignment.
    fn reconcile(&mut self, id: &str, owned: Option<&Assignment>, now: Instant) {
        let target = self.target.get(id).cloned().unwrap_or_default();
        let others: Vec<Assignment> = self
            .members
            .values()
            .filter(|m| m.id != id)
            .flat_map(|m| [m.assigned.clone(), m.revoking.clone()])
            .collect();
        let epoch = self.assignment_epoch;
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        if !member.revoking.is_empty() {
            match owned {
                Some(o) if intersect(o, &member.revoking).is_empty() => {
                    member.revoking.clear();
                    member.revoke_deadline = None;
                }
                _ => return,
            }
        }
        if member.epoch == epoch && member.state == Reconciling::Stable {
            return;
        }
        let revoke = minus(&member.assigned, &target);
        if !revoke.is_empty() {
            member.assigned = intersect(&member.assigned, &target);
            member.revoking = revoke;
            member.state = Reconciling::Revoking;
            member.revoke_deadline = Some(now + millis(member.rebalance_timeout_ms));
            return;
        }
        if member.epoch != epoch {
            member.previous_epoch = member.epoch;
            member.epoch = epoch;
        }
        let mut waiting = false;
        for (topic, parts) in &target {
            for p in parts {
                if holds(&member.assigned, topic, *p) {
                    continue;
                }
                if others.iter().any(|o| holds(o, topic, *p)) {
                    waiting = true;
                } else {
                    member.assigned.entry(*topic).or_default().insert(*p);
                }
            }
        }
        member.state = if waiting {
            Reconciling::Unreleased
        } else {
            Reconciling::Stable
        };
    }

    /// The earliest instant at which [`Self::tick`] has something to do: a session or a
    /// revocation that times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.members
            .values()
            .flat_map(|m| std::iter::once(m.session_deadline).chain(m.revoke_deadline))
            .min()
    }

    /// Removes members whose session ended or who did not revoke within their rebalance
    /// timeout. Returns how many went.
    pub fn tick(&mut self, now: Instant, now_ms: i64) -> usize {
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| now >= m.session_deadline || m.revoke_deadline.is_some_and(|d| now >= d))
            .map(|m| m.id.clone())
            .collect();
        for id in &gone {
            tracing::info!(group = %self.id, member = %id, "consumer group member expired");
            self.members.shift_remove(id);
        }
        if !gone.is_empty() {
            self.bump(now_ms);
        }
        gone.len()
    }

    /// Whether an offset commit from this member at this epoch is accepted.
    pub fn check_commit(&self, member_id: &str, epoch: i32) -> Result<(), ResponseError> {
        if member_id.is_empty() && epoch < 0 {
            return if self.members.is_empty() {
                Ok(())
            } else {
                Err(ResponseError::UnknownMemberId)
            };
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if epoch != member.epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Every topic the members subscribe to.
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| self.member_topics(m))
            .collect()
    }
}

#[cfg(test)]
#[path = "consumer_group_tests.rs"]
mod tests;
