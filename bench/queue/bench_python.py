"""Queue throughput benchmark for Python bullmq 3.4.4: the reference the Swift library is compared with.

Usage: bench_python.py SCENARIO REDIS_URL JOBS   (same scenarios as queue-bench); prints jobs/s on the last line.
"""
from __future__ import annotations

import asyncio
import sys
import time
import uuid

from bullmq import Queue, Worker

PAYLOAD = {"i": 0, "text": "no-op"}


async def prefill(queue: Queue, jobs: int) -> None:
    for start in range(0, jobs, 1000):
        await queue.addBulk([{"name": "job", "data": PAYLOAD} for _ in range(start, min(jobs, start + 1000))])


async def run_worker(name: str, url: str, jobs: int, concurrency: int) -> float:
    queue = Queue(name, {"connection": url})
    await prefill(queue, jobs)
    done = asyncio.Event()
    count = 0

    def on_completed(*_args) -> None:
        nonlocal count
        count += 1
        if count >= jobs:
            done.set()

    async def process(job, token):
        return None

    started = time.perf_counter()
    worker = Worker(name, process, {"connection": url, "concurrency": concurrency})
    worker.on("completed", on_completed)
    await done.wait()
    elapsed = time.perf_counter() - started
    await worker.close()
    await queue.obliterate(force=True)
    await queue.close()
    return elapsed


async def main(scenario: str, url: str, jobs: int) -> float:
    name = f"bench-python-{uuid.uuid4().hex[:8]}"
    if scenario.startswith("worker"):
        elapsed = await run_worker(name, url, jobs, 1 if scenario == "worker-generic" else 100)
        return jobs / elapsed
    queue = Queue(name, {"connection": url})
    started = time.perf_counter()
    if scenario == "queue-add":
        for _ in range(jobs):
            await queue.add("job", PAYLOAD)
    elif scenario == "queue-add-bulk":
        for start in range(0, jobs, 50):
            await queue.addBulk([{"name": "job", "data": PAYLOAD} for _ in range(start, min(jobs, start + 50))])
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    elapsed = time.perf_counter() - started
    await queue.obliterate(force=True)
    await queue.close()
    return jobs / elapsed


if __name__ == "__main__":
    rate = asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    print(f"{rate:.0f}")
