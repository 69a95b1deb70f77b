"""Bearer JWTs (OIDC-compatible: issuer, audience, JWKS), roles, and the permission matrix.

A token carries ``tenant`` (the province), ``roles``, and for a unit head the ``unit_id`` they answer
for. Any identity provider that signs RS256/ES256 tokens with those claims can be plugged in.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.db import ALL_TENANTS
from shared.errors import DomainError, Forbidden

ROLES = (
    "system_operator", "central_viewer", "province_admin", "planner", "team_leader", "team_member",
    "unit_head", "viewer", "event_subscriber",
)
# Roles whose reach is every province; everyone else sees only the tenant in their token.
CROSS_TENANT_ROLES = {"system_operator", "central_viewer"}

# The permission matrix (also in the README). Keys are permissions; values are the roles granted it.
PERMISSIONS: dict[str, set[str]] = {
    # The system operator runs the platform (replays, dead letters, audit checks) but reads no
    # province's business data; the central viewer reads every province.
    "read": {"central_viewer", "province_admin", "planner", "team_leader", "team_member", "unit_head", "viewer"},
    "units:write": {"province_admin"},
    "plans:write": {"province_admin", "planner"},
    "plans:approve": {"province_admin"},
    "teams:write": {"province_admin", "planner"},
    "inspections:write": {"team_leader", "team_member"},
    "inspections:lead": {"team_leader"},
    "remediation:report": {"unit_head"},
    "remediation:verify": {"team_leader"},
    "officials:read": {"province_admin", "team_leader", "team_member"},
    "audit:read": {"province_admin"},
    "notifications:manage": {"province_admin"},
    "webhooks:manage": {"province_admin", "event_subscriber"},
    "operate": {"system_operator"},
}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@dataclass(frozen=True)
class Principal:
    sub: str
    tenant: str
    roles: frozenset[str]
    name: str = ""
    email: str | None = None
    unit_id: str | None = None
    claims: dict = field(default_factory=dict, compare=False, repr=False)

    def can(self, permission: str) -> bool:
        return bool(self.roles & PERMISSIONS[permission])

    def require(self, permission: str) -> "Principal":
        if not self.can(permission):
            raise Forbidden(f"role(s) {', '.join(sorted(self.roles))} may not {permission}")
        return self

    @property
    def cross_tenant(self) -> bool:
        return bool(self.roles & CROSS_TENANT_ROLES)

    def read_scope(self, requested: str | None = None) -> str:
        """The tenant a read runs as: the token's own, or for central roles the one asked for (or all)."""
        if self.cross_tenant:
            return requested or ALL_TENANTS
        return self.tenant

    def write_scope(self) -> str:
        """The tenant a change runs as; central read-only roles never write tenant data."""
        if self.tenant == ALL_TENANTS or "central_viewer" in self.roles and not (self.roles - {"central_viewer"}):
            raise Forbidden("central viewers are read-only")
        return self.tenant


class VerifiedTokens:
    """A bounded cache of verified tokens, so a signature is checked once per token, not once per request.

    Keyed by the whole token text: a principal is only ever served for the very token it came from (its
    tenant, roles and unit are those of that token). An entry is dropped at the token's ``exp``, and at
    the latest ``max_age`` seconds after it was verified, so keys withdrawn from the JWKS stop being
    honoured as soon as the JWKS client itself would notice.
    """

    def __init__(self, max_entries: int = 4096, max_age: float = 300.0, clock: Callable[[], float] = time.time):
        self.max_entries = max_entries
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if self.clock() >= entry[0]:  # PyJWT refuses a token once now >= exp; so does the cache
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if self.max_entries <= 0:
            return
        exp = principal.claims.get("exp")
        until = self.clock() + self.max_age
        if isinstance(exp, (int, float)):
            until = min(until, float(exp))
        with self._lock:
            self._entries[token] = (until, principal)
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class TokenVerifier:
    def __init__(self, *, issuer: str, audience: str, jwks: str = "", jwks_url: str = "",
                 cache: VerifiedTokens | None = None):
        self.issuer = issuer
        self.audience = audience
        self.cache = cache if cache is not None else VerifiedTokens()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._client = None
        if jwks:
            text = Path(jwks).read_text() if not jwks.lstrip().startswith("{") else jwks
            for key in jwt.PyJWKSet.from_json(text).keys:
                self._keys[key.key_id or ""] = key
        elif jwks_url:
            self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired; None means: verify it."""
        return self.cache.get(token)

    def verify(self, token: str) -> Principal:
        principal = self.cache.get(token)
        if principal is None:
            principal = self._verify(token)
            self.cache.put(token, principal)
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            if self._client is not None:
                key = self._client.get_signing_key_from_jwt(token)
            else:
                key = self._keys.get(header.get("kid") or "") or (next(iter(self._keys.values())) if len(self._keys) == 1 else None)
            if key is None:
                raise Unauthorized("token signed with an unknown key")
            claims = jwt.decode(token, key=key, algorithms=["RS256", "ES256", "PS256"], audience=self.audience,
                                issuer=self.issuer, options={"require": ["exp", "iss", "aud", "sub"]})
        except Unauthorized:
            raise
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        roles = claims.get("roles") or []
        tenant = claims.get("tenant")
        if not tenant or not isinstance(roles, list) or not set(roles) <= set(ROLES):
            raise Unauthorized("token lacks a tenant or carries unknown roles")
        return Principal(sub=claims["sub"], tenant=str(tenant), roles=frozenset(roles), name=claims.get("name", ""),
                         email=claims.get("email"), unit_id=claims.get("unit_id"), claims=claims)


# -- local keys and tokens (development, tests, the demo stack) -----------------------------------
@dataclass
class LocalIssuer:
    private_pem: bytes
    kid: str
    issuer: str = "urn:inspection:local"
    audience: str = "inspection-platform"

    @classmethod
    def generate(cls, **kw) -> "LocalIssuer":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(private_pem=pem, kid=uuid.uuid4().hex[:16], **kw)

    def jwks(self) -> str:
        public = serialization.load_pem_private_key(self.private_pem, None).public_key()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return json.dumps({"keys": [jwk]})

    def issue(self, *, tenant: str, roles: list[str], sub: str | None = None, name: str = "", unit_id: str | None = None,
              email: str | None = None, ttl: int = 12 * 3600) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": sub or f"user-{uuid.uuid4().hex[:8]}", "iat": now,
                  "exp": now + ttl, "tenant": tenant, "roles": roles, "name": name}
        if unit_id:
            claims["unit_id"] = unit_id
        if email:
            claims["email"] = email
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid})

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "signing-key.pem").write_bytes(self.private_pem)
        (directory / "kid").write_text(self.kid)
        (directory / "jwks.json").write_text(self.jwks())

    @classmethod
    def load_or_create(cls, directory: Path, **kw) -> "LocalIssuer":
        if (directory / "signing-key.pem").exists():
            return cls(private_pem=(directory / "signing-key.pem").read_bytes(), kid=(directory / "kid").read_text().strip(), **kw)
        issuer = cls.generate(**kw)
        issuer.save(directory)
        return issuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.auth", description="Local signing keys and tokens")
    parser.add_argument("--keys", default=".local/jwt", help="directory of the local signing key")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init-keys", help="create the local signing key and JWKS")
    issue = sub.add_parser("issue", help="print a bearer token")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--role", action="append", required=True, choices=ROLES)
    issue.add_argument("--sub", default=None)
    issue.add_argument("--name", default="")
    issue.add_argument("--unit-id", default=None)
    issue.add_argument("--email", default=None)
    issue.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    issuer = LocalIssuer.load_or_create(Path(args.keys))
    if args.cmd == "init-keys":
        print(Path(args.keys) / "jwks.json")
    else:
        print(issuer.issue(tenant=args.tenant, roles=args.role, sub=args.sub, name=args.name, unit_id=args.unit_id,
                           email=args.email, ttl=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
