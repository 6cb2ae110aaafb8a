"""kafka-python against a three-node cluster: an RF 3 topic with min.insync.replicas=2 is
created, the cluster and the topic are described as Kafka describes them (three brokers, a
controller, each partition with three replicas, a leader among them and a full ISR), and
records produced with acks=all are read back by a consumer group that commits.

Usage: python_cluster.py BOOTSTRAP   (prints one line per check; exits 1 on a failure)
"""

import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from checks import finish, record as check

bootstrap = sys.argv[1]

def field(d, *names):
    """The first of `names` the dict has (kafka-python's versions name fields differently)."""
    for name in names:
        if name in d:
            return d[name]
    raise KeyError(f"none of {names} in {d}")


admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
admin.create_topics(
    [
        NewTopic(
            "py-rf3",
            num_partitions=3,
            replication_factor=3,
            topic_configs={"min.insync.replicas": "2"},
        )
    ]
)
cluster = admin.describe_cluster()
brokers = sorted(field(b, "node_id", "broker_id", "nodeId") for b in cluster["brokers"])
check("describe_cluster lists three brokers", brokers == [0, 1, 2], cluster)
controller = field(cluster, "controller_id", "controllerId")
check("describe_cluster names the controller", controller in brokers, cluster)

deadline = time.time() + 30
partitions = []
while time.time() < deadline:
    topic = admin.describe_topics(["py-rf3"])[0]
    partitions = [
        {
            "partition": field(p, "partition", "partition_index"),
            "leader": field(p, "leader", "leader_id"),
            "replicas": list(field(p, "replicas", "replica_nodes")),
            "isr": list(field(p, "isr", "isr_nodes")),
        }
        for p in topic["partitions"]
    ]
    if len(partitions) == 3 and all(len(p["isr"]) == 3 for p in partitions):
        break
    time.sleep(0.2)
check("three partitions", len(partitions) == 3, partitions)
for p in sorted(partitions, key=lambda p: p["partition"]):
    ok = (
        sorted(p["replicas"]) == [0, 1, 2]
        and p["leader"] in p["replicas"]
        and sorted(p["isr"]) == [0, 1, 2]
    )
    check(f"partition {p['partition']}: replicas, leader and ISR", ok, p)
leaders = {p["leader"] for p in partitions}
check("leaders spread over the brokers", len(leaders) == 3, partitions)

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(300):
    producer.send("py-rf3", key=f"k{i}".encode(), value=f"v{i}".encode())
producer.flush(30)
producer.close()

consumer = KafkaConsumer(
    "py-rf3",
    bootstrap_servers=bootstrap,
    group_id="py-cluster",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=20000,
)
seen = set()
for message in consumer:
    seen.add(message.value)
    if len(seen) == 300:
        break
consumer.commit()
committed = sum(
    consumer.committed(tp) or 0 for tp in consumer.assignment()
)
consumer.close()
check("acks=all records read back by a group", len(seen) == 300, len(seen))
check("the group's commits cover them", committed == 300, committed)

finish()
