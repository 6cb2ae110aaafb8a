//! A classic consumer group and its state machine, as Kafka's `ClassicGroup` runs it:
//! Empty → PreparingRebalance → CompletingRebalance → Stable, and Dead once deleted.
//!
//! Nothing here does I/O. JoinGroup and SyncGroup answers that must wait for other members are
//! oneshot channels held by the members; the coordinator drives time with [`Group::tick`] and
//! writes the group to `__consumer_offsets` whenever [`Group::take_store`] says so.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

use super::member::{millis, JoinRequest, JoinResult, JoinedMember, Member, SyncResult};
use super::records::{GroupValue, MemberValue, OffsetValue};

/// Limits and delays from the broker config (`group.*`).
#[derive(Debug, Clone)]
pub struct GroupSettings {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub max_size: usize,
    pub initial_rebalance_delay_ms: i32,
}

/// The states of a classic group, named as DescribeGroups and ListGroups report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// An answer now, or later through a channel.
#[derive(Debug)]
pub enum Reply<T> {
    Ready(T),
    Wait(oneshot::Receiver<T>),
}

/// The first rebalance of an empty group waits `group.initial.rebalance.delay.ms` for more
/// members, extended while they keep arriving, up to the rebalance timeout.
#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    until: Instant,
    remaining: Duration,
}

/// A committed offset of one partition.
pub type Offsets = BTreeMap<(String, i32), OffsetValue>;

/// A classic group.
#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    /// Wall-clock time of the last state change, as GroupMetadataValue stores it.
    pub state_since_ms: i64,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: IndexMap<String, Member>,
    pub offsets: Offsets,
    /// Member ids handed out with MEMBER_ID_REQUIRED, until their holder joins or the session
    /// timeout passes.
    pending: HashMap<String, Instant>,
    /// group.instance.id → member id.
    statics: HashMap<String, String>,
    join_deadline: Option<Instant>,
    initial_delay: Option<InitialDelay>,
    new_member_added: bool,
    sync_deadline: Option<Instant>,
    /// `group.initial.rebalance.delay.ms`, as of the last join.
    initial_delay_ms: i32,
    store: bool,
}

impl Group {
    pub fn new(id: &str, now_ms: i64) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            state_since_ms: now_ms,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: IndexMap::new(),
            offsets: Offsets::new(),
            pending: HashMap::new(),
            statics: HashMap::new(),
            join_deadline: None,
            initial_delay: None,
            new_member_added: false,
            sync_deadline: None,
            initial_delay_ms: 0,
            store: false,
        }
    }

    /// A group as `__consumer_offsets` last recorded it. Members loaded must heartbeat within
    /// their session timeout, as after a coordinator move in Kafka.
    pub fn loaded(id: &str, value: GroupValue, now: Instant) -> Self {
        let mut group = Group::new(id, value.current_state_timestamp);
        group.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
        group.protocol = value.protocol;
        group.generation = value.generation;
        group.leader = value.leader;
        for m in value.members {
            let protocol = group.protocol.clone().unwrap_or_default();
            let member = Member {
                id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id,
                client_host: m.client_host,
                rebalance_timeout_ms: m.rebalance_timeout,
                session_timeout_ms: m.session_timeout,
                protocols: vec![(protocol, m.subscription)],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                session_deadline: now + millis(m.session_timeout),
            };
            if let Some(instance) = &m.group_instance_id {
                group.statics.insert(instance.clone(), m.member_id.clone());
            }
            group.members.insert(m.member_id, member);
        }
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group
    }

    /// The group's metadata record, as Kafka writes it after a rebalance.
    pub fn value(&self) -> GroupValue {
        let protocol = self.protocol.clone().unwrap_or_default();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_since_ms,
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Whether the group changed in a way Kafka persists; clears the flag.
    pub fn take_store(&mut self) -> bool {
        std::mem::take(&mut self.store)
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    fn transition(&mut self, state: GroupState, now_ms: i64) {
        self.state = state;
        self.state_since_ms = now_ms;
    }

    // ---- JoinGroup -------------------------------------------------------------------------

    pub fn join(
        &mut self,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
        settings: &GroupSettings,
    ) -> Reply<JoinResult> {
        self.initial_delay_ms = settings.initial_rebalance_delay_ms;
        let fail = |e| Reply::Ready(JoinResult::error(e, &request.member_id));
        if self.is(GroupState::Dead) {
            return fail(ResponseError::CoordinatorNotAvailable);
        }
        if !self.accepts_protocols(&request.protocol_type, &request.protocols) {
            return fail(ResponseError::InconsistentGroupProtocol);
        }
        if request.member_id.is_empty() {
            self.join_new(request, now, now_ms, settings)
        } else {
            self.join_known(request, now, now_ms)
        }
    }

    fn accepts_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.supported_by_all(name))
    }

    fn supported_by_all(&self, protocol: &str) -> bool {
        self.members
            .values()
            .all(|m| m.protocols.iter().any(|(n, _)| n == protocol))
    }

    fn is_full(&self, settings: &GroupSettings) -> bool {
        self.members.len() + self.pending.len() >= settings.max_size
    }

    fn join_new(
        &mut self,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
        settings: &GroupSettings,
    ) -> Reply<JoinResult> {
        let fresh = uuid::Uuid::new_v4();
        if let Some(instance) = &request.instance_id {
            let new_id = format!("{instance}-{fresh}");
            if let Some(old_id) = self.statics.get(instance).cloned() {
                return self.replace_static(&old_id, new_id, request, now, now_ms);
            }
            if self.is_full(settings) {
                return Reply::Ready(JoinResult::error(ResponseError::GroupMaxSizeReached, ""));
            }
            return self.add_and_rebalance(new_id, request, now, now_ms);
        }
        let new_id = format!("{}-{fresh}", request.client_id);
        if self.is_full(settings) {
            return Reply::Ready(JoinResult::error(ResponseError::GroupMaxSizeReached, ""));
        }
        if request.require_known_member_id {
            let deadline = now + millis(request.session_timeout_ms);
            self.pending.insert(new_id.clone(), deadline);
            return Reply::Ready(JoinResult::error(ResponseError::MemberIdRequired, &new_id));
        }
        self.add_and_rebalance(new_id, request, now, now_ms)
    }

    fn join_known(
        &mut self,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
    ) -> Reply<JoinResult> {
        let id = request.member_id.as_str();
        if self.pending.remove(id).is_some() {
            return self.add_and_rebalance(id.to_string(), request, now, now_ms);
        }
        if let Err(e) = self.check_member(id, request.instance_id.as_deref()) {
            return Reply::Ready(JoinResult::error(e, id));
        }
        let is_leader = self.leader.as_deref() == Some(id);
        let same = self
            .members
            .get(id)
            .is_some_and(|m| m.same_protocols(&request.protocols));
        match self.state {
            GroupState::PreparingRebalance => self.update_and_rebalance(request, now, now_ms),
            GroupState::CompletingRebalance if same => {
                // The member lost our answer; send it again.
                Reply::Ready(self.join_result_for(id))
            }
            GroupState::Stable if same && !is_leader => {
                if let Some(m) = self.members.get_mut(id) {
                    m.touch(now);
                }
                let mut result = self.join_result_for(id);
                result.members.clear();
                Reply::Ready(result)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_and_rebalance(request, now, now_ms)
            }
            GroupState::Empty | GroupState::Dead => {
                Reply::Ready(JoinResult::error(ResponseError::UnknownMemberId, id))
            }
        }
    }

    /// UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID, as Kafka's `validateMember` decides.
    fn check_member(&self, id: &str, instance_id: Option<&str>) -> Result<(), ResponseError> {
        if let Some(instance) = instance_id {
            match self.statics.get(instance) {
                Some(known) if known != id => return Err(ResponseError::FencedInstanceId),
                Some(_) => {}
                None => return Err(ResponseError::UnknownMemberId),
            }
        }
        if self.members.contains_key(id) {
            Ok(())
        } else {
            Err(ResponseError::UnknownMemberId)
        }
    }

    fn add_and_rebalance(
        &mut self,
        id: String,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
    ) -> Reply<JoinResult> {
        let mut member = Member::new(id.clone(), request, now);
        let (tx, rx) = oneshot::channel();
        member.awaiting_join = Some(tx);
        if let Some(instance) = &request.instance_id {
            self.statics.insert(instance.clone(), id.clone());
        }
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(id.clone());
        }
        self.members.insert(id, member);
        if self.is(GroupState::PreparingRebalance) && self.generation == 0 {
            self.new_member_added = true;
        }
        self.maybe_prepare_rebalance(now, now_ms);
        self.try_complete_join(now, now_ms);
        Reply::Wait(rx)
    }

    fn update_and_rebalance(
        &mut self,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
    ) -> Reply<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(member) = self.members.get_mut(&request.member_id) {
            member.update(request, now);
            member.answer_join(JoinResult::error(
                ResponseError::UnknownMemberId,
                &request.member_id,
            ));
            member.awaiting_join = Some(tx);
        }
        self.maybe_prepare_rebalance(now, now_ms);
        self.try_complete_join(now, now_ms);
        Reply::Wait(rx)
    }

    /// KIP-345: a static member rejoining with no member id takes over its old identity. In a
    /// Stable group whose protocol stays the same, it gets the current generation and its old
    /// assignment without a rebalance.
    fn replace_static(
        &mut self,
        old_id: &str,
        new_id: String,
        request: &JoinRequest,
        now: Instant,
        now_ms: i64,
    ) -> Reply<JoinResult> {
        let Some(mut member) = self.members.shift_remove(old_id) else {
            return Reply::Ready(JoinResult::error(ResponseError::UnknownMemberId, ""));
        };
        member.answer_join(JoinResult::error(ResponseError::FencedInstanceId, old_id));
        member.answer_sync(SyncResult::error(ResponseError::FencedInstanceId));
        member.id = new_id.clone();
        member.update(request, now);
        let previous_leader = self.leader.clone().unwrap_or_default();
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        if let Some(instance) = &request.instance_id {
            self.statics.insert(instance.clone(), new_id.clone());
        }
        self.members.insert(new_id.clone(), member);
        if self.is(GroupState::Stable) && self.select_protocol() == self.protocol {
            self.store = true;
            // The old leader id is returned so that no member assigns in a stable group.
            return Reply::Ready(JoinResult {
                error: None,
                generation: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol: self.protocol.clone(),
                leader: previous_leader,
                member_id: new_id,
                members: Vec::new(),
            });
        }
        let (tx, rx) = oneshot::channel();
        if let Some(m) = self.members.get_mut(&new_id) {
            m.awaiting_join = Some(tx);
        }
        self.maybe_prepare_rebalance(now, now_ms);
        self.try_complete_join(now, now_ms);
        Reply::Wait(rx)
    }

    fn maybe_prepare_rebalance(&mut self, now: Instant, now_ms: i64) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(now, now_ms);
        }
    }

    fn prepare_rebalance(&mut self, now: Instant, now_ms: i64) {
        if self.is(GroupState::CompletingRebalance) {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                m.answer_sync(SyncResult::error(ResponseError::RebalanceInProgress));
            }
        }
        let timeout = self.rebalance_timeout();
        self.initial_delay = None;
        self.join_deadline = None;
        self.sync_deadline = None;
        if self.is(GroupState::Empty) && self.initial_delay_ms > 0 {
            let delay = millis(self.initial_delay_ms);
            self.initial_delay = Some(InitialDelay {
                until: now + delay,
                remaining: timeout.saturating_sub(delay),
            });
        } else {
            self.join_deadline = Some(now + timeout);
        }
        self.new_member_added = false;
        self.transition(GroupState::PreparingRebalance, now_ms);
    }

    /// The longest rebalance timeout of the members (Kafka waits for the slowest).
    fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| millis(m.rebalance_timeout_ms))
            .max()
            .unwrap_or_default()
    }

    fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    fn try_complete_join(&mut self, now: Instant, now_ms: i64) {
        if self.is(GroupState::PreparingRebalance)
            && self.initial_delay.is_none()
            && self.all_joined()
        {
            self.complete_join(now, now_ms);
        }
    }

    /// Ends the join phase: dynamic members that did not rejoin are dropped, the next
    /// generation starts, and every waiting member gets its JoinGroup answer.
    fn complete_join(&mut self, now: Instant, now_ms: i64) {
        self.join_deadline = None;
        self.initial_delay = None;
        let absent: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in absent {
            self.remove_member(&id);
        }
        self.generation = self.generation.wrapping_add(1).max(1);
        if self.members.is_empty() {
            self.protocol = None;
            self.transition(GroupState::Empty, now_ms);
            self.store = true;
            return;
        }
        self.protocol = self.select_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.transition(GroupState::CompletingRebalance, now_ms);
        self.sync_deadline = Some(now + self.rebalance_timeout());
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.join_result_for(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.touch(now);
                m.answer_join(result);
            }
        }
    }

    /// The answer to a member's join in the current generation; the leader gets the members.
    fn join_result_for(&self, id: &str) -> JoinResult {
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == id {
            self.members
                .values()
                .map(|m| JoinedMember {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: None,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol.clone(),
            leader,
            member_id: id.to_string(),
            members,
        }
    }

    /// The protocol every member supports that most members prefer (Kafka's vote).
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| self.supported_by_all(n))
            .collect();
        let mut votes: Vec<(&str, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            let choice = m
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(&n.as_str()));
            if let Some((name, _)) = choice {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes
            .iter()
            .find(|(_, n)| *n == best)
            .map(|(c, _)| (*c).to_string())
    }

    /// Drops a member, answering anything it waits for; the leader passes to the next member.
    fn remove_member(&mut self, id: &str) {
        if let Some(mut m) = self.members.shift_remove(id) {
            m.answer_join(JoinResult::error(ResponseError::UnknownMemberId, id));
            m.answer_sync(SyncResult::error(ResponseError::UnknownMemberId));
            if let Some(instance) = &m.instance_id {
                if self.statics.get(instance).map(String::as_str) == Some(id) {
                    self.statics.remove(instance);
                }
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = self.members.keys().next().cloned();
        }
    }

    /// Removes a member that left or died, and rebalances as Kafka does.
    fn remove_and_rebalance(&mut self, id: &str, now: Instant, now_ms: i64) {
        self.remove_member(id);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, now_ms);
                self.try_complete_join(now, now_ms);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, now_ms),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    // ---- SyncGroup, Heartbeat, LeaveGroup ----------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
        now_ms: i64,
    ) -> Reply<SyncResult> {
        let fail = |e| Reply::Ready(SyncResult::error(e));
        if self.is(GroupState::Dead) {
            return fail(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(e) = self.check_member(member_id, instance_id) {
            return fail(e);
        }
        if generation != self.generation {
            return fail(ResponseError::IllegalGeneration);
        }
        let type_differs = protocol_type.is_some_and(|t| self.protocol_type.as_deref() != Some(t));
        let name_differs = protocol.is_some_and(|p| self.protocol.as_deref() != Some(p));
        if type_differs || name_differs {
            return fail(ResponseError::InconsistentGroupProtocol);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => fail(ResponseError::RebalanceInProgress),
            GroupState::Stable => {
                let Some(m) = self.members.get_mut(member_id) else {
                    return fail(ResponseError::UnknownMemberId);
                };
                m.touch(now);
                Reply::Ready(self.sync_result(member_id))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(member_id) {
                    m.touch(now);
                    m.answer_sync(SyncResult::error(ResponseError::RebalanceInProgress));
                    m.awaiting_sync = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    self.store = true;
                    self.sync_deadline = None;
                    self.transition(GroupState::Stable, now_ms);
                    let ids: Vec<String> = self.members.keys().cloned().collect();
                    for id in ids {
                        let result = self.sync_result(&id);
                        if let Some(m) = self.members.get_mut(&id) {
                            m.answer_sync(result);
                        }
                    }
                }
                Reply::Wait(rx)
            }
        }
    }

    fn sync_result(&self, id: &str) -> SyncResult {
        SyncResult {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol.clone(),
            assignment: self
                .members
                .get(id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Option<ResponseError> {
        if self.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(e) = self.check_member(member_id, instance_id) {
            return Some(e);
        }
        if generation != self.generation {
            return Some(ResponseError::IllegalGeneration);
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.touch(now);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => Some(ResponseError::RebalanceInProgress),
            GroupState::CompletingRebalance | GroupState::Stable => None,
        }
    }

    /// One member of a LeaveGroup request; the member id may be empty when the instance id is
    /// given (KIP-345 admin removal).
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        now_ms: i64,
    ) -> Option<ResponseError> {
        if self.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        let id = match instance_id {
            Some(instance) => match self.statics.get(instance) {
                None => return Some(ResponseError::UnknownMemberId),
                Some(known) if !member_id.is_empty() && known != member_id => {
                    return Some(ResponseError::FencedInstanceId)
                }
                Some(known) => known.clone(),
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            self.try_complete_join(now, now_ms);
            return None;
        }
        if !self.members.contains_key(&id) {
            return Some(ResponseError::UnknownMemberId);
        }
        self.remove_and_rebalance(&id, now, now_ms);
        None
    }

    // ---- Time --------------------------------------------------------------------------------

    /// The earliest instant at which [`Self::tick`] has something to do: a session that ends,
    /// a pending member id that lapses, or a join, sync or initial-delay phase that is up.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sessions = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
            .map(|m| m.session_deadline);
        // Each phase's deadline counts only in its state, as tick handles it only there.
        let join = self
            .join_deadline
            .filter(|_| self.is(GroupState::PreparingRebalance));
        let sync = self
            .sync_deadline
            .filter(|_| self.is(GroupState::CompletingRebalance));
        sessions
            .chain(self.pending.values().copied())
            .chain(join)
            .chain(sync)
            .chain(self.initial_delay.map(|d| d.until))
            .min()
    }

    /// Expires sessions and pending member ids, and ends join and sync phases whose time is up.
    pub fn tick(&mut self, now: Instant, now_ms: i64) {
        let before = self.pending.len();
        self.pending.retain(|_, deadline| *deadline > now);
        if self.pending.len() != before {
            self.try_complete_join(now, now_ms);
        }
        let dead: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_alive(now))
            .map(|m| m.id.clone())
            .collect();
        for id in dead {
            tracing::info!(group = %self.id, member = %id, "session expired");
            self.remove_and_rebalance(&id, now, now_ms);
        }
        if let Some(delay) = self.initial_delay {
            if now >= delay.until {
                let step = millis(self.initial_delay_ms);
                if self.new_member_added && !delay.remaining.is_zero() {
                    self.new_member_added = false;
                    let next = step.min(delay.remaining);
                    self.initial_delay = Some(InitialDelay {
                        until: now + next,
                        remaining: delay.remaining.saturating_sub(next),
                    });
                } else {
                    self.complete_join(now, now_ms);
                }
            }
        }
        if self.is(GroupState::PreparingRebalance) && self.join_deadline.is_some_and(|d| now >= d) {
            self.complete_join(now, now_ms);
        }
        if self.is(GroupState::CompletingRebalance) && self.sync_deadline.is_some_and(|d| now >= d)
        {
            // The leader never sent the assignment: members that did not sync are dropped.
            let unsynced: Vec<String> = self
                .members
                .values()
                .filter(|m| m.awaiting_sync.is_none())
                .map(|m| m.id.clone())
                .collect();
            for id in unsynced {
                self.remove_member(&id);
            }
            self.prepare_rebalance(now, now_ms);
            self.try_complete_join(now, now_ms);
        }
    }

    // ---- Offsets -----------------------------------------------------------------------------

    /// Whether a member (or a client outside the group, with generation -1) may commit now.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        if self.is(GroupState::Dead) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if generation < 0 && self.is(GroupState::Empty) {
            return Ok(());
        }
        if self.pending.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        if self.is(GroupState::CompletingRebalance) {
            return Err(ResponseError::RebalanceInProgress);
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.touch(now);
        }
        Ok(())
    }

    /// Topics the members subscribe to, from their consumer-protocol metadata.
    pub fn subscribed_topics(&self) -> Option<std::collections::HashSet<String>> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol.clone()?;
        let mut topics = std::collections::HashSet::new();
        for m in self.members.values() {
            let mut buf = m.metadata(&protocol);
            if buf.len() < 2 {
                continue;
            }
            let version = i16::from_be_bytes([buf[0], buf[1]]);
            let _ = bytes::Buf::get_i16(&mut buf);
            let version = version.clamp(0, 3);
            if let Ok(sub) = ConsumerProtocolSubscription::decode(&mut buf, version) {
                topics.extend(sub.topics.into_iter().map(|t| t.to_string()));
            }
        }
        Some(topics)
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
