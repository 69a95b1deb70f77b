"""The session: a small signed cookie (HMAC-SHA256) holding the user's bearer token and language."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

COOKIE = "console_session"


class SessionCodec:
    """Signs and checks the cookie; a tampered, foreign or expired cookie reads as an empty session."""

    def __init__(self, secret: str, max_age: int):
        self.key = (secret or secrets.token_hex(32)).encode()
        self.max_age = max_age

    def dumps(self, data: dict[str, Any]) -> str:
        """The signed cookie value for a session."""
        payload = base64.urlsafe_b64encode(json.dumps({**data, "_t": int(time.time())}, ensure_ascii=False).encode())
        return payload.decode() + "." + self._sign(payload)

    def loads(self, cookie: str | None) -> dict[str, Any]:
        """The session in a cookie, or {} when it is not ours or too old."""
        if not cookie or "." not in cookie:
            return {}
        payload, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload.encode())):
            return {}
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError:
            return {}
        if int(time.time()) - int(data.pop("_t", 0)) > self.max_age:
            return {}
        return data

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class User:
    """Who is signed in, read from the token's claims for display only: every service verifies the token itself."""
    token: str
    sub: str
    name: str
    tenant: str
    roles: frozenset[str]
    unit_id: str | None = None
    claims: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_token(cls, token: str) -> "User | None":
        """The user a bearer token names, or None for a malformed or expired token."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if claims.get("exp") and claims["exp"] < time.time():
            return None
        return cls(token=token, sub=str(claims.get("sub", "")), name=claims.get("name") or claims.get("sub", ""),
                   tenant=str(claims.get("tenant", "")), roles=frozenset(claims.get("roles") or []),
                   unit_id=claims.get("unit_id"), claims=claims)

    def has(self, *roles: str) -> bool:
        """Whether the user holds any of the roles."""
        return bool(self.roles & set(roles))

    @property
    def central(self) -> bool:
        """Whether the user reads every province."""
        return self.has("central_viewer", "system_operator")

    @property
    def home(self) -> str:
        """The page a role lands on after signing in."""
        if self.has("team_leader", "team_member"):
            return "/inspections"
        if self.has("planner"):
            return "/plans"
        if self.has("unit_head") and not self.has("province_admin"):
            return "/remediations"
        return "/dashboard"
