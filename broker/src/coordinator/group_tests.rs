//! The classic state machine without a network: joins, the member-id round trip, protocol
//! choice, sync, heartbeats, leaves, session expiry, static replacement and the initial delay.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::*;

fn settings(initial_delay_ms: i32) -> GroupSettings {
    GroupSettings {
        min_session_timeout_ms: 1,
        max_session_timeout_ms: 600_000,
        max_size: 3,
        initial_rebalance_delay_ms: initial_delay_ms,
    }
}

fn request(member: &str, instance: Option<&str>, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        group_id: "g".into(),
        member_id: member.into(),
        instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 1000,
        rebalance_timeout_ms: 5000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        require_known_member_id: false,
    }
}

fn ready<T: std::fmt::Debug>(reply: Reply<T>) -> T {
    match reply {
        Reply::Ready(v) => v,
        Reply::Wait(mut rx) => rx.try_recv().expect("answered at once"),
    }
}

fn waiting<T>(reply: Reply<T>) -> tokio::sync::oneshot::Receiver<T> {
    match reply {
        Reply::Wait(rx) => rx,
        Reply::Ready(_) => panic!("expected to wait"),
    }
}

#[test]
fn member_id_round_trip_then_a_lone_member_leads_generation_one() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let mut first = request("", None, &["range"]);
    first.require_known_member_id = true;
    let asked = ready(g.join(&first, now, 0, &settings(0)));
    assert_eq!(asked.error, Some(ResponseError::MemberIdRequired));
    assert!(asked.member_id.starts_with("client-"));
    let joined = ready(g.join(
        &request(&asked.member_id, None, &["range"]),
        now,
        0,
        &settings(0),
    ));
    assert_eq!(joined.error, None);
    assert_eq!(joined.generation, 1);
    assert_eq!(joined.leader, asked.member_id);
    assert_eq!(joined.members.len(), 1);
    assert!(g.is(GroupState::CompletingRebalance));
    let synced = ready(g.sync(
        &joined.member_id,
        None,
        1,
        None,
        None,
        vec![(joined.member_id.clone(), Bytes::from_static(b"a"))],
        now,
        0,
    ));
    assert_eq!(synced.assignment, Bytes::from_static(b"a"));
    assert!(g.is(GroupState::Stable));
    assert!(g.take_store(), "the assignment is persisted");
}

#[test]
fn the_protocol_all_members_support_wins_and_a_stranger_is_refused() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let a = ready(g.join(
        &request("", None, &["sticky", "range"]),
        now,
        0,
        &settings(0),
    ));
    assert_eq!(a.protocol.as_deref(), Some("sticky"));
    // A second member forces a rebalance; the first must rejoin before it completes.
    let mut b_rx = waiting(g.join(&request("", None, &["range"]), now, 0, &settings(0)));
    assert!(g.is(GroupState::PreparingRebalance));
    let a2 = ready(g.join(
        &request(&a.member_id, None, &["sticky", "range"]),
        now,
        0,
        &settings(0),
    ));
    let b = b_rx.try_recv().expect("b answered");
    assert_eq!(a2.generation, 2);
    assert_eq!(b.generation, 2);
    assert_eq!(a2.protocol.as_deref(), Some("range"));
    assert!(
        a2.members.len() == 2 && b.members.is_empty(),
        "only the leader sees members"
    );
    let odd = ready(g.join(&request("", None, &["roundrobin"]), now, 0, &settings(0)));
    assert_eq!(odd.error, Some(ResponseError::InconsistentGroupProtocol));
}

#[test]
fn heartbeats_report_rebalances_and_expired_sessions_rebalance() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let a = ready(g.join(&request("", None, &["range"]), now, 0, &settings(0)));
    let _ = ready(g.sync(&a.member_id, None, 1, None, None, vec![], now, 0));
    assert_eq!(g.heartbeat(&a.member_id, None, 1, now), None);
    assert_eq!(
        g.heartbeat(&a.member_id, None, 0, now),
        Some(ResponseError::IllegalGeneration)
    );
    let _b = waiting(g.join(&request("", None, &["range"]), now, 0, &settings(0)));
    assert_eq!(
        g.heartbeat(&a.member_id, None, 1, now),
        Some(ResponseError::RebalanceInProgress)
    );
    // a never rejoins; at the rebalance timeout it is dropped and b carries on alone.
    g.tick(now + Duration::from_millis(5001), 0);
    assert_eq!(g.members.len(), 1);
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(g.generation, 2);
    // b never syncs nor heartbeats: at the sync deadline it is dropped too and the group empties.
    g.tick(now + Duration::from_secs(20), 0);
    assert!(g.is(GroupState::Empty), "{:?}", g.state);
    assert!(g.take_store(), "the empty group is persisted");
}

#[test]
fn a_session_without_heartbeats_expires() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let a = ready(g.join(&request("", None, &["range"]), now, 0, &settings(0)));
    let _ = ready(g.sync(&a.member_id, None, 1, None, None, vec![], now, 0));
    g.tick(now + Duration::from_millis(900), 0);
    assert!(g.is(GroupState::Stable));
    g.tick(now + Duration::from_millis(1001), 0);
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation, 2);
}

#[test]
fn a_static_member_replaced_in_a_stable_group_keeps_the_generation() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let a = ready(g.join(&request("", Some("i-1"), &["range"]), now, 0, &settings(0)));
    let _ = ready(g.sync(
        &a.member_id,
        Some("i-1"),
        1,
        None,
        None,
        vec![(a.member_id.clone(), Bytes::from_static(b"p0"))],
        now,
        0,
    ));
    let again = ready(g.join(&request("", Some("i-1"), &["range"]), now, 0, &settings(0)));
    assert_eq!(again.error, None);
    assert_eq!(again.generation, 1, "no rebalance");
    assert_ne!(again.member_id, a.member_id);
    assert_eq!(
        again.leader, a.member_id,
        "the old leader id: nobody reassigns"
    );
    let synced = ready(g.sync(&again.member_id, Some("i-1"), 1, None, None, vec![], now, 0));
    assert_eq!(synced.assignment, Bytes::from_static(b"p0"));
    assert_eq!(
        g.heartbeat(&a.member_id, Some("i-1"), 1, now),
        Some(ResponseError::FencedInstanceId)
    );
}

#[test]
fn the_initial_delay_gathers_members_into_one_generation() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    let mut rx_a = waiting(g.join(&request("", None, &["range"]), now, 0, &settings(1000)));
    let mut rx_b = waiting(g.join(&request("", None, &["range"]), now, 0, &settings(1000)));
    g.tick(now + Duration::from_millis(500), 0);
    assert!(rx_a.try_recv().is_err(), "still waiting");
    // A member arrived during the delay: it is extended once more.
    g.tick(now + Duration::from_millis(1000), 0);
    assert!(g.is(GroupState::PreparingRebalance));
    g.tick(now + Duration::from_millis(2000), 0);
    let a = rx_a.try_recv().expect("a answered");
    let b = rx_b.try_recv().expect("b answered");
    assert_eq!((a.generation, b.generation), (1, 1));
}

#[test]
fn the_group_size_is_bounded() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    for _ in 0..3 {
        let _ = g.join(&request("", None, &["range"]), now, 0, &settings(0));
    }
    let refused = ready(g.join(&request("", None, &["range"]), now, 0, &settings(0)));
    assert_eq!(refused.error, Some(ResponseError::GroupMaxSizeReached));
}

#[test]
fn the_next_deadline_is_the_session_of_a_member_not_waiting() {
    let now = Instant::now();
    let mut g = Group::new("g", 0);
    assert_eq!(g.next_deadline(), None, "nothing to time");
    let joined = ready(g.join(&request("", Some("i"), &["range"]), now, 0, &settings(0)));
    // Answered and not yet synced: its session runs (sooner than the sync phase's end).
    assert_eq!(g.next_deadline(), Some(now + Duration::from_millis(1000)));
    let later = now + Duration::from_millis(300);
    let assignment = vec![(joined.member_id.clone(), Bytes::from_static(b"a"))];
    ready(g.sync(
        &joined.member_id,
        Some("i"),
        1,
        None,
        None,
        assignment,
        later,
        0,
    ));
    assert!(g.is(GroupState::Stable));
    // Stable: the member's session, counted from its last contact, and nothing else.
    let session_end = later + Duration::from_millis(1000);
    assert_eq!(g.next_deadline(), Some(session_end));
    g.tick(session_end - Duration::from_millis(1), 0);
    assert!(g.is(GroupState::Stable), "not before its deadline");
    g.tick(session_end, 0);
    assert!(
        g.is(GroupState::Empty),
        "at its deadline, as Kafka's timer ends it"
    );
    assert_eq!(g.next_deadline(), None);
}
