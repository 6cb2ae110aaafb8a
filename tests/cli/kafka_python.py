"""kafka-python (a client written in Python, not on librdkafka) for the CLI tests.

python3 kafka_python.py BOOTSTRAP TOPIC produce   < lines "key<TAB>value"  (default partitioner)
python3 kafka_python.py BOOTSTRAP TOPIC consume N > JSON lines {partition, offset, key, value, headers} (hex)
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def produce(bootstrap, topic):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1)
    for line in sys.stdin.read().splitlines():
        key, value = line.split("\t", 1)
        producer.send(topic, key=key.encode(), value=value.encode())
    producer.flush(timeout=60)
    producer.close()


def consume(bootstrap, topic, count):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=60000)
    partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    seen = 0
    for m in consumer:
        hexed = lambda b: None if b is None else b.hex()
        print(json.dumps({
            "partition": m.partition, "offset": m.offset,
            "key": hexed(m.key), "value": hexed(m.value),
            "headers": [[k, hexed(v)] for k, v in (m.headers or [])],
        }))
        seen += 1
        if seen >= count:
            break
    consumer.close()


if __name__ == "__main__":
    bootstrap, topic, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "produce":
        produce(bootstrap, topic)
    else:
        consume(bootstrap, topic, int(sys.argv[4]))
