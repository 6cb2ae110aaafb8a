"""Transaction checks with the Python clients: confluent-kafka (librdkafka) and, when the
installed version has a transactional producer, kafka-python.

Usage: python_transactions.py BOOTSTRAP TAG
Each client produces in transactions, commits one with offsets sent to a consumer group,
aborts another, then a read_committed consumer reads back exactly the committed records and a
read_uncommitted one sees the aborted ones too. Prints one line per check and a closing
'N passed, M failed'; exits non-zero on any failure.
"""
import sys
import time

from checks import check, finish, skip

BOOTSTRAP, TAG = sys.argv[1], sys.argv[2]




def read_back(topic, isolation):
    """Every value of partition 0 of `topic` up to its end, as a consumer at `isolation` sees it."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    c = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "broker.address.family": "v4",
        "group.id": f"py-txn-reader-{TAG}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": isolation,
    })
    c.assign([TopicPartition(topic, 0, 0)])
    seen, deadline = [], time.time() + 30
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                c.close()
                return seen
            raise RuntimeError(m.error())
        seen.append(m.value().decode())
    c.close()
    raise RuntimeError(f"never reached the end of {topic}: {seen}")


def create(topic):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4"})
    for f in a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        f.result()


@check("confluent-kafka transactional produce, send_offsets, commit and abort")
def confluent_transactions():
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic = f"py-txn-{TAG}"
    create(topic)
    group = f"py-txn-group-{TAG}"
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4",
                         "group.id": group, "enable.auto.commit": False})
    p = Producer({"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4",
                  "transactional.id": f"py-txn-{TAG}"})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"committed-{i}".encode())
    p.send_offsets_to_transaction([TopicPartition(topic, 0, 10)],
                                  consumer.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, value=f"aborted-{i}".encode())
    p.flush(30)
    p.abort_transaction(30)
    committed = read_back(topic, "read_committed")
    assert committed == [f"committed-{i}" for i in range(10)], committed
    everything = read_back(topic, "read_uncommitted")
    assert len(everything) == 15, everything
    offsets = consumer.committed([TopicPartition(topic, 0)], timeout=30)
    assert offsets[0].offset == 10, offsets
    consumer.close()


def kafka_python_has_transactions():
    try:
        from kafka import KafkaProducer
        return hasattr(KafkaProducer, "begin_transaction")
    except ImportError:
        return False


def kafka_python_transactions():
    from kafka import KafkaProducer
    topic = f"kp-txn-{TAG}"
    create(topic)
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=f"kp-txn-{TAG}")
    p.init_transactions()
    p.begin_transaction()
    for i in range(4):
        p.send(topic, f"kp-committed-{i}".encode())
    p.commit_transaction()
    p.begin_transaction()
    p.send(topic, b"kp-aborted")
    p.flush()
    p.abort_transaction()
    p.close()
    committed = read_back(topic, "read_committed")
    assert committed == [f"kp-committed-{i}" for i in range(4)], committed


if kafka_python_has_transactions():
    check("kafka-python transactional produce, commit and abort")(kafka_python_transactions)
else:
    skip(1, "kafka-python transactions: this kafka-python has no transactional producer")

finish()
