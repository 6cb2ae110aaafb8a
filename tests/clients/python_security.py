"""Secured listeners with the Python clients: confluent-kafka (librdkafka) and kafka-python.

Usage: python_security.py BOOTSTRAP TAG SETTINGS_JSON
SETTINGS_JSON holds what both clients need: protocol (SASL_PLAINTEXT, SSL, SASL_SSL), and as
the protocol asks mechanism, username, password, ca (PEM file), cert and key (PEM files for
mTLS). Each client produces and reads back records, and a wrong password must be refused.
Prints one line per check and a closing 'N passed, M failed'; exits non-zero on any failure.
"""
import json
import sys
import time

from checks import check, finish

BOOTSTRAP, TAG, SETTINGS = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
RECORDS = 200




def confluent_config(password=None):
    s = SETTINGS
    c = {"bootstrap.servers": BOOTSTRAP, "broker.address.family": "v4",
         "security.protocol": s["protocol"]}
    if "mechanism" in s:
        c.update({"sasl.mechanism": s["mechanism"], "sasl.username": s["username"],
                  "sasl.password": password or s["password"]})
    if "ca" in s:
        c["ssl.ca.location"] = s["ca"]
    if "cert" in s:
        c.update({"ssl.certificate.location": s["cert"], "ssl.key.location": s["key"]})
    return c


def kafka_python_config(password=None):
    s = SETTINGS
    c = {"bootstrap_servers": BOOTSTRAP, "security_protocol": s["protocol"]}
    if "mechanism" in s:
        c.update({"sasl_mechanism": s["mechanism"], "sasl_plain_username": s["username"],
                  "sasl_plain_password": password or s["password"]})
    if "ca" in s:
        c.update({"ssl_cafile": s["ca"], "ssl_check_hostname": True})
    if "cert" in s:
        c.update({"ssl_certfile": s["cert"], "ssl_keyfile": s["key"]})
    return c


@check("confluent-kafka produces and consumes")
def confluent_round_trip():
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic = f"py-sec-ck-{TAG}"
    p = Producer({**confluent_config(), "acks": "all", "linger.ms": 5})
    errors = []
    for i in range(RECORDS):
        p.produce(topic, value=f"value-{i}".encode(), on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(30) == 0, "unflushed records"
    assert not errors, errors
    c = Consumer({**confluent_config(), "group.id": f"py-sec-{TAG}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = []
    deadline = time.time() + 60
    while len(seen) < RECORDS and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        seen.append(m.value())
    c.close()
    assert seen == [f"value-{i}".encode() for i in range(RECORDS)], f"read {len(seen)}"


@check("kafka-python produces and consumes")
def kafka_python_round_trip():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic = f"py-sec-kp-{TAG}"
    p = KafkaProducer(acks="all", **kafka_python_config())
    for i in range(RECORDS):
        p.send(topic, value=f"value-{i}".encode())
    p.flush(30)
    p.close()
    c = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=30000, **kafka_python_config())
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    seen = []
    for m in c:
        seen.append(m.value)
        if len(seen) == RECORDS:
            break
    c.close()
    assert seen == [f"value-{i}".encode() for i in range(RECORDS)], f"read {len(seen)}"


if "mechanism" in SETTINGS:
    @check("a wrong password is refused (confluent-kafka)")
    def confluent_wrong_password():
        from confluent_kafka.admin import AdminClient
        a = AdminClient(confluent_config("wrong-python-pw-1"))
        try:
            a.list_topics(timeout=5)
        except Exception as e:
            assert "uthentication" in str(e) or "timed out" in str(e).lower() or "Broker" in str(e), e
            return
        raise AssertionError("metadata with a wrong password")

    @check("a wrong password is refused (kafka-python)")
    def kafka_python_wrong_password():
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError
        try:
            c = KafkaConsumer(**kafka_python_config("wrong-python-pw-2"), request_timeout_ms=6000,
                              api_version_auto_timeout_ms=6000)
            c.topics()
        except KafkaError:
            return
        raise AssertionError("topics with a wrong password")

finish()
