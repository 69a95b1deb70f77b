"""The composition root of one service process: settings, database, outbox, token verifier, clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from shared.auth import TokenVerifier
from shared.db import Database
from shared.outbox import Outbox
from shared.settings import ServiceSettings


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    service: str
    settings: ServiceSettings
    db: Database
    outbox: Outbox
    verifier: TokenVerifier
    # Tests swap the clock to drive deadlines; nothing reads datetime.now() directly.
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, service: str, settings: ServiceSettings, *, pool_size: int | None = None) -> "Runtime":
        return cls(
            service=service,
            settings=settings,
            db=Database(settings.database_url, max_size=pool_size or settings.db_pool_size, name=service),
            outbox=Outbox(service, settings.topic_prefix),
            verifier=TokenVerifier(issuer=settings.jwt_issuer, audience=settings.jwt_audience, jwks=settings.jwks,
                                   jwks_url=settings.jwks_url),
        )

    def open(self) -> "Runtime":
        self.db.open()
        return self

    def close(self) -> None:
        self.db.close()
