//! KIP-848 reconciliation without a network: a join, a second member taking half the
//! partitions only after the first revoked them, epochs, fencing, leaving and expiry.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::*;

struct Topics(BTreeMap<String, (Uuid, i32)>);

impl TopicSource for Topics {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.get(name).copied()
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

fn settings() -> ConsumerSettings {
    ConsumerSettings {
        heartbeat_interval_ms: 500,
        session_timeout_ms: 3000,
        max_size: 10,
    }
}

fn join(member: &str) -> Heartbeat {
    Heartbeat {
        member_id: member.into(),
        member_epoch: 0,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout_ms: 10_000,
        subscribed_topics: Some(vec!["t".into()]),
        ..Heartbeat::default()
    }
}

fn beat(member: &str, epoch: i32, owned: Option<&Assignment>) -> Heartbeat {
    Heartbeat {
        member_id: member.into(),
        member_epoch: epoch,
        owned: owned.cloned(),
        ..Heartbeat::default()
    }
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

#[test]
fn a_second_member_gets_partitions_only_after_the_first_revokes_them() {
    let id = Uuid::new_v4();
    let topics = Topics([("t".to_string(), (id, 4))].into());
    let now = Instant::now();
    let mut g = ConsumerGroup::new("g", 0);
    let a = g.heartbeat(&join("a"), now, 0, &topics, &settings());
    assert_eq!(a.error, None);
    assert_eq!(a.member_epoch, 1);
    let a_all = a.assignment.expect("assignment on join");
    assert_eq!(count(&a_all), 4);
    assert_eq!(g.state_name(), "Stable");

    let b = g.heartbeat(&join("b"), now, 0, &topics, &settings());
    assert_eq!(b.member_epoch, 2);
    assert_eq!(
        count(&b.assignment.expect("empty assignment")),
        0,
        "a still holds all"
    );
    assert_eq!(g.state_name(), "Reconciling");

    // a learns it must give two up; it keeps epoch 1 until it reports them gone.
    let a2 = g.heartbeat(&beat("a", 1, None), now, 0, &topics, &settings());
    assert_eq!(a2.member_epoch, 1);
    let kept = a2.assignment.expect("reduced assignment");
    assert_eq!(count(&kept), 2);
    // b asks again: still nothing, a has not confirmed.
    let b2 = g.heartbeat(&beat("b", 2, None), now, 0, &topics, &settings());
    assert_eq!(b2.assignment, None);
    // a confirms; it moves to epoch 2; b then gets the other two.
    let a3 = g.heartbeat(&beat("a", 1, Some(&kept)), now, 0, &topics, &settings());
    assert_eq!(a3.member_epoch, 2);
    let b3 = g.heartbeat(&beat("b", 2, None), now, 0, &topics, &settings());
    let given = b3.assignment.expect("b's partitions");
    assert_eq!(count(&given), 2);
    assert!(given[&id].is_disjoint(&kept[&id]));
    assert_eq!(g.state_name(), "Stable");
}

#[test]
fn wrong_epochs_are_fenced_and_strangers_unknown() {
    let topics = Topics([("t".to_string(), (Uuid::new_v4(), 2))].into());
    let now = Instant::now();
    let mut g = ConsumerGroup::new("g", 0);
    g.heartbeat(&join("a"), now, 0, &topics, &settings());
    let fenced = g.heartbeat(&beat("a", 7, None), now, 0, &topics, &settings());
    assert_eq!(
        fenced.error.map(|e| e.0),
        Some(ResponseError::FencedMemberEpoch)
    );
    let unknown = g.heartbeat(&beat("z", 1, None), now, 0, &topics, &settings());
    assert_eq!(
        unknown.error.map(|e| e.0),
        Some(ResponseError::UnknownMemberId)
    );
    let mut bad = join("b");
    bad.subscribed_topics = None;
    let refused = g.heartbeat(&bad, now, 0, &topics, &settings());
    assert_eq!(
        refused.error.map(|e| e.0),
        Some(ResponseError::InvalidRequest)
    );
    let mut odd = join("c");
    odd.assignor = Some("sticky".into());
    let refused = g.heartbeat(&odd, now, 0, &topics, &settings());
    assert_eq!(
        refused.error.map(|e| e.0),
        Some(ResponseError::UnsupportedAssignor)
    );
}

#[test]
fn leaving_and_expiry_free_partitions_for_the_rest() {
    let topics = Topics([("t".to_string(), (Uuid::new_v4(), 2))].into());
    let now = Instant::now();
    let mut g = ConsumerGroup::new("g", 0);
    g.heartbeat(&join("a"), now, 0, &topics, &settings());
    g.heartbeat(&join("b"), now, 0, &topics, &settings());
    let left = g.heartbeat(&beat("b", -1, None), now, 0, &topics, &settings());
    assert_eq!(left.member_epoch, -1);
    assert_eq!(g.members.len(), 1);
    // a silent member expires at its session timeout.
    assert_eq!(g.tick(now + Duration::from_millis(2000), 0), 0);
    assert_eq!(g.tick(now + Duration::from_millis(3001), 0), 1);
    assert_eq!(g.state_name(), "Empty");
}

#[test]
fn regex_subscriptions_follow_new_topics() {
    let t1 = Uuid::new_v4();
    let t2 = Uuid::new_v4();
    let mut topics = Topics([("orders-eu".to_string(), (t1, 1))].into());
    let now = Instant::now();
    let mut g = ConsumerGroup::new("g", 0);
    let mut r = join("a");
    r.subscribed_topics = None;
    r.subscribed_regex = Some("orders-.*".into());
    let first = g.heartbeat(&r, now, 0, &topics, &settings());
    assert_eq!(count(&first.assignment.expect("assignment")), 1);
    topics.0.insert("orders-us".into(), (t2, 2));
    let next = g.heartbeat(
        &beat("a", first.member_epoch, None),
        now,
        0,
        &topics,
        &settings(),
    );
    let all = next.assignment.expect("grown assignment");
    assert_eq!(count(&all), 3);
    assert!(next.member_epoch > first.member_epoch);
}

#[test]
fn a_static_member_id_in_use_is_not_released_to_another_member() {
    let topics = Topics([("t".to_string(), (Uuid::new_v4(), 2))].into());
    let now = Instant::now();
    let mut g = ConsumerGroup::new("g", 0);
    let static_join = |member: &str| Heartbeat {
        instance_id: Some("instance".into()),
        ..join(member)
    };
    let a = g.heartbeat(&static_join("a"), now, 0, &topics, &settings());
    assert_eq!(a.error, None);
    // A second process started with the same group.instance.id is fenced, as Kafka 4 does.
    let b = g.heartbeat(&static_join("b"), now, 0, &topics, &settings());
    let (error, _) = b.error.expect("refused");
    assert_eq!(error, ResponseError::UnreleasedInstanceId);
    assert!(
        g.members.contains_key("a"),
        "the first member keeps its place"
    );
    // A static leave (epoch -2) releases it.
    g.heartbeat(&beat("a", -2, None), now, 0, &topics, &settings());
    let b = g.heartbeat(&static_join("b"), now, 0, &topics, &settings());
    assert_eq!(b.error, None);
    assert_eq!(count(&b.assignment.expect("assignment")), 2);
}
