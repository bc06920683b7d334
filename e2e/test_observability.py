"""Operations: Prometheus scraping an API server and a standalone worker with deploy/'s configuration, JSON logs, and
graceful drains of workers and API servers."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from e2e.conftest import ENGLISH, FAST
from e2e.support import ROOT, WorkerProcesses, free_port, overlap

DEPLOY = ROOT / "deploy"


class Prometheus:
    """Debian's prometheus with the committed scrape configuration and alert rules; only the target files (which an
    operator edits to list their machines) name this test's ports."""

    def __init__(self, folder: Path, api: list[str], workers: list[str]) -> None:
        folder.mkdir(parents=True)
        for name in ("prometheus.yml", "alerts.yml"):
            shutil.copy(DEPLOY / "prometheus" / name, folder / name)
        (folder / "targets").mkdir()
        (folder / "targets" / "api.json").write_text(json.dumps([{"targets": api}]))
        (folder / "targets" / "workers.json").write_text(json.dumps([{"targets": workers}]))
        self.port = free_port()
        self.log = open(folder / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus did not start")

    def query(self, promql: str) -> list[dict]:
        answer = requests.get(self.base + "/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, promql: str) -> dict[str, float]:
        """The query's result as {its one label's value, or '' for none: number} (aggregate `by` one label)."""
        found = {}
        for item in self.query(promql):
            labels = [value for name, value in item["metric"].items() if name != "__name__"]
            assert len(labels) <= 1, item
            found[labels[0] if labels else ""] = float(item["value"][1])
        return found

    def eventually(self, promql: str, expected, timeout: float = 60) -> dict[str, float]:
        """Waits (scrapes come every 15 s) until the query returns what `expected` accepts."""
        deadline = time.time() + timeout
        found: dict[str, float] = {}
        while time.time() < deadline:
            found = self.value(promql)
            if expected(found):
                return found
            time.sleep(1)
        raise AssertionError(f"{promql} -> {found}")

    def names(self) -> set[str]:
        return set(requests.get(self.base + "/api/v1/label/__name__/values", timeout=10).json()["data"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def json_lines(log: str) -> list[dict]:
    """Every line of a JSON log, parsed (a line that is not JSON fails the test)."""
    parsed = []
    for line in log.splitlines():
        if line.strip():
            try:
                parsed.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON log line: {line!r}") from None
    return parsed


def test_prometheus_scrapes_an_api_server_and_a_worker_with_the_committed_configuration(tmp_path, redis, server_factory, audio):
    env = {"REDIS_URL": redis.url, "LOG_FORMAT": "json", **FAST}
    api = server_factory(env=env, workers=0, data_dir=tmp_path / "shared").start()
    metrics_port = free_port()
    workers = WorkerProcesses(tmp_path / "shared", env)
    worker = workers.add({"METRICS_PORT": str(metrics_port)})
    prometheus = Prometheus(tmp_path / "prometheus", [f"127.0.0.1:{api.port}"], [f"127.0.0.1:{metrics_port}"])
    try:
        pro, pro_secret = api.new_key_with_secret("pro@example.com", "PRO")
        free, free_secret = api.new_key_with_secret("free@example.com", "FREE")
        submitted = [api.submitted(pro, audio["wav"]), api.submitted(pro, audio["ogg"]), api.submitted(free, audio["mp3"])]
        keys = [pro, pro, free]
        for key, transcription_id in zip(keys, submitted):
            assert api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED"
        result = api.get(pro, f"/api/v1/transcriptions/{submitted[0]}/result?format=text")
        assert overlap(ENGLISH, result.text) >= 0.8

        both_up = prometheus.eventually('sum by (job) (up{job=~"whisperapi-.*"})', lambda v: v == {"whisperapi-api": 1, "whisperapi-worker": 1})
        assert both_up
        completed = prometheus.eventually(
            'sum by (plan) (whisperapi_job_attempts_total{outcome="completed"})', lambda v: v.get("PRO") == 2 and v.get("FREE") == 1)
        assert completed == {"PRO": 2.0, "FREE": 1.0}
        waits = prometheus.value("sum(whisperapi_job_wait_seconds_count)")
        assert waits == {"": 3.0}, "one wait observation per job"
        assert prometheus.value("sum(whisperapi_job_processing_seconds_count)") == {"": 3.0}
        audio_seconds = prometheus.value('sum by (engine) (whisperapi_engine_audio_seconds_total)')
        assert audio_seconds.get("faster-whisper", 0) > 5, audio_seconds
        assert prometheus.value("sum(whisperapi_engine_batch_size_count)")[""] >= 3
        # The queue's own counts, read by the API server at its scrape.
        queue = prometheus.eventually('sum by (state) (whisperapi_queue_jobs{job="whisperapi-api"})', lambda v: v.get("completed") == 3)
        assert queue["waiting"] == 0 and queue["active"] == 0
        assert prometheus.value('sum by (plan) (whisperapi_queue_waiting_jobs)') == {"FREE": 0, "PRO": 0, "PAYG": 0}
        accepted = prometheus.value('sum(whisperapi_http_requests_total{route="/api/v1/transcribe", method="POST", status="202"})')
        assert accepted == {"": 3.0}
        assert prometheus.value("sum(whisperapi_upload_bytes_total)")[""] >= sum(audio[n].stat().st_size for n in ("wav", "ogg", "mp3"))
        assert prometheus.value("sum(whisperapi_worker_slots)") == {"": 1.0}
        # No label carries an id: every route label is a template.
        routes = {item["metric"]["route"] for item in prometheus.query("whisperapi_http_requests_total")}
        assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", route) for route in routes), routes

        # Every query of the Grafana dashboard names metrics that exist.
        dashboard = json.loads((DEPLOY / "grafana" / "whisperapi.json").read_text())
        names = prometheus.names()
        queried = {
            re.sub(r"_(bucket|sum|count)$", "", name)
            for panel in dashboard["panels"] for target in panel["targets"] for name in re.findall(r"whisperapi_[a-z_]+", target["expr"])
        }
        exported = {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}
        assert len(queried) >= 15 and queried <= exported, queried - exported
        rules = subprocess.run(["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")], capture_output=True, text=True)
        assert rules.returncode == 0, rules.stdout + rules.stderr
        # Every alert rule's metrics exist too.
        alert_metrics = set(re.findall(r"whisperapi_[a-z_]+", (DEPLOY / "prometheus" / "alerts.yml").read_text()))
        assert {re.sub(r"_(bucket|sum|count)$", "", name) for name in alert_metrics} <= exported

        # Both processes logged JSON lines only, with request, job and user ids, and never a key or secret.
        secrets = [pro, free, pro_secret, free_secret]
        for log in (api.log(), worker.log()):
            json_lines(log)
            assert not any(secret in log for secret in secrets)
            assert "X-Amz-Signature" not in log and "signature=" not in log
        api_lines = json_lines(api.log())
        queued = [line for line in api_lines if line["message"] == "transcription queued"]
        assert {line["jobId"] for line in queued} >= set(submitted)
        assert all(line["requestId"] and line["userId"] for line in queued)
        accesses = [line for line in api_lines if line["message"] == "request" and line["path"] == "/api/v1/transcribe"]
        assert len(accesses) == 3 and all(line["status"] == "202" and line["userId"] for line in accesses)
        worker_lines = json_lines(worker.log())
        started = [line for line in worker_lines if line["message"] == "job started"]
        assert {line["jobId"] for line in started} and all(line["userId"] and line["timestamp"].endswith("Z") for line in started)
    finally:
        prometheus.stop()
        workers.kill_all()


def test_a_request_id_is_returned_and_a_callers_own_is_kept(server):
    own = requests.get(server.base + "/health", headers={"X-Request-Id": "trace-abc_1.2"}, timeout=5)
    assert own.headers["X-Request-Id"] == "trace-abc_1.2"
    refused = requests.get(server.base + "/api/v1/transcriptions", headers={"X-Request-Id": "bad id\twith spaces"}, timeout=5)
    assert refused.status_code == 401
    assert re.fullmatch(r"[0-9a-f-]{36}", refused.headers["X-Request-Id"])


def test_a_worker_stopped_during_a_job_finishes_it_within_the_grace_period(cluster, audio):
    api, add_worker = cluster
    worker = add_worker({"SHUTDOWN_GRACE_SECONDS": "120"})
    key = api.bootstrap_key
    transcription_id = api.submitted(key, audio["long"])
    api.wait_for(key, transcription_id, {"PROCESSING"}, timeout=120)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=150) == 0
    status = api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=30)
    assert status["status"] == "COMPLETED", status
    log = worker.log()
    assert "draining: taking no new jobs; waiting for the running ones" in log
    assert log.count("job started") == 1 and log.count("job completed") == 1 and "job released" not in log


def test_a_job_longer_than_the_grace_period_is_handed_back_and_completed_once_by_another_worker(cluster, audio):
    api, add_worker = cluster
    first = add_worker({"SHUTDOWN_GRACE_SECONDS": "1"})
    key = api.bootstrap_key
    transcription_id = api.submitted(key, audio["long"], model="base")
    api.wait_for(key, transcription_id, {"PROCESSING"}, timeout=120)
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(timeout=30) == 0
    assert "draining: grace period over; handing running jobs back to the queue" in first.log()
    assert "job released for another worker" in first.log() and "job completed" not in first.log()
    second = add_worker()
    status = api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=300)
    assert status["status"] == "COMPLETED", status
    assert second.completed_jobs() == 1 and first.completed_jobs() == 0


def test_an_api_server_stopped_during_a_100_mb_upload_lets_it_finish(server_factory, tmp_path):
    api = server_factory(workers=0, env={"MAX_FILE_SIZE": str(200 * 1024 * 1024), "PLAN_PRO_MAX_FILE_SIZE": str(200 * 1024 * 1024)}).start()
    key = api.new_key("big@example.com", "PRO")
    size = 100 * 1024 * 1024
    header = wav_header(size - 44)
    chunk = bytes(1024 * 1024)
    sent = threading.Event()

    def body():
        boundary = b"--upload-boundary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n' + header
        remaining = size - 44
        while remaining > 0:
            piece = chunk[: min(len(chunk), remaining)]
            remaining -= len(piece)
            yield piece
            if remaining < size // 2:
                sent.set()
                time.sleep(0.02)  # the second half arrives slowly, after the stop began
        yield b"\r\n--upload-boundary--\r\n"

    answer: dict = {}

    def upload():
        answer["response"] = requests.post(
            api.base + "/api/v1/transcribe", data=body(), timeout=120,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=upload-boundary"})

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(60)
    api.process.send_signal(signal.SIGTERM)
    thread.join(120)
    response = answer["response"]
    assert response.status_code == 202, response.text
    assert api.process.wait(timeout=60) == 0
    assert "stopping: accepting no new connections; finishing in-flight requests" in api.log()
    assert "requests=1" in api.log() or '"requests":"1"' in api.log()


def wav_header(data_bytes: int) -> bytes:
    """A 16 kHz mono 16-bit WAV header for `data_bytes` of samples."""
    import struct

    return b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data_bytes)


def test_the_systemd_units_verify_and_their_settings_are_documented(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {unit.name for unit in units} == {"whisperapi.service", "whisperapi-worker@.service"}
    for unit in units:
        target = tmp_path / (unit.name.replace("@.", "@1.") if "@" in unit.name else unit.name)
        shutil.copy(unit, target)
        done = subprocess.run([analyze, "verify", "--man=no", str(target)], capture_output=True, text=True)
        complaints = [line for line in (done.stdout + done.stderr).splitlines()
                      if line.strip() and "is not executable: No such file or directory" not in line]
        assert complaints == [], complaints  # only the binary, which a deployment builds, may be missing here
    readme = (ROOT / "README.md").read_text()
    settings = [line.split("=", 1)[0] for line in (DEPLOY / "systemd" / "whisperapi.env").read_text().splitlines()
                if line and not line.startswith("#")]
    assert len(settings) >= 10
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    plan_setting = re.compile(r"PLAN_(FREE|PRO|PAYG)_(CONCURRENT_JOBS|REQUESTS_PER_MINUTE|MAX_FILE_SIZE|MONTHLY_MINUTES|MODELS|MAX_WAITING)")
    undocumented = [name for name in settings if name not in documented and not plan_setting.fullmatch(name)]
    assert undocumented == [], undocumented
