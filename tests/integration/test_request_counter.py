"""The rate limit's Redis counter against real Redis servers: counts, expiry, pipelining, outages, AUTH/SELECT."""
from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import redis

from infra.servers import LocalRedis, free_port, port_open, redis_server_binary
from shared.request_counter import RequestCounter


def test_counts_each_key_with_its_expiry_and_pipelines_concurrent_requests(redis_url):
    counter, key = RequestCounter(redis_url), f"rl:test:{uuid.uuid4()}"

    async def burst():
        first = [await counter.count(key, 90) for _ in range(3)]
        # 200 requests at once share one connection: every reply goes back to its own request.
        together = await asyncio.gather(*(counter.count(key, 90) for _ in range(200)))
        return first, together, await counter.count(key + ":other", 30)

    first, together, other = asyncio.run(burst())
    assert first == [1, 2, 3]
    assert sorted(together) == list(range(4, 204))
    assert other == 1
    plain = redis.Redis.from_url(redis_url)
    assert 0 < plain.ttl(key) <= 90 and 0 < plain.ttl(key + ":other") <= 30
    assert int(plain.get(key)) == 203


def test_answers_none_at_once_when_redis_is_away_and_counts_again_when_it_is_back():
    server = LocalRedis()
    counter = RequestCounter(server.url, timeout=0.2, retry_after=1.5)

    async def count() -> int | None:
        return await counter.count("rl:test:outage", 90)

    async def scenario():
        t0 = time.monotonic()
        away = await count()  # nothing listens yet
        waited = time.monotonic() - t0
        server.start()
        try:
            resting = await count()  # within the pause after a failure: not even tried
            await asyncio.sleep(1.6)
            up = [await count(), await count()]
            server.kill()
            down = await count()
            server.start()  # the same port, an empty Redis
            await asyncio.sleep(1.6)
            back = [await count() for _ in range(3)]
        finally:
            server.kill()
        return away, waited, resting, up, down, back

    away, waited, resting, up, down, back = asyncio.run(scenario())
    assert away is None and waited < 0.5
    assert resting is None
    assert up == [1, 2]
    assert down is None
    assert back == [1, 2, 3]  # counting again without a restart of the API


def test_authenticates_and_selects_the_database_of_the_url():
    port = free_port()
    proc = subprocess.Popen([redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", "mật-khẩu"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        good = RequestCounter(f"redis://:m%E1%BA%ADt-kh%E1%BA%A9u@127.0.0.1:{port}/3")
        wrong = RequestCounter(f"redis://:sai@127.0.0.1:{port}/3")
        assert asyncio.run(good.count("rl:test:db", 90)) == 1
        assert asyncio.run(wrong.count("rl:test:db", 90)) is None  # refused: the request goes through uncounted
        plain = redis.Redis(host="127.0.0.1", port=port, password="mật-khẩu", db=3)
        assert int(plain.get("rl:test:db")) == 1
        assert redis.Redis(host="127.0.0.1", port=port, password="mật-khẩu", db=0).get("rl:test:db") is None
    finally:
        proc.kill()
        proc.wait(10)
