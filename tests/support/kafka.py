"""Read a topic from the beginning with a throwaway consumer group (what an outside subscriber sees)."""
from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError


def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 30.0) -> list:
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000,
    })
    consumer.subscribe([topic])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is None:
                    out.append(msg)
                elif msg.error().code() not in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    raise RuntimeError(msg.error())
        # drain a little longer to see any extra (duplicate) messages
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            out.extend(m for m in consumer.consume(500, timeout=0.3) if m.error() is None)
    finally:
        consumer.close()
    return out
