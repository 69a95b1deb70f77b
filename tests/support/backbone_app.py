"""A minimal service used to test the shared backbone in-process and as a killable child process."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from shared.consumer import EventConsumer
from shared.db import BACKBONE_MIGRATIONS, Database, migrate
from shared.outbox import Outbox, OutboxRelay
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "backbone_migrations"
POISON_YEAR = 2099  # a payload the handler chokes on, standing in for a bug


def setup(url: str) -> None:
    migrate(url, [BACKBONE_MIGRATIONS, MIGRATIONS])


def close_plans(db: Database, outbox: Outbox, tenant: str, n: int, *, year: int = 2026, per_tx: int = 1) -> list[str]:
    """The state change and its event in one transaction (``per_tx`` closures per transaction)."""
    ids = []
    while len(ids) < n:
        with db.tx(tenant) as conn:
            for _ in range(min(per_tx, n - len(ids))):
                plan_id = str(uuid.uuid4())
                conn.execute("INSERT INTO closures (tenant, plan_id) VALUES (%s, %s)", [tenant, plan_id])
                outbox.add(conn, "plan.closed", tenant=tenant,
                           data={"plan_id": plan_id, "version": 1, "year": year, "closed_on": f"{year}-12-31"})
                ids.append(plan_id)
    return ids


def handlers(slow_ms: int = 0):
    def on_closed(conn, event):
        if event.data["year"] == POISON_YEAR:
            raise RuntimeError("cannot close a plan of year 2099")
        conn.execute("INSERT INTO plans_closed (tenant, event_id, plan_id) VALUES (%s, %s, %s)",
                     [event.tenant, event.id, event.data["plan_id"]])
        if slow_ms:
            time.sleep(slow_ms / 1000)

    return {"plan.closed": on_closed}


def consumer(settings: ServiceSettings, slow_ms: int = 0) -> EventConsumer:
    return EventConsumer(name=f"{settings.topic_prefix}backbone.test", service="backbone", settings=settings,
                         handlers=handlers(slow_ms))


def _settings_from_env() -> ServiceSettings:
    return ServiceSettings(database_url=os.environ["BB_DATABASE_URL"], kafka_bootstrap=os.environ["BB_KAFKA"],
                           topic_prefix=os.environ["BB_PREFIX"], consumer_batch_size=int(os.environ.get("BB_BATCH", "50")),
                           relay_batch_size=int(os.environ.get("BB_RELAY_BATCH", "1000")))


if __name__ == "__main__":
    settings = _settings_from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if sys.argv[1] == "consume":
        consumer(settings, int(os.environ.get("BB_SLOW_MS", "0"))).run(stop)
    else:
        OutboxRelay(settings, "backbone").run(stop)
