//! The group protocol at the wire, for answers a well-behaved client rarely provokes: the
//! member-id round trip by version, heartbeat errors, batched LeaveGroup and OffsetFetch,
//! simple commits, OffsetDelete, the ListGroups filter, and DescribeGroups v6 for an unknown
//! group. Every request is encoded with kafka-protocol.

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::common::{self, TestBroker};
use crate::groups::FAST_GROUPS;
use crate::raw::Raw;

/// (topic, committed offset, metadata) rows of one group.
type Committed = Vec<(String, i64, String)>;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join(group: &str, member: &str, instance: Option<&str>) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(subscription("subscribed"))])
}

fn subscription(topic: &str) -> bytes::Bytes {
    use kafka_protocol::protocol::Encodable;
    let sub = ConsumerProtocolSubscription::default().with_topics(vec![s(topic)]);
    let mut buf = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut buf, 0);
    sub.encode(&mut buf, 0).expect("encode subscription");
    buf.freeze()
}

fn heartbeat(group: &str, member: &StrBytes, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(member.clone())
        .with_generation_id(generation)
}

fn commit(
    group: &str,
    member: &str,
    generation: i32,
    topic: &str,
    offset: i64,
) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_generation_id_or_member_epoch(generation)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_metadata(Some(s("kept")))])])
}

/// Joins and syncs one member with JoinGroup v4 (member id round trip); returns its id.
async fn join_alone(raw: &mut Raw, group: &str) -> StrBytes {
    let first: JoinGroupResponse = raw.call(ApiKey::JoinGroup, 4, &join(group, "", None)).await;
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    assert!(!first.member_id.is_empty());
    let joined: JoinGroupResponse = raw
        .call(ApiKey::JoinGroup, 4, &join(group, &first.member_id, None))
        .await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.member_id, first.member_id);
    assert_eq!(joined.members.len(), 1, "the leader gets the members");
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(joined.generation_id)
        .with_member_id(joined.member_id.clone());
    let synced: SyncGroupResponse = raw.call(ApiKey::SyncGroup, 3, &sync).await;
    assert_eq!(synced.error_code, 0);
    joined.member_id
}

#[tokio::test]
async fn join_versions_heartbeat_errors_and_batched_leave() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    let mut raw = Raw::connect(&b).await;
    // v2 (kafka-python 2.0.2): no member-id round trip.
    let old: JoinGroupResponse = raw
        .call(ApiKey::JoinGroup, 2, &join("g-old", "", None))
        .await;
    assert_eq!(old.error_code, 0);
    assert_eq!(old.generation_id, 1);
    // v4: MEMBER_ID_REQUIRED first.
    let member = join_alone(&mut raw, "g-new").await;
    let ok: HeartbeatResponse = raw
        .call(ApiKey::Heartbeat, 3, &heartbeat("g-new", &member, 1))
        .await;
    assert_eq!(ok.error_code, 0);
    let stale: HeartbeatResponse = raw
        .call(ApiKey::Heartbeat, 3, &heartbeat("g-new", &member, 7))
        .await;
    assert_eq!(stale.error_code, ResponseError::IllegalGeneration.code());
    let stranger: HeartbeatResponse = raw
        .call(ApiKey::Heartbeat, 3, &heartbeat("g-new", &s("nobody"), 1))
        .await;
    assert_eq!(stranger.error_code, ResponseError::UnknownMemberId.code());
    // A too-short session is refused.
    let short = join("g-new", "", None).with_session_timeout_ms(10);
    let refused: JoinGroupResponse = raw.call(ApiKey::JoinGroup, 4, &short).await;
    assert_eq!(
        refused.error_code,
        ResponseError::InvalidSessionTimeout.code()
    );
    // A static member's instance id is fenced when another member id claims it.
    let stat: JoinGroupResponse = raw
        .call(ApiKey::JoinGroup, 5, &join("g-static", "", Some("inst-1")))
        .await;
    assert_eq!(
        stat.error_code, 0,
        "static members skip the member-id round trip"
    );
    let fenced: HeartbeatResponse = raw
        .call(
            ApiKey::Heartbeat,
            3,
            &heartbeat("g-static", &s("other-id"), stat.generation_id)
                .with_group_instance_id(Some(s("inst-1"))),
        )
        .await;
    assert_eq!(fenced.error_code, ResponseError::FencedInstanceId.code());
    // LeaveGroup v3: one answer per member.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g-new")))
        .with_members(vec![
            MemberIdentity::default().with_member_id(member.clone()),
            MemberIdentity::default().with_member_id(s("ghost")),
        ]);
    let left: LeaveGroupResponse = raw.call(ApiKey::LeaveGroup, 3, &leave).await;
    assert_eq!(left.error_code, 0);
    let codes: Vec<i16> = left.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, vec![0, ResponseError::UnknownMemberId.code()]);
    // The group is empty now, with a new generation.
    let groups: ListGroupsResponse = raw
        .call(
            ApiKey::ListGroups,
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("empty")]),
        )
        .await;
    let empty: Vec<String> = groups
        .groups
        .iter()
        .map(|g| g.group_id.to_string())
        .collect();
    assert_eq!(empty, vec!["g-new".to_string()]);
    broker.stop().await;
}

#[tokio::test]
async fn commits_by_version_and_offsets_fetched_for_many_groups() {
    let broker = TestBroker::start_configured(FAST_GROUPS).await;
    let b = broker.bootstrap();
    common::create_topic(&b, "subscribed", 1, &[]).await;
    common::create_topic(&b, "other", 1, &[]).await;
    let mut raw = Raw::connect(&b).await;
    // A simple commit from outside any group (generation -1), at every version.
    for v in 2..=9 {
        let r: OffsetCommitResponse = raw
            .call(
                ApiKey::OffsetCommit,
                v,
                &commit("simple", "", -1, "other", 10 + i64::from(v)),
            )
            .await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0, "v{v}");
    }
    let unknown: OffsetCommitResponse = raw
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("simple", "", -1, "no-such-topic", 1),
        )
        .await;
    assert_eq!(
        unknown.topics[0].partitions[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    // An active group refuses a commit from a non-member, and takes its member's.
    let member = join_alone(&mut raw, "active").await;
    let outsider: OffsetCommitResponse = raw
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("active", "", -1, "subscribed", 5),
        )
        .await;
    assert_eq!(
        outsider.topics[0].partitions[0].error_code,
        ResponseError::UnknownMemberId.code()
    );
    let own: OffsetCommitResponse = raw
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("active", &member, 1, "subscribed", 5),
        )
        .await;
    assert_eq!(own.topics[0].partitions[0].error_code, 0);
    let other: OffsetCommitResponse = raw
        .call(
            ApiKey::OffsetCommit,
            8,
            &commit("active", &member, 1, "other", 3),
        )
        .await;
    assert_eq!(other.topics[0].partitions[0].error_code, 0);

    // OffsetFetch v8: both groups in one request, all topics.
    let fetch = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("simple")))
            .with_topics(None),
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("active")))
            .with_topics(None),
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("nobody")))
            .with_topics(None),
    ]);
    let fetched: OffsetFetchResponse = raw.call(ApiKey::OffsetFetch, 8, &fetch).await;
    let view: Vec<(String, Committed)> = fetched
        .groups
        .iter()
        .map(|g| {
            let rows = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(move |p| {
                        let meta = p
                            .metadata
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_default();
                        (t.name.to_string(), p.committed_offset, meta)
                    })
                })
                .collect();
            (g.group_id.to_string(), rows)
        })
        .collect();
    assert_eq!(
        view,
        vec![
            ("simple".into(), vec![("other".into(), 19, "kept".into())]),
            (
                "active".into(),
                vec![
                    ("other".into(), 3, "kept".into()),
                    ("subscribed".into(), 5, "kept".into())
                ]
            ),
            ("nobody".into(), vec![]),
        ]
    );

    // OffsetDelete: refused for the topic the group subscribes to, done for the other.
    let delete = OffsetDeleteRequest::default()
        .with_group_id(GroupId(s("active")))
        .with_topics(
            ["subscribed", "other"]
                .iter()
                .map(|t| {
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s(t)))
                        .with_partitions(vec![OffsetDeleteRequestPartition::default()])
                })
                .collect(),
        );
    let deleted: OffsetDeleteResponse = raw.call(ApiKey::OffsetDelete, 0, &delete).await;
    assert_eq!(deleted.error_code, 0);
    assert_eq!(
        deleted.topics[0].partitions[0].error_code,
        ResponseError::GroupSubscribedToTopic.code()
    );
    assert_eq!(deleted.topics[1].partitions[0].error_code, 0);

    // DescribeGroups v6 names an unknown group; v5 calls it Dead.
    let describe = DescribeGroupsRequest::default().with_groups(vec![GroupId(s("nobody"))]);
    let v6: DescribeGroupsResponse = raw.call(ApiKey::DescribeGroups, 6, &describe).await;
    assert_eq!(
        v6.groups[0].error_code,
        ResponseError::GroupIdNotFound.code()
    );
    let v5: DescribeGroupsResponse = raw.call(ApiKey::DescribeGroups, 5, &describe).await;
    assert_eq!(v5.groups[0].error_code, 0);
    assert_eq!(v5.groups[0].group_state.as_str(), "Dead");
    broker.stop().await;
}
