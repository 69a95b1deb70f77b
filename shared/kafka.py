"""The one place that configures librdkafka: producers, consumers, topic creation."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic

from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

DLT_SUFFIX = ".dlt"
GONE = object()  # what describe_topics says of a topic the broker does not know


@dataclass(frozen=True)
class Incarnation:
    """One life of a topic on the broker: its id (None where the broker gives none) and its partitions.

    A topic deleted and made again -- a broker restarted without its log, as Tansu's memory storage is
    on every start -- has a new id: whatever was in the old one is gone, whatever its partitions and
    offsets look like. A broker restarted with its log keeps every id.
    """
    topic_id: str | None
    partitions: frozenset[int]


def _topic_id(uuid) -> str | None:
    # Brokers without topic ids (before Kafka 2.8) answer the zero id: incarnations cannot be told apart.
    if uuid is None or not (uuid.get_most_significant_bits() or uuid.get_least_significant_bits()):
        return None
    return str(uuid)


class TopicLookup:
    """Asks the broker about topics, on one admin client made at the first question."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self._admin: AdminClient | None = None

    def describe(self, topics: list[str], timeout: float = 5.0) -> dict[str, "Incarnation | object"]:
        """Each topic the broker answered about: its Incarnation, or GONE when it does not know the topic.
        Topics it gave no answer about (the broker is away) are left out."""
        if self._admin is None:
            self._admin = AdminClient(base_config(self.settings))
        return _describe(self._admin, topics, timeout)


def _describe(admin: AdminClient, topics: list[str], timeout: float) -> dict[str, "Incarnation | object"]:
    found: dict[str, Incarnation | object] = {}
    if not topics:
        return found
    try:
        futures = admin.describe_topics(TopicCollection(list(topics)), request_timeout=timeout)
    except KafkaException as exc:
        log.info("topics not described: the broker does not answer", extra={"fields": {"error": str(exc)}})
        return found
    for topic, future in futures.items():
        try:
            described = future.result()
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                found[topic] = GONE
            else:
                log.info("topic not described", extra={"fields": {"topic": topic, "error": str(exc)}})
            continue
        found[topic] = Incarnation(_topic_id(described.topic_id), frozenset(p.id for p in described.partitions))
    return found


def base_config(settings: ServiceSettings) -> dict[str, Any]:
    """Broker address and security: what every client needs."""
    conf: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap}
    # Production adds TLS/SASL here (security.protocol, ssl.ca.location, sasl.*) from the environment.
    for item in filter(None, (p.strip() for p in settings.kafka_security.split(";"))):
        key, _, value = item.partition("=")
        conf[key.strip()] = value.strip()
    return conf


def producer_config(settings: ServiceSettings, client_id: str) -> dict[str, Any]:
    return {
        **base_config(settings),
        "client.id": client_id,
        # Off by default in librdkafka; with it, retries cannot duplicate or reorder within a partition.
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "message.timeout.ms": 15000,
    }


def consumer_config(settings: ServiceSettings, group_id: str) -> dict[str, Any]:
    return {
        **base_config(settings),
        "group.id": group_id,
        "client.id": group_id,
        "partition.assignment.strategy": "cooperative-sticky",
        # Offsets are stored only after the database transaction that applied the messages committed,
        # and committed by the consumer loop itself (not in the background), so that it can hold them
        # back after a broker outage until it knows where to resume (shared/consumer.py).
        "enable.auto.offset.store": False,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.kafka_session_timeout_ms,
        "heartbeat.interval.ms": max(500, settings.kafka_session_timeout_ms // 3),
        "max.poll.interval.ms": 300000,
    }


def make_producer(settings: ServiceSettings, client_id: str) -> Producer:
    return Producer(producer_config(settings, client_id))


def make_consumer(settings: ServiceSettings, group_id: str, **callbacks: Any) -> Consumer:
    """A consumer of the group; ``callbacks`` such as ``error_cb`` go to librdkafka as they are."""
    return Consumer({**consumer_config(settings, group_id), **callbacks})


def ensure_topics(settings: ServiceSettings, topics: list[str], timeout: float = 15.0) -> None:
    """Create the topics (and their dead-letter topics) that do not exist yet."""
    admin = AdminClient(base_config(settings))
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [t for t in topics if t not in existing]
    if not wanted:
        return
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=settings.kafka_partitions, replication_factor=settings.kafka_replication) for t in wanted],
        operation_timeout=timeout,
    )
    for topic, fut in futures.items():
        try:
            fut.result(timeout)
        except Exception as exc:  # a racing creator is fine; anything else is reported
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    log.info("topics created", extra={"fields": {"topics": wanted}})


def broker_ready(settings: ServiceSettings, timeout: float = 2.0) -> bool:
    try:
        AdminClient(base_config(settings)).list_topics(timeout=timeout)
        return True
    except Exception:
        return False
