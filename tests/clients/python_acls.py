"""ACL refusals read off the wire with kafka-python, for the APIs librdkafka has no call for,
never sends unauthorized (it stops at Metadata's refusal) or drops the code of (DescribeAcls):
as alice (SASL PLAIN, without ACLs) each request gets Kafka's error code (29 topic, 30 group,
31 cluster authorization failed); once admin, a super user, has given her ACLs with
kafka-python's create_acls, none of them is refused.

Usage: python_acls.py BOOTSTRAP ALICE_PASSWORD ADMIN_PASSWORD
Prints one line per check and a closing 'N passed, M failed'; exits non-zero on any failure.
"""
import sys
import traceback

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, NewTopic,
                         ResourcePattern, ResourceType)
from kafka.protocol import admin as a, consumer as c, metadata as m, producer as p

BOOTSTRAP, ALICE_PASSWORD, ADMIN_PASSWORD = sys.argv[1:4]
TOPIC, GROUP = "py-acl-topic", "py-acl-group"
TOPIC_DENIED, GROUP_DENIED, CLUSTER_DENIED = 29, 30, 31
AUTHORIZATION_FAILED = {TOPIC_DENIED, GROUP_DENIED, CLUSTER_DENIED, 53}


def auth(user, password):
    return {"bootstrap_servers": BOOTSTRAP, "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN", "sasl_plain_username": user,
            "sasl_plain_password": password, "request_timeout_ms": 20000}


ALICE, ADMIN = auth("alice", ALICE_PASSWORD), auth("admin", ADMIN_PASSWORD)


def codes(value):
    """Every error code anywhere in a response."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "error_code" and isinstance(v, int):
                found.add(v)
            else:
                found |= codes(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found |= codes(v)
    return found


def send(client, request):
    manager = client._manager
    return manager.run(lambda: manager.send(request, node_id=1))


def requests():
    """(API, request, code without ACLs), in the order they run."""
    lo = c.ListOffsetsRequest
    ofl = c.OffsetForLeaderEpochRequest
    oc = c.OffsetCommitRequest
    of = c.OffsetFetchRequest
    od = c.OffsetDeleteRequest
    dr = a.DeleteRecordsRequest
    cp = a.CreatePartitionsRequest
    dc = a.DescribeConfigsRequest
    iac = a.IncrementalAlterConfigsRequest
    el = a.ElectLeadersRequest
    lpr = a.ListPartitionReassignmentsRequest
    apr = a.AlterPartitionReassignmentsRequest
    dq = a.DescribeQuorumRequest
    ct = a.CreateTopicsRequest
    fetch = c.FetchRequest
    fetch_topic = fetch.FetchTopic(topic=TOPIC, topic_id=None, partitions=[
        fetch.FetchTopic.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1024,
                                        current_leader_epoch=-1, log_start_offset=-1,
                                        last_fetched_epoch=-1)])
    return [
        ("DescribeAcls", a.DescribeAclsRequest(
            resource_type_filter=1, resource_name_filter=None, pattern_type_filter=1,
            principal_filter=None, host_filter=None, operation=1, permission_type=1),
         CLUSTER_DENIED),
        ("Fetch (consumer)", fetch(version=12, replica_id=-1, max_wait_ms=0, min_bytes=0,
                                   max_bytes=1024, isolation_level=0, session_id=0,
                                   session_epoch=-1, topics=[fetch_topic],
                                   forgotten_topics_data=[], rack_id=""), TOPIC_DENIED),
        ("ListOffsets", lo(replica_id=-1, isolation_level=0, topics=[lo.ListOffsetsTopic(
            name=TOPIC, partitions=[lo.ListOffsetsTopic.ListOffsetsPartition(
                partition_index=0, timestamp=-1, current_leader_epoch=-1)])]), TOPIC_DENIED),
        ("OffsetForLeaderEpoch", ofl(replica_id=-1, topics=[ofl.OffsetForLeaderTopic(
            topic=TOPIC, partitions=[ofl.OffsetForLeaderTopic.OffsetForLeaderPartition(
                partition=0, current_leader_epoch=-1, leader_epoch=0)])]), TOPIC_DENIED),
        ("OffsetCommit", oc(group_id=GROUP, generation_id_or_member_epoch=-1, member_id="",
                            group_instance_id=None, retention_time_ms=-1, topics=[
                                oc.OffsetCommitRequestTopic(name=TOPIC, partitions=[
                                    oc.OffsetCommitRequestTopic.OffsetCommitRequestPartition(
                                        partition_index=0, committed_offset=1,
                                        committed_leader_epoch=-1,
                                        committed_metadata="")])]), GROUP_DENIED),
        ("OffsetFetch", of(version=7, group_id=GROUP, topics=None, require_stable=False),
         GROUP_DENIED),
        ("OffsetDelete", od(group_id=GROUP, topics=[od.OffsetDeleteRequestTopic(
            name=TOPIC, partitions=[od.OffsetDeleteRequestTopic.OffsetDeleteRequestPartition(
                partition_index=0)])]), GROUP_DENIED),
        ("FindCoordinator", m.FindCoordinatorRequest(key_type=0, coordinator_keys=[GROUP]),
         GROUP_DENIED),
        ("Heartbeat", c.HeartbeatRequest(group_id=GROUP, generation_id=1, member_id="m",
                                         group_instance_id=None), GROUP_DENIED),
        ("DescribeGroups", a.DescribeGroupsRequest(groups=[GROUP],
                                                   include_authorized_operations=False),
         GROUP_DENIED),
        ("DeleteRecords", dr(timeout_ms=10000, topics=[dr.DeleteRecordsTopic(
            name=TOPIC, partitions=[dr.DeleteRecordsTopic.DeleteRecordsPartition(
                partition_index=0, offset=0)])]), TOPIC_DENIED),
        ("CreatePartitions", cp(timeout_ms=10000, validate_only=True, topics=[
            cp.CreatePartitionsTopic(name=TOPIC, count=2, assignments=None)]), TOPIC_DENIED),
        ("CreateTopics", ct(timeout_ms=10000, validate_only=True, topics=[ct.CreatableTopic(
            name=TOPIC + "-new", num_partitions=1, replication_factor=1, assignments=[],
            configs=[])]), TOPIC_DENIED),
        ("DescribeConfigs (topic)", dc(include_synonyms=False, include_documentation=False,
                                       resources=[dc.DescribeConfigsResource(
                                           resource_type=2, resource_name=TOPIC,
                                           configuration_keys=None)]), TOPIC_DENIED),
        ("DescribeConfigs (broker)", dc(include_synonyms=False, include_documentation=False,
                                        resources=[dc.DescribeConfigsResource(
                                            resource_type=4, resource_name="1",
                                            configuration_keys=None)]), CLUSTER_DENIED),
        ("IncrementalAlterConfigs", iac(validate_only=True, resources=[iac.AlterConfigsResource(
            resource_type=2, resource_name=TOPIC, configs=[
                iac.AlterConfigsResource.AlterableConfig(name="retention.ms", config_operation=0,
                                                         value="3600000")])]), TOPIC_DENIED),
        ("ElectLeaders", el(election_type=0, timeout_ms=10000, topic_partitions=[
            el.TopicPartitions(topic=TOPIC, partitions=[0])]), CLUSTER_DENIED),
        ("DescribeLogDirs", a.DescribeLogDirsRequest(topics=None), CLUSTER_DENIED),
        ("ListPartitionReassignments", lpr(timeout_ms=10000, topics=None), CLUSTER_DENIED),
        ("AlterPartitionReassignments", apr(timeout_ms=10000, topics=[],
                                            allow_replication_factor_change=True),
         CLUSTER_DENIED),
        ("DescribeQuorum", dq(topics=[dq.TopicData(topic_name="__cluster_metadata", partitions=[
            dq.TopicData.PartitionData(partition_index=0)])]), CLUSTER_DENIED),
        ("InitProducerId", p.InitProducerIdRequest(transactional_id=None,
                                                   transaction_timeout_ms=-1,
                                                   producer_id=-1, producer_epoch=-1),
         CLUSTER_DENIED),
    ]


def setup():
    admin = KafkaAdminClient(**ADMIN)
    admin.create_topics([NewTopic(TOPIC, 1, 1)])
    producer = KafkaProducer(**ADMIN)
    producer.send(TOPIC, b"v").get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(TOPIC, group_id=GROUP, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=20000, **ADMIN)
    next(iter(consumer))
    consumer.commit()
    consumer.close()
    return admin


def grant(admin):
    """Everything the requests above need, and no more than Kafka asks for."""
    allow, literal = ACLPermissionType.ALLOW, ACLResourcePatternType.LITERAL
    wanted = {
        ResourcePattern(ResourceType.TOPIC, TOPIC, literal): [
            ACLOperation.READ, ACLOperation.DELETE, ACLOperation.ALTER,
            ACLOperation.ALTER_CONFIGS],
        ResourcePattern(ResourceType.TOPIC, TOPIC + "-new", literal): [ACLOperation.CREATE],
        ResourcePattern(ResourceType.GROUP, GROUP, literal): [ACLOperation.READ,
                                                              ACLOperation.DELETE],
        ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", literal): [
            ACLOperation.ALTER, ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS,
            ACLOperation.IDEMPOTENT_WRITE],
    }
    acls = [ACL("User:alice", "*", op, allow, pattern)
            for pattern, ops in wanted.items() for op in ops]
    created = admin.create_acls(acls)
    assert not created["failed"], created["failed"]


def run(alice, phase, refused):
    failed = 0
    for name, request, code in requests():
        try:
            found = codes(send(alice, request).to_dict())
        except Exception as e:
            traceback.print_exc()
            found = {f"exception {e!r}"}
        ok = code in found if refused else not (found & AUTHORIZATION_FAILED)
        print(f"{'ok  ' if ok else 'FAIL'} {phase} {name}: error codes {sorted(map(str, found))}")
        failed += not ok
    return failed


failed, checks = 0, 2 * len(requests())
try:
    admin = setup()
    alice = KafkaAdminClient(**ALICE)
    failed += run(alice, "without ACLs", refused=True)
    grant(admin)
    failed += run(alice, "with ACLs", refused=False)
except Exception as e:
    traceback.print_exc()
    print(f"FAIL setup: {e!r}")
    failed += 1
print(f"{checks - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
