//! Consumer groups with librdkafka: assignment across members, hand-over when a member leaves
//! or dies, commits that survive a restart, static membership, cooperative-sticky, lag, and
//! the admin side (describe, delete).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::AdminOptions;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::common::{self, TestBroker, DEADLINE};
use crate::raw::Raw;

/// Group settings that keep tests quick: no initial delay, short sessions allowed.
pub const FAST_GROUPS: &[(&str, &str)] = &[
    ("group.initial.rebalance.delay.ms", "0"),
    ("group.min.session.timeout.ms", "1000"),
    ("offsets.topic.num.partitions", "5"),
];

/// Counts the rebalances a consumer goes through.
#[derive(Default, Clone)]
pub struct Counting {
    pub rebalances: Arc<AtomicUsize>,
}

impl ClientContext for Counting {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        if std::env::var("KTUI_RDKAFKA_LOG").is_ok() {
            eprintln!("RDK {fac} {msg}");
        }
    }
}
impl ConsumerContext for Counting {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.rebalances.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub type GroupConsumer = BaseConsumer<Counting>;

pub fn group_consumer(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> GroupConsumer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("group.id", group)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "300")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    if let Ok(d) = std::env::var("KTUI_RDKAFKA_LOG") {
        c.set("debug", d);
    }
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create_with_context(Counting::default())
        .expect("group consumer")
}

pub fn assigned(c: &GroupConsumer) -> BTreeSet<i32> {
    c.assignment()
        .expect("assignment")
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect()
}

/// Polls every consumer until `done` holds for their assignments, or fails after DEADLINE.
pub fn poll_until(
    consumers: &[&GroupConsumer],
    what: &str,
    done: impl Fn(&[BTreeSet<i32>]) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        for c in consumers {
            if let Some(Err(e)) = c.poll(Duration::from_millis(20)) {
                panic!("{what}: poll error {e}");
            }
        }
        let sets: Vec<BTreeSet<i32>> = consumers.iter().map(|c| assigned(c)).collect();
        if done(&sets) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: assignments {sets:?}");
    }
}

/// Disjoint assignments covering 0..partitions, with each member holding `sizes` partitions.
pub fn covers(sets: &[BTreeSet<i32>], partitions: i32, size: usize) -> bool {
    let all: BTreeSet<i32> = sets.iter().flatten().copied().collect();
    let total: usize = sets.iter().map(BTreeSet::len).sum();
    all == (0..partitions).collect()
        && total == partitions as usize
        && sets.iter().all(|s| s.len() == size)
}

async fn produce_spread(bootstrap: &str, topic: &str, partitions: i32, per_partition: usize) {
    let producer = common::producer(bootstrap, &[]);
    for p in 0..partitions {
        for i in 0..per_partition {
            let value = format!("{p}-{i}");
            producer
                .send(
                    FutureRecord::<(), _>::to(topic)
                        .partition(p)
                        .payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .expect("delivered");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_members_split_six_partitions_and_a_leaver_hands_over() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "six", 6, &[]).await;
    tokio::task::spawn_blocking(move || {
        let members: Vec<GroupConsumer> = (0..3).map(|_| group_consumer(&b, "trio", &[])).collect();
        for m in &members {
            m.subscribe(&["six"]).expect("subscribe");
        }
        let refs: Vec<&GroupConsumer> = members.iter().collect();
        poll_until(&refs, "three members", |s| covers(s, 6, 2));

        let mut members = members;
        let leaver = members.pop().expect("three");
        drop(leaver); // close: LeaveGroup
        let refs: Vec<&GroupConsumer> = members.iter().collect();
        poll_until(&refs, "after a leave", |s| covers(s, 6, 3));
    })
    .await
    .expect("test thread");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cooperative_sticky_members_cover_every_partition() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "coop", 6, &[]).await;
    tokio::task::spawn_blocking(move || {
        let sticky = [("partition.assignment.strategy", "cooperative-sticky")];
        let first = group_consumer(&b, "coop-group", &sticky);
        first.subscribe(&["coop"]).expect("subscribe");
        poll_until(&[&first], "one member", |s| covers(s, 6, 6));
        let before = assigned(&first);
        let second = group_consumer(&b, "coop-group", &sticky);
        second.subscribe(&["coop"]).expect("subscribe");
        poll_until(&[&first, &second], "two members", |s| covers(s, 6, 3));
        // Sticky: what the first member keeps is a subset of what it had.
        assert!(assigned(&first).is_subset(&before));
    })
    .await
    .expect("test thread");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn static_member_rejoins_without_a_rebalance() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "statics", 4, &[]).await;
    tokio::task::spawn_blocking(move || {
        let a = group_consumer(&b, "static-group", &[("group.instance.id", "a")]);
        let other = group_consumer(&b, "static-group", &[("group.instance.id", "b")]);
        a.subscribe(&["statics"]).expect("subscribe");
        other.subscribe(&["statics"]).expect("subscribe");
        poll_until(&[&a, &other], "two static members", |s| covers(s, 4, 2));
        let held_by_a = assigned(&a);
        let rebalances = other.context().rebalances.load(Ordering::SeqCst);
        drop(a); // a static member sends no LeaveGroup on close

        let again = group_consumer(&b, "static-group", &[("group.instance.id", "a")]);
        again.subscribe(&["statics"]).expect("subscribe");
        poll_until(&[&again, &other], "rejoined", |s| {
            s[0] == held_by_a && s[0].len() == 2
        });
        // Keep polling a little past the rejoin: no rebalance may reach the other member.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            other.poll(Duration::from_millis(50));
            again.poll(Duration::from_millis(50));
        }
        assert_eq!(
            other.context().rebalances.load(Ordering::SeqCst),
            rebalances,
            "the other member was rebalanced"
        );
        assert_eq!(assigned(&again), held_by_a);
    })
    .await
    .expect("test thread");
    broker.stop().await;
}

/// Consumes until `count` records were seen; returns (partition, offset) pairs.
fn consume_n(c: &GroupConsumer, count: usize) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while seen.len() < count {
        assert!(Instant::now() < deadline, "only {} of {count}", seen.len());
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                use rdkafka::Message;
                seen.push((m.partition(), m.offset()));
            }
            Some(Err(e)) => panic!("poll: {e}"),
            None => {}
        }
    }
    seen
}

/// High watermark minus committed offset, summed over the topic's partitions.
fn lag(c: &GroupConsumer, topic: &str, partitions: i32) -> i64 {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, DEADLINE).expect("committed");
    (0..partitions)
        .map(|p| {
            let (_, high) = c.fetch_watermarks(topic, p, DEADLINE).expect("watermarks");
            let at = match committed.find_partition(topic, p).expect("listed").offset() {
                Offset::Offset(o) => o,
                _ => 0,
            };
            high - at
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_survive_a_restart_and_a_new_member_resumes_exactly() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "resume", 3, &[]).await;
    produce_spread(&b, "resume", 3, 200).await;
    let b1 = b.clone();
    let first = tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b1, "resumers", &[]);
        c.subscribe(&["resume"]).expect("subscribe");
        let seen = consume_n(&c, 250);
        // Commit exactly what was handed to the application.
        let mut next: HashMap<i32, i64> = HashMap::new();
        for (p, o) in &seen {
            let e = next.entry(*p).or_insert(0);
            *e = (*e).max(o + 1);
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &next {
            tpl.add_partition_offset("resume", *p, Offset::Offset(*o))
                .expect("offset");
        }
        c.commit(&tpl, CommitMode::Sync).expect("commit");
        let consumed: i64 = next.values().sum();
        assert_eq!(lag(&c, "resume", 3), 600 - consumed, "lag before restart");
        (next, consumed)
    })
    .await
    .expect("first consumer");
    let (committed, consumed) = first;

    let dir = broker.stop().await;
    let broker = TestBroker::start_with(dir, FAST_GROUPS).await;
    let b = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b, "resumers", &[]);
        assert_eq!(lag(&c, "resume", 3), 600 - consumed, "lag after restart");
        c.subscribe(&["resume"]).expect("subscribe");
        let rest = consume_n(&c, 600 - consumed as usize);
        for (p, o) in &rest {
            let from = committed.get(p).copied().unwrap_or(0);
            assert!(
                *o >= from,
                "partition {p} offset {o} redelivered (committed {from})"
            );
        }
        let distinct: BTreeSet<(i32, i64)> = rest.iter().copied().collect();
        assert_eq!(distinct.len(), rest.len(), "duplicates after resume");
        // Nothing more to read: every record was seen exactly once across both consumers.
        assert!(c.poll(Duration::from_millis(500)).is_none());
    })
    .await
    .expect("second consumer");
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_and_delete_groups_through_librdkafka() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "described", 2, &[]).await;
    let b1 = b.clone();
    let member = tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b1, "watched", &[("client.id", "watcher-1")]);
        c.subscribe(&["described"]).expect("subscribe");
        poll_until(&[&c], "one member", |s| covers(s, 2, 2));
        let list = c
            .fetch_group_list(Some("watched"), DEADLINE)
            .expect("group list");
        let g = &list.groups()[0];
        assert_eq!(g.name(), "watched");
        assert_eq!(g.state(), "Stable");
        assert_eq!(g.protocol_type(), "consumer");
        assert_eq!(g.protocol(), "range");
        let m = &g.members()[0];
        assert_eq!(m.client_id(), "watcher-1");
        assert_eq!(m.client_host(), "/127.0.0.1");
        assert!(!m.metadata().expect("metadata").is_empty());
        assert!(!m.assignment().expect("assignment").is_empty());
        c
    })
    .await
    .expect("member");

    let admin = common::admin(&b);
    let refused = admin
        .delete_groups(&["watched"], &AdminOptions::new())
        .await
        .expect("delete groups");
    assert!(
        matches!(
            &refused[0],
            Err((_, rdkafka::types::RDKafkaErrorCode::NonEmptyGroup))
        ),
        "{refused:?}"
    );
    drop(member);
    // Once the member has left, the group is empty and may go.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let r = admin
            .delete_groups(&["watched"], &AdminOptions::new())
            .await
            .expect("delete groups");
        if r[0].is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing = admin
        .delete_groups(&["watched"], &AdminOptions::new())
        .await
        .expect("delete groups");
    assert!(
        matches!(
            &missing[0],
            Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound))
        ),
        "{missing:?}"
    );
    broker.stop().await;
}

fn subscription(topic: &str) -> bytes::Bytes {
    use kafka_protocol::protocol::Encodable;
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_string(topic.to_string())]);
    let mut buf = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut buf, 0);
    sub.encode(&mut buf, 0).expect("encode subscription");
    buf.freeze()
}

fn join_request(
    member: &str,
    protocol_metadata: bytes::Bytes,
    session_ms: i32,
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("mixed")))
        .with_session_timeout_ms(session_ms)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(StrBytes::from_string(member.to_string()))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(StrBytes::from_static_str("range"))
        .with_metadata(protocol_metadata)])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_stops_heartbeating_is_expired_and_its_partitions_handed_over() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "mixed-topic", 4, &[]).await;
    // A raw member joins first (v2, no member id round trip) and becomes the leader.
    let mut raw = Raw::connect(&b).await;
    let session_ms = 2000;
    let joined: JoinGroupResponse = raw
        .call(
            ApiKey::JoinGroup,
            2,
            &join_request("", subscription("mixed-topic"), session_ms),
        )
        .await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader, joined.member_id);
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("mixed")))
        .with_generation_id(1)
        .with_member_id(joined.member_id.clone());
    let synced: SyncGroupResponse = raw.call(ApiKey::SyncGroup, 2, &sync).await;
    assert_eq!(synced.error_code, 0);

    // librdkafka joins; the rebalance it starts needs the raw member to rejoin, which it does
    // once (as a follower would), and then goes silent.
    let b1 = b.clone();
    let handle = tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b1, "mixed", &[("session.timeout.ms", "2000")]);
        c.subscribe(&["mixed-topic"]).expect("subscribe");
        c
    })
    .await
    .expect("consumer");
    let rejoin = join_request(&joined.member_id, subscription("mixed-topic"), session_ms);
    let deadline = Instant::now() + DEADLINE;
    let consumer = Arc::new(handle);
    let poller = {
        let c = consumer.clone();
        std::thread::spawn(move || {
            while Instant::now() < deadline {
                c.poll(Duration::from_millis(20));
                if assigned(&c).len() == 4 {
                    return Instant::now();
                }
            }
            panic!("the live member never got all four partitions");
        })
    };
    // Heartbeat until the rebalance starts, then rejoin, then sync as a follower and go silent.
    loop {
        let hb = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("mixed")))
            .with_generation_id(1)
            .with_member_id(joined.member_id.clone());
        let r: HeartbeatResponse = raw.call(ApiKey::Heartbeat, 2, &hb).await;
        if r.error_code == kafka_protocol::ResponseError::RebalanceInProgress.code() {
            break;
        }
        assert_eq!(r.error_code, 0);
        assert!(Instant::now() < deadline, "no rebalance started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second: JoinGroupResponse = raw.call(ApiKey::JoinGroup, 2, &rejoin).await;
    assert_eq!(second.error_code, 0);
    assert_eq!(second.generation_id, 2);
    let silent_from = Instant::now();
    let done = tokio::task::spawn_blocking(move || poller.join().expect("poller"))
        .await
        .expect("join");
    let took = done.duration_since(silent_from);
    assert!(
        took < Duration::from_millis(session_ms as u64) + Duration::from_secs(3),
        "hand-over took {took:?}"
    );
    drop(consumer);
    broker.stop().await;
}

/// Reads a Kafka string (int16 length, bytes) at `at`.
fn kafka_str(b: &[u8], at: &mut usize) -> String {
    let len = i16::from_be_bytes([b[*at], b[*at + 1]]) as usize;
    let s = String::from_utf8(b[*at + 2..*at + 2 + len].to_vec()).expect("utf8");
    *at += 2 + len;
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_topic_is_internal_and_holds_kafkas_record_schemas() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "tracked", 1, &[]).await;
    produce_spread(&b, "tracked", 1, 10).await;
    let b1 = b.clone();
    tokio::task::spawn_blocking(move || {
        let c = group_consumer(&b1, "burrow-sees-me", &[]);
        c.subscribe(&["tracked"]).expect("subscribe");
        consume_n(&c, 10);
        c.commit_consumer_state(CommitMode::Sync).expect("commit");
    })
    .await
    .expect("consumer");

    // A client reading __consumer_offsets as Burrow does finds an offset commit key (v1) and a
    // group metadata key (v2) for the group, with the committed offset in a v3 value.
    let md = common::consumer(&b)
        .fetch_metadata(Some("__consumer_offsets"), DEADLINE)
        .expect("metadata");
    let partitions = md.topics()[0].partitions().len() as i32;
    assert_eq!(partitions, 5, "offsets.topic.num.partitions");
    let records = common::consume(&b, "__consumer_offsets", partitions, Offset::Beginning, 2);
    let mut found_offset = false;
    let mut found_group = false;
    for r in &records {
        let key = r.key.as_ref().expect("keyed");
        let mut at = 2;
        match i16::from_be_bytes([key[0], key[1]]) {
            1 => {
                assert_eq!(kafka_str(key, &mut at), "burrow-sees-me");
                assert_eq!(kafka_str(key, &mut at), "tracked");
                let value = r.value.as_ref().expect("value");
                assert_eq!(&value[..2], &[0, 3], "OffsetCommitValue v3");
                let offset = i64::from_be_bytes(value[2..10].try_into().expect("offset"));
                assert_eq!(offset, 10);
                found_offset = true;
            }
            2 => {
                assert_eq!(kafka_str(key, &mut at), "burrow-sees-me");
                let value = r.value.as_ref().expect("value");
                assert_eq!(&value[..2], &[0, 3], "GroupMetadataValue v3");
                let mut at = 2;
                assert_eq!(kafka_str(value, &mut at), "consumer");
                found_group = true;
            }
            other => panic!("unexpected key version {other}"),
        }
    }
    assert!(found_offset && found_group, "{records:?}");

    // Internal: flagged so in metadata, and clients may not write to it.
    let all = common::consumer(&b)
        .fetch_metadata(None, DEADLINE)
        .expect("metadata");
    assert!(all
        .topics()
        .iter()
        .any(|t| t.name() == "__consumer_offsets"));
    let producer = common::producer(&b, &[("message.timeout.ms", "5000")]);
    let refused = producer
        .send(
            FutureRecord::<(), _>::to("__consumer_offsets")
                .partition(0)
                .payload("forged"),
            Duration::from_secs(10),
        )
        .await;
    assert!(refused.is_err(), "a client wrote to __consumer_offsets");
    broker.stop().await;
}

/// librdkafka's 0081 DescribeConsumerGroups: static members close without LeaveGroup, and
/// Kafka expires each when its session times out, so the group can be deleted soon after.
#[tokio::test(flavor = "multi_thread")]
async fn closed_static_members_expire_with_their_session() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "static-expiry", 2, &[]).await;
    produce_spread(&b, "static-expiry", 2, 10).await;
    const SESSION_MS: u64 = 5_000;
    let groups = ["expiry-0", "expiry-1", "expiry-2"];
    let b1 = b.clone();
    let closed_at = tokio::task::spawn_blocking(move || {
        let consumers: Vec<GroupConsumer> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let instance = format!("instance-{i}");
                let session = SESSION_MS.to_string();
                let settings = [
                    ("group.instance.id", instance.as_str()),
                    ("session.timeout.ms", session.as_str()),
                    ("enable.auto.commit", "true"),
                ];
                let c = group_consumer(&b1, g, &settings);
                c.subscribe(&["static-expiry"]).expect("subscribe");
                c
            })
            .collect();
        for c in &consumers {
            consume_n(c, 20);
        }
        drop(consumers); // static members send no LeaveGroup
        Instant::now()
    })
    .await
    .expect("members");
    let admin = common::admin(&b);
    let deadline = closed_at + Duration::from_millis(SESSION_MS) + Duration::from_secs(3);
    let mut left: Vec<&str> = groups.to_vec();
    while !left.is_empty() {
        let results = admin
            .delete_groups(&left, &AdminOptions::new())
            .await
            .expect("delete groups");
        left = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|(g, _)| g.as_str()))
            .map(|g| *groups.iter().find(|n| **n == g).expect("asked"))
            .collect();
        assert!(
            Instant::now() < deadline,
            "still not deletable a session after the close: {results:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    broker.stop().await;
}
