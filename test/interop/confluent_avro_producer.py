"""Produces records with Python's confluent-kafka (librdkafka) and its schema-registry AvroSerializer, configured as
docs/events.md tells a Python producer to be: no auto-registration, the subject's latest version, a UTF-8 string key.

usage: python confluent_avro_producer.py BROKERS REGISTRY_URL COMPRESSION < records
stdin: one JSON object a line, {"topic": ..., "key": ..., "value": {the Avro record}, "schema": the topic's schema text};
prints "sent N" once every record is acknowledged, else exits 1 with the errors on stderr. Each stage is said on
stderr as it starts, so that a run killed for taking too long (test/interop/run-process.ts) says where it was.
"""
import json
import os
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

brokers, registry_url, compression = sys.argv[1:4]
# Seconds; the client retries a request that times out (max.retries, 3 by default).
REGISTRY_REQUEST_TIMEOUT_S = 10
# A bound on each request, as docs/events.md advises: without one the client (httpx, timeout None) waits forever for an
# answer that never comes (one run hung 75 s once it had asked for its fourth subject); with it, such a request is retried.
registry = SchemaRegistryClient({"url": registry_url, "timeout": REGISTRY_REQUEST_TIMEOUT_S})
serializers = {}
key_serializer = StringSerializer("utf_8")
# Many records to a batch, so that a batch holds several events of a customer, compressed together.
producer = Producer({"bootstrap.servers": brokers, "compression.type": compression, "enable.idempotence": True, "linger.ms": 100})
errors = []
delivered = 0


def on_delivery(error, _message):
    global delivered
    if error is not None:
        errors.append(str(error))
    else:
        delivered += 1




def stage(what):
    print(what, file=sys.stderr, flush=True)


records = [json.loads(line) for line in sys.stdin if line.strip()]
stage(f"producing {len(records)} records")
for record in records:
    topic = record["topic"]
    first_of_topic = topic not in serializers
    if first_of_topic:
        stage(f"the serializer of {topic} asks the registry for the subject's latest version")
        serializers[topic] = AvroSerializer(registry, record["schema"], conf={"auto.register.schemas": False, "use.latest.version": True})
    value = serializers[topic](record["value"], SerializationContext(topic, MessageField.VALUE))
    if first_of_topic:
        stage(f"the registry answered for {topic}")
    producer.produce(topic, key=key_serializer(record["key"]), value=value, on_delivery=on_delivery)
    producer.poll(0)
stage("flushing: waiting for the acknowledgements")
remaining = producer.flush(60)
if errors or remaining or delivered != len(records):
    print(f"{len(errors)} errors, {remaining} unsent, {delivered} of {len(records)} delivered: {errors[:5]}", file=sys.stderr)
    sys.exit(1)
print(f"sent {delivered}", flush=True)
# Every delivery report is in, so the client's teardown at interpreter exit (librdkafka's destroy) has nothing left
# to deliver and is skipped: two runs of the test hung past its timeout with nothing saying where, and the teardown
# is not what it tests. The stage lines name any other place a run waits.
os._exit(0)
