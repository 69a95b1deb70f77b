"""A small HTTP load generator (asyncio + httpx), run in its own process so it does not share the
server's interpreter: ``python -m bench.load spec.json`` prints latencies and status counts as JSON.

The spec: {"base": url, "targets": [{"method", "path", "headers", "body"}...] (taken round-robin),
"count": n, "concurrency": c, "rate": r (requests/s, 0 = as fast as the server answers),
"warmup": n}. A body whose "id" is "{uuid}" gets a fresh UUID per request (a new finding each time).
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

import httpx


async def main(spec: dict) -> dict:
    targets = spec["targets"]
    limits = httpx.Limits(max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"])
    latencies: list[float] = []
    statuses: Counter = Counter()
    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=30) as client:
        async def one(i: int, record: bool, since: float | None = None) -> None:
            t = targets[i % len(targets)]
            body = t.get("body")
            if body is not None and body.get("id") == "{uuid}":
                body = {**body, "id": str(uuid.uuid4())}
            t0 = time.perf_counter()
            r = await client.request(t["method"], t["path"], headers=t.get("headers"), json=body)
            if record:
                # Paced runs count from the scheduled departure, so a stalled server is not hidden.
                latencies.append(time.perf_counter() - (since if since is not None else t0))
                statuses[r.status_code] += 1

        for i in range(spec.get("warmup", 0)):
            await one(i, False)
        queue: asyncio.Queue = asyncio.Queue()
        rate = spec.get("rate", 0)

        async def worker():
            while True:
                item = await queue.get()
                if item is None:
                    return
                await one(item[0], True, item[1])

        workers = [asyncio.create_task(worker()) for _ in range(spec["concurrency"])]
        t0 = time.perf_counter()
        for i in range(spec["count"]):
            if rate:
                # Open loop: requests leave on schedule whatever the latency (queued if all workers are busy).
                due = t0 + i / rate
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
                await queue.put((i, due))
            else:
                await queue.put((i, None))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        elapsed = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": {str(k): v for k, v in statuses.items()}, "elapsed": elapsed}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(asyncio.run(main(json.load(f)))))
