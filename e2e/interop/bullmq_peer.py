"""A real Python `bullmq` peer for the cross-language tests; prints JSON on stdout.

  add     --jobs '[{"name":..,"data":{..},"opts":{..}}]' [--bulk]   ids of the added jobs
  work    --count N [--concurrency C] [--stalled-interval MS]      process until N jobs finished
  inspect --ids a,b                                               state, returnvalue, failedReason, progress, attempts
  events  --count N [--timeout S]                                  QueueEvents from "0" until N events
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bullmq import Job, Queue, QueueEvents, Worker


def connection(url: str) -> dict[str, Any]:
    return {"connection": url, "prefix": "bull"}


async def add(args: argparse.Namespace) -> Any:
    queue = Queue(args.queue, connection(args.redis))
    jobs = json.loads(args.jobs)
    try:
        if args.bulk:
            added = await queue.addBulk([{"name": j["name"], "data": j["data"], "opts": j.get("opts", {})} for j in jobs])
        else:
            added = [await queue.add(j["name"], j["data"], j.get("opts", {})) for j in jobs]
        return [job.id for job in added]
    finally:
        await queue.close()


async def work(args: argparse.Namespace) -> Any:
    finished: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def process(job: Job, token: str) -> Any:
        data = job.data or {}
        await job.updateProgress(50)
        if data.get("sleep"):
            await asyncio.sleep(float(data["sleep"]))
        if data.get("fail_until_attempt", 0) > job.attemptsMade + 1 or data.get("fail"):
            raise Exception(f"python failure on attempt {job.attemptsMade + 1}")
        return {"echo": data, "by": "python"}

    opts: dict[str, Any] = {**connection(args.redis), "concurrency": args.concurrency}
    if args.stalled_interval:
        opts["stalledInterval"] = args.stalled_interval
    worker = Worker(args.queue, process, opts)

    def on_completed(job: Job, result: Any) -> None:
        finished.append({"id": job.id, "outcome": "completed", "result": result, "name": job.name})
        if len(finished) >= args.count:
            done.set()

    def on_failed(job: Job, error: Exception) -> None:
        if job.attemptsMade >= max(1, job.opts.get("attempts", 1)):
            finished.append({"id": job.id, "outcome": "failed", "reason": str(error), "name": job.name})
            if len(finished) >= args.count:
                done.set()

    worker.on("completed", on_completed)
    worker.on("failed", on_failed)
    try:
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    finally:
        await worker.close()
    return finished


async def inspect(args: argparse.Namespace) -> Any:
    queue = Queue(args.queue, connection(args.redis))
    try:
        result = {}
        for job_id in args.ids.split(","):
            job = await Job.fromId(queue, job_id)
            if job is None:
                result[job_id] = None
                continue
            result[job_id] = {
                "state": await job.getState(),
                "returnvalue": job.returnvalue,
                "failedReason": job.failedReason,
                "progress": job.progress,
                "attemptsMade": job.attemptsMade,
                "attemptsStarted": job.attemptsStarted,
                "data": job.data,
                "name": job.name,
            }
        return result
    finally:
        await queue.close()


async def events(args: argparse.Namespace) -> Any:
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()
    listener = QueueEvents(args.queue, {**connection(args.redis), "lastEventId": "0"})
    for name in ("active", "progress", "completed", "failed", "waiting", "delayed", "added"):
        def handler(payload: dict[str, Any], event_id: str = "", name: str = name) -> None:
            seen.append({"event": name, **payload})
            if len(seen) >= args.count:
                done.set()
        listener.on(name, handler)
    try:
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        pass
    finally:
        await listener.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["add", "work", "inspect", "events"])
    parser.add_argument("--redis", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--jobs", default="[]")
    parser.add_argument("--bulk", action="store_true")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--stalled-interval", type=int, default=0)
    parser.add_argument("--ids", default="")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    handler = {"add": add, "work": work, "inspect": inspect, "events": events}[args.command]
    print(json.dumps(asyncio.run(handler(args))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
