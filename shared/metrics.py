"""Prometheus metrics every service exposes; names are the same in every service."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_seconds", "HTTP request latency", ["service", "route"])
EVENTS_PRODUCED = Counter("events_produced_total", "Events published to Kafka", ["service", "type"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["service", "consumer", "type"])
EVENTS_DUPLICATE = Counter("events_duplicate_total", "Events skipped as already processed", ["service", "consumer"])
DEAD_LETTERS = Counter("dead_letters_total", "Messages sent to a dead-letter topic", ["service", "consumer"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic", "partition"])
EVENTS_REPUBLISHED = Counter("events_republished_total", "Published events the broker lost, queued again by the relay",
                             ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox events not yet published", ["service"])
