"""The catalogue of event types: one closed, versioned JSON Schema per type in ``schemas/``.

Each schema names its topic family (``x-topic``), the payload field that is the Kafka key and the
aggregate id (``x-key``), and the service that produces it (``x-producer``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from shared.events.envelope import Event

SCHEMA_DIR = Path(__file__).parent / "schemas"
_FILE = re.compile(r"^(?P<type>[a-z_]+\.[a-z_]+)\.v(?P<version>\d+)\.json$")


class SchemaError(ValueError):
    """A payload does not match the schema of its event type and version."""


@dataclass(frozen=True)
class EventType:
    type: str
    version: int
    topic_family: str
    key_field: str
    producer: str
    description: str
    schema: dict[str, Any]

    @property
    def dataschema(self) -> str:
        return self.schema["$id"]

    @cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema, format_checker=FormatChecker())


class Catalogue:
    def __init__(self, directory: Path = SCHEMA_DIR):
        self._by_schema: dict[str, EventType] = {}
        self._latest: dict[str, EventType] = {}
        for path in sorted(directory.glob("*.json")):
            match = _FILE.match(path.name)
            if not match:
                raise ValueError(f"schema file name {path.name} is not <type>.v<N>.json")
            schema = json.loads(path.read_text(encoding="utf-8"))
            et = EventType(
                type=match["type"],
                version=int(match["version"]),
                topic_family=schema["x-topic"],
                key_field=schema["x-key"],
                producer=schema["x-producer"],
                description=schema.get("description", ""),
                schema=schema,
            )
            self._by_schema[et.dataschema] = et
            if et.type not in self._latest or self._latest[et.type].version < et.version:
                self._latest[et.type] = et

    def types(self) -> list[EventType]:
        return [self._latest[t] for t in sorted(self._latest)]

    def latest(self, event_type: str) -> EventType:
        try:
            return self._latest[event_type]
        except KeyError:
            raise SchemaError(f"unknown event type {event_type!r}") from None

    def families(self, producer: str | None = None) -> list[str]:
        return sorted({et.topic_family for et in self._latest.values() if producer in (None, et.producer)})

    def topic(self, event_type: str, prefix: str = "") -> str:
        return prefix + self.latest(event_type).topic_family

    def new_event(self, event_type: str, *, tenant: str, source: str, data: dict[str, Any],
                  subject: str | None = None, traceparent: str | None = None) -> Event:
        """Build an event of the latest version of ``event_type``; raises SchemaError when invalid."""
        et = self.latest(event_type)
        self._check(et, data)
        return Event(
            type=event_type, source=source, tenant=tenant, data=data, dataschema=et.dataschema,
            subject=subject if subject is not None else str(data[et.key_field]), traceparent=traceparent,
        )

    def validate(self, event: Event) -> EventType:
        """Validate a consumed event against the schema version it names."""
        et = self._by_schema.get(event.dataschema)
        if et is None:
            raise SchemaError(f"unknown dataschema {event.dataschema!r}")
        if et.type != event.type:
            raise SchemaError(f"dataschema {event.dataschema} is not for type {event.type}")
        self._check(et, event.data)
        return et

    def key(self, event: Event) -> str:
        return str(event.data[self.latest(event.type).key_field])

    @staticmethod
    def _check(et: EventType, data: dict[str, Any]) -> None:
        errors = sorted(et.validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(payload)"
            raise SchemaError(f"{et.type} v{et.version}: {where}: {first.message}")


CATALOGUE = Catalogue()
