"""The verified-token cache: a signature is checked once per token, but a cached token never outlives its
expiry, never answers for another token (another tenant), and the cache stays bounded."""
from __future__ import annotations

import base64
import json
import time

import pytest

from shared.auth import LocalIssuer, TokenVerifier, Unauthorized, VerifiedTokens

ISSUER = LocalIssuer.generate()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def verifier(cache: VerifiedTokens | None = None) -> tuple[TokenVerifier, list[str]]:
    v = TokenVerifier(issuer=ISSUER.issuer, audience=ISSUER.audience, jwks=ISSUER.jwks(), cache=cache)
    checked: list[str] = []
    inner = v._verify

    def counting(token: str):
        checked.append(token)
        return inner(token)
    v._verify = counting
    return v, checked


def test_a_token_is_verified_once_then_served_from_the_cache():
    v, checked = verifier()
    token = ISSUER.issue(tenant="vinh-long", roles=["team_member"], sub="a")
    first, again = v.verify(token), v.verify(token)
    assert first == again and first.tenant == "vinh-long" and len(checked) == 1
    assert v.cached(token) == first


def test_an_expired_token_is_refused_even_after_it_was_cached():
    v, checked = verifier()
    # exp is whole seconds after a truncated iat: with ttl=1 a token issued late in a second could expire
    # before a busy machine verified it once (seen in CI); 3 leaves at least 2 s.
    token = ISSUER.issue(tenant="vinh-long", roles=["viewer"], ttl=3)
    v.verify(token)
    time.sleep(max(0.0, json.loads(_payload(token))["exp"] - time.time()) + 0.05)
    assert v.cached(token) is None
    with pytest.raises(Unauthorized):
        v.verify(token)


def test_entries_end_at_exp_and_at_most_max_age_after_verification():
    clock = Clock()
    cache = VerifiedTokens(max_age=300, clock=clock)
    v, checked = verifier(cache)
    long_lived = ISSUER.issue(tenant="vinh-long", roles=["viewer"], ttl=3600)
    short = ISSUER.issue(tenant="vinh-long", roles=["viewer"], ttl=60)
    v.verify(long_lived), v.verify(short)
    exp = json.loads(_payload(short))["exp"]
    clock.now = exp  # PyJWT refuses at now >= exp; so does the cache
    assert cache.get(short) is None and cache.get(long_lived) is not None
    clock.now = time.time() + 301  # a key withdrawn from the JWKS is not honoured longer than the JWKS client would
    assert cache.get(long_lived) is None
    v.verify(long_lived)
    assert checked.count(long_lived) == 2


def test_a_cached_token_answers_only_for_itself_not_for_an_altered_copy():
    v, _ = verifier()
    token = ISSUER.issue(tenant="vinh-long", roles=["province_admin"], sub="admin")
    assert v.verify(token).tenant == "vinh-long"
    header, payload, signature = token.split(".")
    claims = json.loads(_payload(token))
    claims["tenant"] = "ha-noi"
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), signature])
    assert v.cached(forged) is None
    with pytest.raises(Unauthorized):
        v.verify(forged)
    other = ISSUER.issue(tenant="ha-noi", roles=["province_admin"], sub="admin")
    assert v.verify(other).tenant == "ha-noi" and v.verify(token).tenant == "vinh-long"


def test_the_cache_is_bounded_least_recently_used_first():
    cache = VerifiedTokens(max_entries=2)
    v, checked = verifier(cache)
    a, b, c = (ISSUER.issue(tenant="vinh-long", roles=["viewer"], sub=s) for s in "abc")
    v.verify(a), v.verify(b), v.verify(a), v.verify(c)  # b is the least recently used
    assert cache.get(b) is None and cache.get(a) is not None and cache.get(c) is not None


def test_failures_are_not_cached():
    v, checked = verifier()
    bad = LocalIssuer.generate().issue(tenant="vinh-long", roles=["viewer"])
    for _ in range(2):
        with pytest.raises(Unauthorized):
            v.verify(bad)
    assert len(checked) == 2


def _payload(token: str) -> str:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
