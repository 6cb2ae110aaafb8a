"""Consumer-group checks with the Python clients: confluent-kafka (librdkafka) and kafka-python.

Usage: python_groups.py BOOTSTRAP TAG
Each client subscribes, consumes part of a topic, commits, and the admin APIs of the same client
then list the group, describe it, list its committed offsets (and the lag they imply) and delete
it. An admin call the installed client version lacks is reported as 'skip', never as a pass.
Prints one line per check and a closing 'N passed, M failed'; exits non-zero on any failure.
"""
import sys
import time

from checks import check, finish

BOOTSTRAP, TAG = sys.argv[1], sys.argv[2]
PARTITIONS, PER_PARTITION, CONSUMED = 3, 100, 200




def skip(name, why):
    print(f"skip {name}: {why}")


def fill(topic):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})
    for f in a.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        f.result(10)
    p = Producer({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4", "linger.ms": 5})
    for part in range(PARTITIONS):
        for i in range(PER_PARTITION):
            p.produce(topic, value=f"{part}-{i}".encode(), partition=part)
    assert p.flush(30) == 0


def wait_for(what, fn, seconds=30):
    deadline = time.time() + seconds
    while True:
        value = fn()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# ---- confluent-kafka -----------------------------------------------------------------------

CK_TOPIC, CK_GROUP = f"pyg-ck-{TAG}", f"pyg-ck-group-{TAG}"


@check("confluent-kafka subscribe/consume/commit")
def confluent_consume_commit():
    from confluent_kafka import Consumer, TopicPartition
    fill(CK_TOPIC)
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4",
                  "group.id": CK_GROUP, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "client.id": "ck-member"})
    c.subscribe([CK_TOPIC])
    seen = []
    deadline = time.time() + 60
    while len(seen) < CONSUMED and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        seen.append(m)
    assert len(seen) == CONSUMED, f"consumed {len(seen)}"
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(CK_TOPIC, p) for p in range(PARTITIONS)], timeout=10)
    total = sum(tp.offset for tp in committed if tp.offset >= 0)
    assert total == CONSUMED, f"committed {total}"
    lag = sum(c.get_watermark_offsets(TopicPartition(CK_TOPIC, tp.partition), timeout=10)[1]
              - max(tp.offset, 0) for tp in committed)
    assert lag == PARTITIONS * PER_PARTITION - CONSUMED, f"lag {lag}"
    c.close()


def ck_admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})


if hasattr(ck_admin(), "list_consumer_groups"):
    @check("confluent-kafka admin list/describe/offsets/delete groups")
    def confluent_admin_groups():
        from confluent_kafka import ConsumerGroupTopicPartitions
        a = ck_admin()
        listed = a.list_consumer_groups().result(10)
        ids = {g.group_id for g in listed.valid}
        assert CK_GROUP in ids, ids
        desc = a.describe_consumer_groups([CK_GROUP])[CK_GROUP].result(10)
        assert desc.group_id == CK_GROUP and str(desc.state).endswith("EMPTY"), desc.state
        req = ConsumerGroupTopicPartitions(CK_GROUP)
        offsets = a.list_consumer_group_offsets([req])[CK_GROUP].result(10)
        total = sum(tp.offset for tp in offsets.topic_partitions if tp.offset >= 0)
        assert total == CONSUMED, offsets.topic_partitions
        a.delete_consumer_groups([CK_GROUP])[CK_GROUP].result(10)
        listed = a.list_consumer_groups().result(10)
        assert CK_GROUP not in {g.group_id for g in listed.valid}
else:
    skip("confluent-kafka admin groups", "this confluent-kafka has no list_consumer_groups")


# ---- confluent-kafka with the consumer group protocol (KIP-848) ------------------------------

NG_TOPIC, NG_GROUP = f"pyg-ng-{TAG}", f"pyg-ng-group-{TAG}"
KIP848_LIBRDKAFKA = 0x020C0000  # librdkafka 2.12, where group.protocol=consumer is GA


def librdkafka_version():
    import confluent_kafka
    return confluent_kafka.libversion()[1]


if librdkafka_version() >= KIP848_LIBRDKAFKA:
    @check("confluent-kafka group.protocol=consumer subscribe/consume/commit/describe")
    def confluent_next_gen():
        from confluent_kafka import Consumer, TopicPartition
        fill(NG_TOPIC)
        members = [Consumer({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4",
                             "group.id": NG_GROUP, "group.protocol": "consumer",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest"})
                   for _ in range(2)]
        for m in members:
            m.subscribe([NG_TOPIC])
        # A partition may move between the members while they read; count distinct records
        # and wait until each partition's owner has read to its end before committing.
        seen = set()
        total = PARTITIONS * PER_PARTITION

        def positions_at_end():
            at = 0
            for m in members:
                for tp in m.position(m.assignment()):
                    at += max(tp.offset, 0)
            return at == total

        deadline = time.time() + 60
        while (len(seen) < total or not positions_at_end()) and time.time() < deadline:
            for m in members:
                msg = m.poll(0.1)
                if msg is not None and msg.error() is None:
                    seen.add((msg.partition(), msg.offset()))
        assert len(seen) == total, f"consumed {len(seen)}"
        assert positions_at_end(), "the owners never reached the end"
        for m in members:
            if m.assignment():
                m.commit(asynchronous=False)
        committed = members[0].committed(
            [TopicPartition(NG_TOPIC, p) for p in range(PARTITIONS)], timeout=10)
        assert all(tp.offset == PER_PARTITION for tp in committed), committed
        admin = ck_admin()  # kept referenced: a collected client never completes its futures
        if not hasattr(admin, "describe_consumer_groups"):
            skip("confluent-kafka describe_consumer_groups", "this confluent-kafka has none")
            for m in members:
                m.close()
            return
        desc = admin.describe_consumer_groups([NG_GROUP])[NG_GROUP].result(10)
        assert len(desc.members) == 2, desc
        assert str(getattr(desc, "type", "consumer")).lower().endswith("consumer"), desc
        owned = sorted(tp.partition for m in desc.members for tp in m.assignment.topic_partitions)
        assert owned == list(range(PARTITIONS)), owned
        for m in members:
            m.close()
else:
    skip("confluent-kafka group.protocol=consumer", "librdkafka before 2.12")


# ---- kafka-python --------------------------------------------------------------------------

KP_TOPIC, KP_GROUP = f"pyg-kp-{TAG}", f"pyg-kp-group-{TAG}"


@check("kafka-python subscribe/consume/commit")
def kafka_python_consume_commit():
    from kafka import KafkaConsumer, TopicPartition
    fill(KP_TOPIC)
    c = KafkaConsumer(KP_TOPIC, bootstrap_servers=BOOTSTRAP, group_id=KP_GROUP,
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      client_id="kp-member", consumer_timeout_ms=30000)
    seen = 0
    for _ in c:
        seen += 1
        if seen == CONSUMED:
            break
    assert seen == CONSUMED, f"consumed {seen}"
    c.commit()
    parts = [TopicPartition(KP_TOPIC, p) for p in range(PARTITIONS)]
    total = sum(c.committed(tp) or 0 for tp in parts)
    assert total == CONSUMED, f"committed {total}"
    ends = c.end_offsets(parts)
    lag = sum(ends[tp] - (c.committed(tp) or 0) for tp in parts)
    assert lag == PARTITIONS * PER_PARTITION - CONSUMED, f"lag {lag}"
    c.close()


def kp_listed(a):
    """(group id, protocol type) pairs, from either kafka-python admin API generation."""
    if hasattr(a, "list_consumer_groups"):  # 2.x
        return [(g[0], g[1]) for g in a.list_consumer_groups()]
    return [(g["group_id"], g["protocol_type"]) for g in a.list_groups()]  # 3.x


def kp_described(a, group):
    if hasattr(a, "describe_consumer_groups"):
        d = a.describe_consumer_groups([group])[0]
        return d.group, d.state
    described = a.describe_groups([group])
    d = described[group] if isinstance(described, dict) else described[0]
    assert isinstance(d, dict), repr(d)
    return d.get("group_id", group), d.get("group_state", d.get("state"))


def kp_committed_total(a, group):
    if hasattr(a, "list_consumer_group_offsets"):
        offsets = a.list_consumer_group_offsets(group)
    else:
        offsets = a.list_group_offsets({group: None})[group]
    return sum(getattr(m, "offset", m) for m in offsets.values())


def kp_delete(a, group):
    deleted = a.delete_consumer_groups([group]) if hasattr(a, "delete_consumer_groups") \
        else a.delete_groups([group])
    pairs = list(deleted.items()) if isinstance(deleted, dict) else list(deleted)
    (gid, error), = pairs
    assert gid == group and ("NoError" in str(error) or error == "OK"), deleted


@check("kafka-python admin list/describe/offsets/delete groups")
def kafka_python_admin_groups():
    from kafka.admin import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    groups = wait_for("the group to be listed",
                      lambda: [g for g in kp_listed(a) if g[0] == KP_GROUP])
    assert groups[0][1] == "consumer", groups
    assert kp_described(a, KP_GROUP) == (KP_GROUP, "Empty")
    assert kp_committed_total(a, KP_GROUP) == CONSUMED
    kp_delete(a, KP_GROUP)
    assert KP_GROUP not in [g[0] for g in kp_listed(a)]
    a.close()


finish()
