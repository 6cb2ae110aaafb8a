"""Broker checks with the Python clients: confluent-kafka (librdkafka) and kafka-python.

Usage: python_clients.py BOOTSTRAP TAG
Runs against whichever versions the interpreter has (Debian's old ones or pip's current ones),
prints one line per check and a closing 'N passed, M failed'; exits non-zero on any failure.
"""
import sys
import time

from checks import check, finish, skip

BOOTSTRAP, TAG = sys.argv[1], sys.argv[2]
RECORDS = 2000




def confluent_round_trip(codec):
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic = f"py-ck-{TAG}-{codec}"
    p = Producer({"bootstrap.servers": BOOTSTRAP, "compression.type": codec, "linger.ms": 5,
                  "broker.address.family": "v4", "enable.idempotence": True})
    errors = []
    for i in range(RECORDS):
        p.produce(topic, key=f"k{i % 17}".encode(), value=f"value-{i}".encode(),
                  headers=[("n", str(i).encode())], on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(30) == 0, "unflushed records"
    assert not errors, errors
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "unused", "enable.auto.commit": False,
                  "broker.address.family": "v4"})
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    seen = {}
    deadline = time.time() + 60
    while len(seen) < RECORDS and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        n = int(dict(m.headers())["n"])
        assert m.value() == f"value-{n}".encode() and m.key() == f"k{n % 17}".encode()
        assert n not in seen, f"duplicate {n}"
        seen[n] = m.offset()
    c.close()
    assert len(seen) == RECORDS, f"consumed {len(seen)} of {RECORDS}"


for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    check(f"confluent-kafka produce/consume {codec}")(lambda codec=codec: confluent_round_trip(codec))


@check("confluent-kafka admin create/describe/alter configs/delete")
def confluent_admin():
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    a = AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})
    name = f"py-admin-{TAG}"
    for f in a.create_topics([NewTopic(name, num_partitions=4, replication_factor=1,
                                       config={"retention.ms": "123456"})]).values():
        f.result(10)
    md = a.list_topics(timeout=10)
    assert len(md.topics[name].partitions) == 4
    res = ConfigResource(ConfigResource.Type.TOPIC, name)
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "123456", configs["retention.ms"]
    assert configs["cleanup.policy"].value == "delete"
    bad = ConfigResource(ConfigResource.Type.TOPIC, name, set_config={"no.such.config": "1"})
    try:
        a.alter_configs([bad])[bad].result(10)
        raise AssertionError("unknown config accepted")
    except Exception as e:
        assert "INVALID_CONFIG" in str(e) or "Unknown topic config" in str(e), e
    if hasattr(a, "incremental_alter_configs"):
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry
        inc = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
        a.incremental_alter_configs([inc])[inc].result(10)
        configs = a.describe_configs([res])[res].result(10)
        assert configs["cleanup.policy"].value == "delete,compact", configs["cleanup.policy"].value
        assert configs["retention.ms"].value == "604800000", configs["retention.ms"].value
    for f in a.delete_topics([name]).values():
        f.result(10)


@check("kafka-python produce/consume gzip")
def kafka_python_round_trip():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic = f"py-kp-{TAG}"
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type="gzip", linger_ms=5, acks="all")
    futures = [p.send(topic, key=f"k{i}".encode(), value=f"value-{i}".encode(),
                      headers=[("n", str(i).encode())]) for i in range(RECORDS)]
    p.flush(30)
    for f in futures:
        f.get(timeout=30)
    p.close()
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, consumer_timeout_ms=10000)
    parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
    c.assign(parts)
    c.seek_to_beginning()
    seen = set()
    for m in c:
        n = int(dict(m.headers)["n"])
        assert m.value == f"value-{n}".encode()
        seen.add(n)
        if len(seen) == RECORDS:
            break
    c.close()
    assert len(seen) == RECORDS, f"consumed {len(seen)} of {RECORDS}"


@check("kafka-python admin create/list/delete")
def kafka_python_admin():
    from kafka.admin import KafkaAdminClient, NewTopic
    a = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    name = f"py-kp-admin-{TAG}"
    a.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    assert name in a.list_topics()
    a.delete_topics([name])
    a.close()


def confluent_authorized_operations():
    """KIP-430: with no authorizer every operation that applies is reported, as Kafka does
    (librdkafka's 0081_admin expects 8 for a topic, 7 for the cluster, and for a group 3
    before Kafka 4.0 and 5 since: group configs added DESCRIBE_CONFIGS and ALTER_CONFIGS)."""
    from confluent_kafka import Consumer, TopicCollection, TopicPartition
    from confluent_kafka.admin import AclOperation, AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})
    name = f"py-ops-{TAG}"
    for f in a.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)]).values():
        f.result(10)
    topic = a.describe_topics(TopicCollection([name]), include_authorized_operations=True)[name]
    ops = set(topic.result(10).authorized_operations)
    assert ops == {AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
                   AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS,
                   AclOperation.ALTER_CONFIGS}, ops
    assert a.describe_topics(TopicCollection([name]))[name].result(10).authorized_operations is None
    cluster = a.describe_cluster(include_authorized_operations=True).result(10)
    assert set(cluster.authorized_operations) == {
        AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
        AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER,
        AclOperation.DESCRIBE}, cluster.authorized_operations
    group = f"py-ops-group-{TAG}"
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "broker.address.family": "v4"})
    c.commit(offsets=[TopicPartition(name, 0, 0)], asynchronous=False)
    c.close()
    described = a.describe_consumer_groups([group], include_authorized_operations=True)[group]
    assert set(described.result(10).authorized_operations) == {
        AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE,
        AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS}


def confluent_group_configs():
    """Kafka 4.0 describes a group's configs (resource type 32), defaults for any group name."""
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})
    res = ConfigResource(ConfigResource.Type.GROUP, f"py-no-such-group-{TAG}")
    configs = a.describe_configs([res])[res].result(10)
    assert configs["consumer.session.timeout.ms"].value == "45000", configs
    assert configs["consumer.heartbeat.interval.ms"].value == "5000", configs


def kafka_python_log_dirs():
    """DescribeLogDirs: the partitions a broker holds, each with its bytes on disk."""
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient
    topic = f"py-log-dirs-{TAG}"
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    for i in range(100):
        p.send(topic, value=b"x" * 100, partition=0)
    p.flush(30)
    p.close()
    a = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    answers = a.describe_log_dirs()
    a.close()
    sizes = {}
    for broker in answers:
        for log_dir in broker["log_dirs"]:
            assert log_dir["error_code"] == 0, log_dir
            for t in log_dir["topics"]:
                for part in t["partitions"]:
                    sizes[(t["name"], part["partition_index"])] = part["partition_size"]
    assert sizes.get((topic, 0), 0) > 100 * 100, sizes.get((topic, 0))


def has_describe_log_dirs():
    from kafka.admin import KafkaAdminClient
    import kafka
    version = tuple(int(x) for x in kafka.__version__.split(".")[:2] if x.isdigit())
    return hasattr(KafkaAdminClient, "describe_log_dirs") and version >= (2, 1)


def has_describe_topics():
    from confluent_kafka.admin import AdminClient
    return hasattr(AdminClient, "describe_topics") and hasattr(AdminClient, "describe_cluster")


# Debian's confluent-kafka 2.0.2 predates describe_topics, describe_cluster and group configs:
# reported as skipped, not counted as passed.
if has_describe_topics():
    check("confluent-kafka authorized operations (KIP-430)")(confluent_authorized_operations)
    check("confluent-kafka group configs")(confluent_group_configs)
else:
    skip(2, "confluent-kafka authorized operations and group configs: too old a confluent-kafka")

# kafka-python before 2.1 sends DescribeLogDirs v0, which Kafka 4 removed (KIP-896).
if has_describe_log_dirs():
    check("kafka-python describe log dirs")(kafka_python_log_dirs)
else:
    skip(1, "kafka-python describe log dirs: this kafka-python sends DescribeLogDirs v0")

finish()
