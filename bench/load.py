"""A small HTTP/1.1 load generator on bare asyncio streams, run in its own process so it does not share
the server's interpreter: ``python -m bench.load spec.json`` prints latencies and status counts as JSON.

(httpx's client topped out near 300 requests/s on this machine, below the servers it was measuring,
so requests are written and responses read by hand over keep-alive connections.)

The spec: {"base": "http://host:port", "targets": [{"method", "path", "headers", "body"}...] (taken
round-robin), "count": n, "concurrency": c (connections), "rate": r (requests/s, 0 = as fast as the
server answers), "warmup": n}. A body whose "id" is "{uuid}" gets a fresh UUID per request.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

# The id a "{uuid}" body carries while it is serialised once: every request then only swaps in a fresh
# UUID (the same length, so the Content-Length stays right).
_PLACEHOLDER = "00000000-0000-4000-8000-00000000f00d"
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked", re.IGNORECASE)


class Request:
    """One target's request bytes, built once: the generator shares the server's 2 cores, so what it
    spends per request is taken from the server it measures."""

    def __init__(self, target: dict, host: str):
        body = target.get("body")
        fresh = body is not None and body.get("id") == "{uuid}"
        if fresh:
            body = {**body, "id": _PLACEHOLDER}
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        lines = [f"{target['method']} {target['path']} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in (target.get("headers") or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
        whole = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        self.parts = whole.split(_PLACEHOLDER.encode(), 1) if fresh else None
        self.whole = whole

    def bytes(self) -> bytes:
        if self.parts is None:
            return self.whole
        return self.parts[0] + str(uuid.uuid4()).encode() + self.parts[1]


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    if _CHUNKED.search(head):
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        length = _LENGTH.search(head)
        if length and int(length[1]):
            await reader.readexactly(int(length[1]))
    return status


async def main(spec: dict) -> dict:
    url = urlsplit(spec["base"])
    requests = [Request(t, url.netloc) for t in spec["targets"]]
    latencies: list[float] = []
    statuses: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    clock = time.perf_counter

    async def connection(warmup: int, done: asyncio.Future) -> None:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            for i in range(warmup):
                writer.write(requests[i % len(requests)].bytes())
                await read_response(reader)
            done.set_result(True)
            while True:
                item = await queue.get()
                if item is None:
                    return
                i, due = item
                payload = requests[i % len(requests)].bytes()
                t0 = clock()
                writer.write(payload)
                status = await read_response(reader)
                # Paced runs count from the scheduled departure, so a stalled server is not hidden.
                latencies.append(clock() - (due if due is not None else t0))
                statuses[status] += 1
        finally:
            writer.close()

    per_conn = -(-spec.get("warmup", 0) // spec["concurrency"])
    loop = asyncio.get_running_loop()
    ready = [loop.create_future() for _ in range(spec["concurrency"])]
    workers = [asyncio.create_task(connection(per_conn, done)) for done in ready]
    await asyncio.gather(*ready)  # connections open and warm before the clock starts
    rate = spec.get("rate", 0)
    cpu0 = time.process_time()
    t0 = clock()
    for i in range(spec["count"]):
        if rate:
            # Open loop: requests leave on schedule whatever the latency (they queue if every connection is busy).
            due = t0 + i / rate
            if due > clock():
                await asyncio.sleep(due - clock())
            queue.put_nowait((i, due))
        else:
            queue.put_nowait((i, None))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = clock() - t0
    return {"latencies": latencies, "statuses": {str(k): v for k, v in statuses.items()}, "elapsed": elapsed,
            "cpu": time.process_time() - cpu0}


def run(spec: dict) -> dict:
    """On uvloop when it is there (uvicorn's standard extra brings it), cheaper per request than asyncio's
    own loop; BENCH_LOAD_LOOP=asyncio chooses the latter."""
    if os.environ.get("BENCH_LOAD_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main(spec))
    return asyncio.run(main(spec))


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(run(json.load(f))))
