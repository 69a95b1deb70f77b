"""A service's definition and the command line every service shares (``python -m services.<name>``)."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fastapi import FastAPI

from shared.consumer import EventConsumer, Handler
from shared.db import BACKBONE_MIGRATIONS, migrate
from shared.kafka import ensure_topics
from shared.logging import configure_logging
from shared.outbox import OutboxRelay, replay
from shared.events import CATALOGUE
from shared.runtime import Runtime
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class ServiceDefinition:
    name: str
    settings_cls: type[ServiceSettings]
    migrations: Path
    create_app: Callable[[Runtime], FastAPI]
    # consumer group name -> factory of {event type: handler} given the runtime
    consumers: dict[str, Callable[[Runtime], dict[str, Handler]]] = field(default_factory=dict)
    celery: str | None = None  # "module:attribute" of the Celery app, if the service has scheduled work

    def settings(self) -> ServiceSettings:
        return self.settings_cls()

    def runtime(self, settings: ServiceSettings | None = None) -> Runtime:
        return Runtime.build(self.name, settings or self.settings())

    def migrate(self, settings: ServiceSettings | None = None) -> list[str]:
        return migrate((settings or self.settings()).database_url, [BACKBONE_MIGRATIONS, self.migrations])

    def produced_topics(self, settings: ServiceSettings) -> list[str]:
        return [settings.topic_prefix + f for f in CATALOGUE.families(producer=self.name)]

    def consumer(self, group: str, runtime: Runtime) -> EventConsumer:
        return EventConsumer(name=f"{runtime.settings.topic_prefix}{self.name}.{group}", service=self.name,
                             settings=runtime.settings, handlers=self.consumers[group](runtime))

    def relay(self, settings: ServiceSettings) -> OutboxRelay:
        return OutboxRelay(settings, self.name)


def _run_until_signal(targets: list[Callable[[threading.Event], None]]) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=t, args=(stop,), daemon=True) for t in targets]
    for t in threads:
        t.start()
    while not stop.is_set() and all(t.is_alive() for t in threads):
        stop.wait(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=20)


def main(definition: ServiceDefinition, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{definition.name}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create or upgrade this service's tables")
    sub.add_parser("api", help="serve the HTTP API")
    sub.add_parser("relay", help="publish the outbox to Kafka")
    consume = sub.add_parser("consume", help="run event consumers (all, or the named ones)")
    consume.add_argument("groups", nargs="*")
    sub.add_parser("workers", help="relay and every consumer in one process (local stack)")
    rp = sub.add_parser("replay", help="re-publish a range of already published events from the outbox")
    rp.add_argument("--from-seq", type=int)
    rp.add_argument("--to-seq", type=int)
    rp.add_argument("--since", help="ISO timestamp")
    rp.add_argument("--until", help="ISO timestamp")
    rp.add_argument("--type", action="append", dest="types")
    rp.add_argument("--tenant")
    dl = sub.add_parser("dead-letters", help="list or replay dead letters of a consumer")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--group", required=True)
    dl.add_argument("--id", type=int, action="append", dest="ids")
    sub.add_parser("openapi", help="print the OpenAPI document")
    sub.add_parser("audit-verify", help="seal and verify the audit trail's hash chain (exit 1 if broken)")
    args = parser.parse_args(argv)

    settings = definition.settings()
    configure_logging(definition.name, settings.log_level)
    if settings.worker_metrics_port and args.cmd in ("relay", "consume", "workers"):
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.api_host)

    if args.cmd == "migrate":
        print(json.dumps({"applied": definition.migrate(settings)}))
    elif args.cmd == "api":
        from shared.serving import serve

        serve(definition, settings)
    elif args.cmd in ("relay", "consume", "workers"):
        targets: list[Callable[[threading.Event], None]] = []
        if args.cmd in ("relay", "workers"):
            ensure_topics(settings, definition.produced_topics(settings))
            targets.append(definition.relay(settings).run)
        if args.cmd in ("consume", "workers"):
            runtime = definition.runtime(settings).open()
            for group in (getattr(args, "groups", None) or list(definition.consumers)):
                targets.append(definition.consumer(group, runtime).run)
        _run_until_signal(targets)
    elif args.cmd == "replay":
        n = replay(settings.database_url, from_seq=args.from_seq, to_seq=args.to_seq, since=args.since, until=args.until,
                   types=args.types, tenant=args.tenant)
        print(json.dumps({"marked_for_republication": n}))
    elif args.cmd == "dead-letters":
        runtime = definition.runtime(settings).open()
        consumer = definition.consumer(args.group, runtime)
        if args.action == "replay":
            print(json.dumps(consumer.replay_dead_letters(args.ids)))
        else:
            with runtime.db.tx("*") as conn:
                rows = conn.execute("SELECT id, topic, kafka_partition, kafka_offset, reason, created_at, replayed_at "
                                    "FROM dead_letters WHERE consumer = %s ORDER BY id", [consumer.name]).fetchall()
            print(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
    elif args.cmd == "audit-verify":
        from shared.audit import verify

        result = verify(settings.database_url)
        print(json.dumps(result))
        return 0 if result["ok"] else 1
    elif args.cmd == "openapi":
        print(json.dumps(definition.create_app(definition.runtime(settings)).openapi(), ensure_ascii=False, indent=1))
    return 0


def run(definition: ServiceDefinition) -> None:
    sys.exit(main(definition))
