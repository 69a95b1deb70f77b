"""A service under test: its own fresh database, topic prefix, runtime, HTTP client, tokens, loops.

    def test_x(service_harness):
        plans = service_harness(PLANS)           # migrated, API ready
        plans.start_workers()                    # relay + consumers in threads
        r = plans.client.post("/v1/...", headers=plans.auth("tenant", "planner"), json=...)
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import LocalIssuer
from shared.runtime import Runtime
from shared.service import ServiceDefinition


@dataclass
class ServiceHarness:
    definition: ServiceDefinition
    runtime: Runtime
    client: TestClient
    issuer: LocalIssuer
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def settings(self):
        return self.runtime.settings

    def token(self, tenant: str, *roles: str, **claims: Any) -> str:
        return self.issuer.issue(tenant=tenant, roles=list(roles), **claims)

    def auth(self, tenant: str, *roles: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, *roles, **claims)}"}

    def _spawn(self, target) -> None:
        t = threading.Thread(target=target, args=(self.stop,), daemon=True)
        t.start()
        self.threads.append(t)

    def start_relay(self) -> None:
        self._spawn(self.definition.relay(self.settings).run)

    def start_consumers(self, *groups: str) -> None:
        for group in groups or list(self.definition.consumers):
            self._spawn(self.definition.consumer(group, self.runtime).run)

    def start_workers(self) -> None:
        self.start_relay()
        self.start_consumers()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        self.client.close()
        self.runtime.close()


def _factory(make_database, kafka_bootstrap, redis_url, issuer, topic_prefix):
    made: list[ServiceHarness] = []

    def build(definition: ServiceDefinition, **overrides: Any) -> ServiceHarness:
        url = make_database(definition.name)
        settings = definition.settings_cls(
            database_url=url, kafka_bootstrap=kafka_bootstrap, redis_url=redis_url, topic_prefix=topic_prefix,
            jwks=issuer.jwks(), jwt_issuer=issuer.issuer, jwt_audience=issuer.audience, relay_poll_seconds=0.5,
            **overrides,
        )
        definition.migrate(settings)
        runtime = definition.runtime(settings).open()
        client = TestClient(definition.create_app(runtime, manage_runtime=False), raise_server_exceptions=False)
        harness = ServiceHarness(definition, runtime, client, issuer)
        made.append(harness)
        return harness

    return build, made


@pytest.fixture
def service_harness(make_database, kafka_bootstrap, redis_url, issuer, topic_prefix):
    """Factory fixture; services built in one test share the topic prefix, so they hear each other."""
    build, made = _factory(make_database, kafka_bootstrap, redis_url, issuer, topic_prefix)
    yield build
    for h in made:
        h.close()


@pytest.fixture(scope="module")
def module_service_harness(make_database, kafka_bootstrap, redis_url, issuer):
    """The same factory, shared by the tests of one module (for worlds that are costly to build)."""
    import uuid

    build, made = _factory(make_database, kafka_bootstrap, redis_url, issuer, f"m{uuid.uuid4().hex[:8]}.")
    yield build
    for h in made:
        h.close()
