"""The cloud worker's Prometheus metrics: the same names, labels and buckets as `whisperapi worker` exports
(Sources/Telemetry/ServiceMetrics.swift), so one dashboard and one set of alert rules covers both workers.

Served on METRICS_PORT when it is set (`prometheus_client`'s own HTTP server).
"""
from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

#: Queue priority → plan, as the service queues them (Sources/WhisperAPICore/Plan.swift: 11 - the plan's weight).
PLANS = {1: "PAYG", 6: "PRO", 10: "FREE"}
#: Model names clients may ask for; anything else is labelled `other` (labels must stay bounded).
MODELS = {"tiny.en", "base", "whisper-1"}
JOB_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

JOB_WAIT = Histogram("whisperapi_job_wait_seconds", "From enqueue to a worker taking the job (first attempts).",
                     ["plan", "model"], buckets=JOB_SECONDS)
JOB_PROCESSING = Histogram("whisperapi_job_processing_seconds", "From a worker taking the job to its outcome.",
                           ["plan", "model"], buckets=JOB_SECONDS)
JOB_ATTEMPTS = Counter("whisperapi_job_attempts", "Attempts that ended, by outcome.", ["plan", "model", "outcome"])
JOB_RETRIES = Counter("whisperapi_job_retries", "Attempts after the first.", ["plan"])
AUDIO_SECONDS = Counter("whisperapi_engine_audio_seconds", "Audio transcribed.", ["model", "engine"])
REAL_TIME_FACTOR = Histogram("whisperapi_engine_real_time_factor", "Engine time over audio time per job.", ["model", "engine"],
                             buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5))
BATCH_SIZE = Histogram("whisperapi_engine_batch_size", "Windows decoded together in one batch.", ["model"],
                       buckets=(1, 2, 4, 8, 16, 32, 64))
BUSY_SLOTS = Gauge("whisperapi_worker_busy_slots", "Jobs this worker is running now.")
SLOTS = Gauge("whisperapi_worker_slots", "Jobs this worker may run at once.")


def plan(priority: int) -> str:
    return PLANS.get(int(priority or 0), "other")


def model(name: str | None) -> str:
    return name if name in MODELS else "other"


def serve(port: int | None, slots: int) -> None:
    """Starts the metrics endpoint (when a port is given) and records the worker's slot count."""
    SLOTS.set(slots)
    if port:
        start_http_server(port, addr="0.0.0.0")


def started(priority: int, model_name: str | None, attempt: int, enqueued_ms: int) -> None:
    """A job was taken: its wait on a first attempt, a retry after that."""
    if attempt <= 1 and enqueued_ms > 0:
        JOB_WAIT.labels(plan(priority), model(model_name)).observe(max(0.0, time.time() - enqueued_ms / 1000))
    elif attempt > 1:
        JOB_RETRIES.labels(plan(priority)).inc()
    BUSY_SLOTS.inc()


def ended(priority: int, model_name: str | None, outcome: str, elapsed: float) -> None:
    JOB_PROCESSING.labels(plan(priority), model(model_name)).observe(elapsed)
    JOB_ATTEMPTS.labels(plan(priority), model(model_name), outcome).inc()
    BUSY_SLOTS.dec()


def transcribed(model_name: str | None, engine: str, audio_seconds: float, elapsed: float) -> None:
    AUDIO_SECONDS.labels(model(model_name), engine).inc(max(0.0, audio_seconds))
    if audio_seconds > 0:
        REAL_TIME_FACTOR.labels(model(model_name), engine).observe(elapsed / audio_seconds)


def batch(model_name: str, rows: int) -> None:
    BATCH_SIZE.labels(model(model_name)).observe(rows)
