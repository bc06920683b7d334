"""Distributed mode end to end: two API servers, a Swift worker and the Python cloud worker, all on
PostgreSQL + Redis + S3 (the servers `make test` starts: TEST_DATABASE_URL, TEST_S3_ENDPOINT)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from e2e.conftest import ENGLISH, LONG
from e2e.support import ROOT, Redis, WorkerProcess, free_port, overlap

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_S3_ENDPOINT")),
    reason="needs TEST_DATABASE_URL and TEST_S3_ENDPOINT (make test starts PostgreSQL and moto)",
)
# Batches of two windows, so that a long file's text is decoded, and streamed, in more than one batch.
FAST = {
    "QUEUE_LOCK_DURATION": "5000", "QUEUE_STALLED_INTERVAL": "2000", "QUEUE_RETRY_DELAY": "500", "WHISPER_CPU_THREADS": "1",
    "WHISPER_BATCH_SIZE": "2",
}


class CloudWorker:
    """workers/cloud/worker.py run with the repository's virtual environment."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / f"cloud-worker-{uuid.uuid4().hex[:6]}.log"
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "workers" / "cloud" / "worker.py")],
            cwd=ROOT,
            env={**os.environ, "WHISPER_DEVICE": "cpu", **env},
            stdout=open(self.log_path, "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while "cloud worker ready" not in self.log():
            assert self.process.poll() is None and time.time() < deadline, self.log()
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def completed_jobs(self) -> int:
        return self.log().count("job completed")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture()
def shared_env(tmp_path):
    """A fresh PostgreSQL database, Redis and S3 bucket, and the settings every process shares."""
    database = "cloud_" + uuid.uuid4().hex[:10]
    admin = os.environ["TEST_DATABASE_URL"]
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {database}"], check=True)
    redis = Redis(tmp_path / "redis").start()
    bucket = "whisper-" + uuid.uuid4().hex[:8]
    s3 = {
        "S3_BUCKET": bucket,
        "S3_ENDPOINT": os.environ["TEST_S3_ENDPOINT"],
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "cloud-test",
        "S3_SECRET_ACCESS_KEY": "cloud-test-secret",
        "S3_FORCE_PATH_STYLE": "true",
    }
    import boto3

    boto3.client(
        "s3", endpoint_url=s3["S3_ENDPOINT"], aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).create_bucket(Bucket=bucket)
    env = {"DATABASE_URL": admin.rsplit("/", 1)[0] + "/" + database, "REDIS_URL": redis.url, **s3, **FAST}
    yield env
    redis.stop()
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=False)


def scrape(port: int) -> dict[str, dict[tuple, float]]:
    """A process's /metrics, read with prometheus_client's parser: {sample name: {sorted label names: value}}."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, dict[tuple, float]] = {}
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            samples.setdefault(sample.name, {})[labels] = samples.get(sample.name, {}).get(labels, 0) + sample.value
    return samples


def submit(api, key, path) -> str:
    response = api.submit(key, path)
    assert response.status_code == 202, response.text
    return response.json()["data"]["transcriptionId"]


def test_two_servers_a_swift_and_a_python_worker_share_postgres_redis_and_s3(tmp_path, shared_env, server_factory, audio):
    env = shared_env
    # Both servers start at once on the empty database: they race to migrate it and to create the admin.
    server_a = server_factory(env=env, workers=0, data_dir=tmp_path / "a")
    server_b = server_factory(env=env, workers=0, data_dir=tmp_path / "b")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda server: server.start(), [server_a, server_b]))
    keys = [server.bootstrap_key for server in (server_a, server_b) if server.bootstrap_key]
    assert len(keys) == 1, "one admin for the shared database, created by whichever server won"
    key = keys[0]

    # The Python cloud worker alone: a job submitted to A is followed, with progress, from B.
    cloud_metrics = free_port()
    cloud = CloudWorker(tmp_path / "cloud", {**env, "METRICS_PORT": str(cloud_metrics)})
    try:
        long_id = submit(server_a, key, audio["long"])
        seen_progress: set[int] = set()
        deadline = time.time() + 300
        status = {}
        while time.time() < deadline:
            status = server_b.status(key, long_id)
            if status["status"] == "PROCESSING":
                seen_progress.add(status["progress"])
            if status["status"] in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.1)
        assert status["status"] == "COMPLETED", (status, cloud.log()[-3000:])
        assert any(0 < value < 100 for value in seen_progress), seen_progress
        text = server_b.get(key, f"/api/v1/transcriptions/{long_id}/result?format=text").text
        assert overlap(LONG, text) >= 0.7, text
        python_id = submit(server_b, key, audio["wav"])
        assert server_a.wait_for(key, python_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED"
        assert cloud.completed_jobs() == 2
        # stream=true through the other server: the Python worker's segments arrive as they are made.
        import openai

        client = openai.OpenAI(api_key=key, base_url=server_b.base + "/v1", max_retries=0, timeout=300)
        with open(audio["long"], "rb") as handle:
            events = list(client.audio.transcriptions.create(model="whisper-1", file=handle, stream=True))
        deltas = [event.delta for event in events if event.type == "transcript.text.delta"]
        # The engine decodes windows of up to 30 s in batches (of two here): the text arrives in more than one piece.
        assert len(deltas) >= 2 and events[-1].type == "transcript.text.done", events
        assert "".join(deltas) == events[-1].text and overlap(LONG, events[-1].text) >= 0.7
        python_metrics = scrape(cloud_metrics)
        assert sum(python_metrics["whisperapi_job_attempts_total"].values()) == 3
        assert sum(python_metrics["whisperapi_job_wait_seconds_count"].values()) == 3
        assert sum(python_metrics["whisperapi_engine_audio_seconds_total"].values()) > 20
        assert sum(python_metrics["whisperapi_engine_batch_size_count"].values()) >= 3
    finally:
        assert cloud.stop() == 0, cloud.log()[-2000:]

    # The Swift worker alone: the same clip, submitted to B, read from A.
    swift_metrics = free_port()
    swift = WorkerProcess(tmp_path / "swift-worker", {**env, "METRICS_PORT": str(swift_metrics)})
    try:
        swift_id = submit(server_b, key, audio["wav"])
        assert server_a.wait_for(key, swift_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED", swift.log()[-3000:]
        assert swift.completed_jobs() == 1
        # Both workers export the same job and engine metrics, with the same labels.
        swift_exported = scrape(swift_metrics)
        for name in ("whisperapi_job_attempts_total", "whisperapi_job_wait_seconds_count", "whisperapi_engine_audio_seconds_total",
                     "whisperapi_engine_real_time_factor_count", "whisperapi_engine_batch_size_count", "whisperapi_worker_slots"):
            assert swift_exported.get(name), name
            assert {labels for labels in swift_exported[name]} == {labels for labels in python_metrics[name]}, name
    finally:
        swift.stop()

    # Both workers' results are stored in S3 and render the same way.
    for fmt in ("srt", "vtt", "text"):
        from_python = server_a.get(key, f"/api/v1/transcriptions/{python_id}/result?format={fmt}")
        from_swift = server_b.get(key, f"/api/v1/transcriptions/{swift_id}/result?format={fmt}")
        assert from_python.status_code == from_swift.status_code == 200
        assert from_python.text == from_swift.text, fmt
    assert overlap(ENGLISH, from_python.text) >= 0.8
    redirect = server_a.get(key, f"/api/v1/transcriptions/{python_id}/result?redirect=1")
    assert redirect.status_code == 200 and redirect.url.startswith(env["S3_ENDPOINT"]), redirect.url
    assert redirect.json()["model"] == "tiny.en"
