"""Webhooks: the CloudEvent in structured JSON, signed over a timestamp and the body, posted with a timeout.

Receivers verify ``X-Signature: sha256=HMAC(secret, f"{X-Timestamp}.{body}")``, reject timestamps far
from their clock (replays), and drop duplicates by ``X-Event-Id`` (the CloudEvent id): a delivery whose
worker died mid-send is posted again with the same id.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
EVENT_ID_HEADER = "X-Event-Id"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def new_secret() -> str:
    """A fresh signing secret (returned once, when the subscription is created)."""
    return secrets.token_urlsafe(32)


def body_of(cloud_event: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(cloud_event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """'sha256=<hex>' of HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """What a receiver does: a correct signature over a timestamp no older (or newer) than ``tolerance``."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def headers(secret: str, body: bytes, *, event_id: str, delivery_id: str, subscription_id: str,
            timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": CONTENT_TYPE,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, ts, body),
        EVENT_ID_HEADER: event_id,
        "X-Delivery-Id": delivery_id,
        "X-Webhook-Id": subscription_id,
        "User-Agent": "inspection-platform-notifications/1.0",
    }


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def post(url: str, body: bytes, hdrs: dict[str, str], timeout: float) -> PostResult:
    """POST once; any 2xx is success, everything else (or no answer) a failure to retry."""
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=hdrs)
        ms = int((time.monotonic() - started) * 1000)
        if 200 <= response.status_code < 300:
            return PostResult(True, response.status_code, None, ms)
        return PostResult(False, response.status_code, f"HTTP {response.status_code}: {response.text[:300]}", ms)
    except httpx.HTTPError as exc:
        return PostResult(False, None, f"{type(exc).__name__}: {exc}", int((time.monotonic() - started) * 1000))
