"""WhisperAPI's Python cloud worker: a `bullmq` Worker on the `transcription` queue.

It takes the same jobs as `whisperapi worker`, from the same Redis, and does the same thing with
them: downloads the audio from S3, runs the repository's `engine/` code (on a GPU when there is
one), uploads the canonical result JSON under the same key, and returns the same result object.

Run it with the repository's virtual environment and the same settings as `whisperapi worker`:

    REDIS_URL=redis://… S3_BUCKET=… S3_ENDPOINT=… S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… \\
        .venv/bin/python workers/cloud/worker.py

Settings: REDIS_URL (required), QUEUE_PREFIX (bull), QUEUE_CONCURRENCY (1),
QUEUE_LOCK_DURATION (30000 ms), QUEUE_STALLED_INTERVAL (30000 ms), S3_BUCKET, S3_REGION,
S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE, WHISPER_DEVICE
(cpu|cuda|auto, default auto here), METRICS_PORT (Prometheus metrics, the Swift worker's names),
OTEL_EXPORTER_OTLP_ENDPOINT (traces over OTLP/HTTP, continuing the API request's trace), WHISPER_COMPUTE_TYPE, WHISPER_CPU_THREADS, WHISPER_BATCH_SIZE (windows decoded
together: 16 on a GPU, 8 on a CPU). The jobs it runs at once (QUEUE_CONCURRENCY) share the engine's batches.
SIGTERM or SIGINT stops taking jobs and lets the running ones finish.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bullmq import DelayedError, Job, UnrecoverableError, Worker  # noqa: E402

from engine import runner  # noqa: E402
from engine import diarize, errors  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from workers.cloud import metrics, tracing  # noqa: E402

QUEUE_NAME = "transcription"
#: Engine errors that no retry can fix (engine/failures.json, shared with the Swift worker).
NOT_RETRYABLE = errors.NOT_RETRYABLE

log = logging.getLogger("whisperapi.cloud-worker")


class Settings:
    """The worker's settings, read from the environment like the Swift processes read theirs."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        self.redis_url = env.get("REDIS_URL", "")
        if not self.redis_url:
            raise SystemExit("REDIS_URL is required: the cloud worker takes jobs from the Redis queue")
        self.prefix = env.get("QUEUE_PREFIX") or "bull"
        self.concurrency = max(1, int(env.get("QUEUE_CONCURRENCY") or 1))
        self.lock_duration = max(1000, int(env.get("QUEUE_LOCK_DURATION") or 30000))
        self.stalled_interval = max(500, int(env.get("QUEUE_STALLED_INTERVAL") or 30000))
        self.bucket = env.get("S3_BUCKET", "")
        if not self.bucket:
            raise SystemExit("S3_BUCKET is required: the cloud worker reads audio from and writes results to S3")
        self.region = env.get("S3_REGION") or "us-east-1"
        self.endpoint = env.get("S3_ENDPOINT") or None
        self.access_key = env.get("S3_ACCESS_KEY_ID") or None
        self.secret_key = env.get("S3_SECRET_ACCESS_KEY") or None
        self.path_style = (env.get("S3_FORCE_PATH_STYLE") or "").lower() in ("1", "true", "yes")
        self.metrics_port = int(env["METRICS_PORT"]) if env.get("METRICS_PORT") else None
        os.environ.setdefault("WHISPER_DEVICE", env.get("WHISPER_DEVICE") or "auto")

    def s3_client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path" if self.path_style else "auto"}),
        )


def result_key(user_id: str, transcription_id: str) -> str:
    """Where every worker stores a transcription's canonical result (Swift's `StorageKeys.result`)."""
    return f"results/{user_id.lower()}/{transcription_id.lower()}.json"


def canonical_json(result: dict[str, Any]) -> bytes:
    """The result document, encoded like the Swift worker encodes it (sorted keys, no nulls, compact)."""

    def without_nulls(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    return json.dumps(without_nulls(result), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Transcriber:
    """Processes one job: audio from S3, the engine, the result back to S3."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.s3 = settings.s3_client()
        self.board = None

    async def __call__(self, job: Job, token: str) -> dict[str, Any]:
        data = job.data or {}
        if diarize.asked(data) and not diarize.available() and await self.others_diarize():
            # Left to a worker that has the speaker model: back in the queue for a moment, no attempt counted.
            await job.moveToDelayed(int(time.time() * 1000) + HAND_OVER_MS, token)
            log.info("job left to a worker that can diarize", extra={"job": job.id})
            raise DelayedError()
        priority, model = getattr(job, "priority", 0), data.get("model")
        metrics.started(priority, model, job.attemptsMade + 1, getattr(job, "timestamp", 0))
        began, outcome = time.monotonic(), "failed"
        try:
            with tracing.job_span(data, str(job.id), job.attemptsMade + 1):
                value = await self.process(job, data)
            outcome = "completed"
            return value
        finally:
            metrics.ended(priority, model, outcome, time.monotonic() - began)

    async def others_diarize(self) -> bool:
        """Whether some worker's claim that it can diarize is current (see ``advertise_diarization``)."""
        from redis import asyncio as aioredis

        if self.board is None:
            self.board = aioredis.from_url(self.settings.redis_url)
        try:
            return await self.board.zcount(capability_key(self.settings), f"({time.time()}", "+inf") > 0
        except Exception:  # Redis away: the job runs here, and fails as unavailable rather than wait
            return False

    async def process(self, job: Job, data: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        audio_key = data.get("s3AudioUrl")
        if not audio_key or not data.get("userId") or not data.get("transcriptionId"):
            raise UnrecoverableError("BAD_REQUEST: the job has no s3AudioUrl, userId or transcriptionId")
        log.info("job started", extra={"job": job.id})
        with tempfile.TemporaryDirectory(prefix="whisperapi-cloud-") as folder:
            audio = os.path.join(folder, "audio")
            try:
                with tracing.step("download audio"):
                    await asyncio.to_thread(self.s3.download_file, self.settings.bucket, audio_key, audio)
            except Exception as error:  # botocore raises ClientError with a 404 for a missing object
                if "404" in str(error) or "NoSuchKey" in str(error):
                    raise Exception("AUDIO_NOT_FOUND: the uploaded audio is no longer in storage") from None
                raise
            def on_progress(value: int, segment: dict[str, Any] | None) -> None:
                # The same progress value the Swift workers store: the number and the segment just
                # transcribed, so clients can follow the text (stream=true, any API server).
                reported: dict[str, Any] = {"progress": value}
                if segment:
                    reported["segment"] = {"id": segment["id"], "text": segment["text"]}
                asyncio.run_coroutine_threadsafe(job.updateProgress(reported), loop)

            request = {
                "audio": audio,
                "model": data.get("model"),
                "language": data.get("language"),
                "task": data.get("task") or "transcribe",
                "prompt": data.get("prompt"),
                "word_timestamps": bool(data.get("wordTimestamps")),
                "text_only": bool(data.get("textOnly")),
                "vad_filter": data.get("vadFilter") is not False,
                "diarize": data.get("diarize"),
            }
            try:
                engine_began = time.monotonic()
                with tracing.step("engine run"):
                    result = await asyncio.to_thread(runner.transcribe, request, on_progress)
                metrics.transcribed(request["model"], result.get("engine") or "faster-whisper", result["duration"],
                                    time.monotonic() - engine_began)
            except EngineError as error:
                reason = f"{error.code}: {error.message}"
                if error.code in NOT_RETRYABLE:
                    raise UnrecoverableError(reason) from None
                raise Exception(reason) from None
        key = result_key(data["userId"], data["transcriptionId"])
        body = canonical_json(result)
        with tracing.step("upload result"):
            await asyncio.to_thread(
                self.s3.put_object, Bucket=self.settings.bucket, Key=key, Body=body, ContentType="application/json"
            )
        completed = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        log.info("job completed", extra={"job": job.id})
        return {
            "s3ResultUrl": key,
            "durationSeconds": result["duration"],
            "completedAt": completed,
            "language": result.get("language"),
        }


#: How long a worker's claim that it can diarize lasts, and how often it renews it (as the Swift workers do).
CLAIM_SECONDS, RENEW_SECONDS = 30, 10
#: How long a diarized job this worker cannot run waits in the queue for a worker that can (as the Swift workers do).
HAND_OVER_MS = 2000


def capability_key(settings: Settings) -> str:
    """The sorted set of the workers that can diarize, scored by when each claim runs out."""
    return f"whisperapi:{settings.prefix}:capability:diarization"


async def advertise_diarization(settings: Settings, stop: asyncio.Event) -> None:
    """Claims in Redis, until ``stop``, that this worker can diarize: API servers then accept ``diarize=true``. The
    claim is this worker's id in the sorted set ``whisperapi:<prefix>:capability:diarization``, scored by when it
    runs out; it is withdrawn when the worker stops."""
    from redis import asyncio as aioredis

    key = capability_key(settings)
    worker = f"{socket.gethostname()}:{os.getpid()}:cloud"
    client = aioredis.from_url(settings.redis_url)
    try:
        while not stop.is_set():
            now = time.time()
            try:
                await client.zadd(key, {worker: now + CLAIM_SECONDS})
                await client.zremrangebyscore(key, "-inf", now)
            except Exception as error:  # Redis away for a moment: the claim runs out, the next renewal restores it
                log.warning("could not advertise diarization: %s", error)
            try:
                await asyncio.wait_for(stop.wait(), RENEW_SECONDS)
            except asyncio.TimeoutError:
                pass
        await client.zrem(key, worker)
    finally:
        await client.aclose()


async def run(settings: Settings) -> None:
    """Works until SIGTERM or SIGINT, then lets running jobs finish and closes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    transcriber = Transcriber(settings)
    worker = Worker(
        QUEUE_NAME,
        transcriber,
        {
            "connection": settings.redis_url,
            "prefix": settings.prefix,
            "concurrency": settings.concurrency,
            "lockDuration": settings.lock_duration,
            "stalledInterval": settings.stalled_interval,
        },
    )
    worker.on("failed", lambda job, error: log.warning("job failed: %s", error))
    heartbeat = asyncio.create_task(advertise_diarization(settings, stop)) if diarize.available() else None
    metrics.serve(settings.metrics_port, settings.concurrency)
    tracing.setup()
    runner.scheduler().on_batch(metrics.batch)
    print(f"cloud worker ready: queue {settings.prefix}:{QUEUE_NAME}, concurrency {settings.concurrency}", flush=True)
    await stop.wait()
    print("cloud worker stopping: finishing running jobs", flush=True)
    await worker.close()
    if transcriber.board is not None:
        await transcriber.board.aclose()
    if heartbeat:
        await heartbeat
    tracing.shutdown()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
