"""CloudEvents 1.0 envelope with a ``tenant`` extension, mapped to Kafka headers (binary mode)."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shared.ids import new_uuid

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# Attributes carried as ce_<name> headers; datacontenttype travels as the plain content-type header.
_CE_ATTRIBUTES = ("id", "source", "specversion", "type", "time", "subject", "dataschema", "tenant", "traceparent")


class EnvelopeError(ValueError):
    """A Kafka message that is not a valid CloudEvent of ours."""


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    tenant: str
    subject: str
    data: dict[str, Any]
    dataschema: str
    id: str = field(default_factory=lambda: str(new_uuid()))
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    traceparent: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers in CloudEvents binary content mode."""
        out = [("content-type", self.datacontenttype.encode())]
        for name in _CE_ATTRIBUTES:
            value = getattr(self, name)
            if value is not None:
                out.append((f"ce_{name}", str(value).encode("utf-8")))
        return out

    def value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_kafka(cls, headers: list[tuple[str, bytes]] | None, value: bytes | None) -> "Event":
        """Rebuild an event from a Kafka message; raises EnvelopeError on anything malformed."""
        attrs: dict[str, str] = {}
        content_type = None
        for name, raw in headers or []:
            try:
                text = raw.decode("utf-8") if raw is not None else ""
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {name} is not UTF-8") from exc
            if name == "content-type":
                content_type = text
            elif name.startswith("ce_"):
                attrs[name[3:]] = text
        missing = [a for a in ("id", "source", "specversion", "type", "tenant", "dataschema") if not attrs.get(a)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
        if attrs["specversion"] != SPECVERSION:
            raise EnvelopeError(f"unsupported specversion {attrs['specversion']}")
        if content_type and not content_type.startswith(CONTENT_TYPE):
            raise EnvelopeError(f"unsupported content-type {content_type}")
        try:
            data = json.loads(value.decode("utf-8")) if value else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"payload is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("payload is not a JSON object")
        try:
            event_id = str(uuid.UUID(attrs["id"]))  # canonical, so equal ids compare equal as text
        except ValueError as exc:
            raise EnvelopeError("ce_id is not a UUID") from exc
        return cls(
            type=attrs["type"],
            source=attrs["source"],
            tenant=attrs["tenant"],
            subject=attrs.get("subject", ""),
            data=data,
            dataschema=attrs["dataschema"],
            id=event_id,
            time=attrs.get("time", ""),
            specversion=attrs["specversion"],
            datacontenttype=content_type or CONTENT_TYPE,
            traceparent=attrs.get("traceparent"),
        )

    def to_record(self) -> dict[str, Any]:
        """Structured-mode JSON, for logs, dead-letter listings and webhooks."""
        rec = {name: getattr(self, name) for name in _CE_ATTRIBUTES if getattr(self, name) is not None}
        rec["datacontenttype"] = self.datacontenttype
        rec["data"] = self.data
        return rec
