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
import sys
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit


def request_bytes(target: dict, host: str) -> bytes:
    body = target.get("body")
    if body is not None and body.get("id") == "{uuid}":
        body = {**body, "id": str(uuid.uuid4())}
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    lines = [f"{target['method']} {target['path']} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (target.get("headers") or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def main(spec: dict) -> dict:
    url = urlsplit(spec["base"])
    targets = spec["targets"]
    latencies: list[float] = []
    statuses: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()

    async def connection(warmup: int, done: asyncio.Future) -> None:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            for i in range(warmup):
                writer.write(request_bytes(targets[i % len(targets)], url.netloc))
                await read_response(reader)
            done.set_result(True)
            while True:
                item = await queue.get()
                if item is None:
                    return
                i, due = item
                payload = request_bytes(targets[i % len(targets)], url.netloc)
                t0 = time.perf_counter()
                writer.write(payload)
                status = await read_response(reader)
                # Paced runs count from the scheduled departure, so a stalled server is not hidden.
                latencies.append(time.perf_counter() - (due if due is not None else t0))
                statuses[status] += 1
        finally:
            writer.close()

    per_conn = -(-spec.get("warmup", 0) // spec["concurrency"])
    loop = asyncio.get_running_loop()
    ready = [loop.create_future() for _ in range(spec["concurrency"])]
    workers = [asyncio.create_task(connection(per_conn, done)) for done in ready]
    await asyncio.gather(*ready)  # connections open and warm before the clock starts
    rate = spec.get("rate", 0)
    t0 = time.perf_counter()
    for i in range(spec["count"]):
        if rate:
            # Open loop: requests leave on schedule whatever the latency (they queue if every connection is busy).
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
