"""One fixture group per external dependency: PostgreSQL, the Kafka-protocol broker, Redis, tokens.

Each picks, in order: a URL from the environment (DATABASE_ADMIN_URL, KAFKA_BOOTSTRAP, REDIS_URL),
testcontainers where a Docker engine answers, then local or embedded servers (infra/servers.py).
Tests isolate themselves by tenant, ids and a topic prefix of their own, never by order.
"""
from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from infra import servers  # noqa: E402
from shared.auth import LocalIssuer  # noqa: E402
from shared.db import drop_database, provision  # noqa: E402

RUN_ID = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def pg_admin_url():
    url, handle = servers.postgres_admin_url()
    yield url
    servers.stop_quietly(handle)


@pytest.fixture(scope="session")
def kafka_broker():
    """The broker; a Tansu handle (restartable) when the suite started its own."""
    bootstrap, handle = servers.kafka_bootstrap()
    yield handle if isinstance(handle, servers.Tansu) else type("External", (), {"bootstrap": bootstrap})()
    servers.stop_quietly(handle)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker):
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def redis_url():
    url, handle = servers.redis_url()
    yield url
    servers.stop_quietly(handle)


@pytest.fixture(scope="session")
def issuer():
    return LocalIssuer.generate()


@pytest.fixture(scope="session")
def make_database(pg_admin_url):
    """Factory: a fresh database owned by a non-superuser role (so row-level security applies)."""
    created: list[str] = []

    def make(service: str) -> str:
        name = f"t_{service}_{RUN_ID}_{len(created)}"
        created.append(name)
        return provision(pg_admin_url, name, f"svc_{service}")

    yield make
    for name in created:
        try:
            drop_database(pg_admin_url, name)
        except Exception:
            pass


@pytest.fixture
def topic_prefix():
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def tenant():
    return f"tenant-{uuid.uuid4().hex[:8]}"


from tests.support.service import module_service_harness, service_harness  # noqa: E402,F401  (fixtures)
