"""Tracing: an OTLP/HTTP receiver started here gets one trace per upload, from the API request through the queue to
the worker's download, engine run and result upload, for a Swift worker and for the Python cloud worker."""
from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from e2e.conftest import FAST
from e2e.support import WorkerProcesses, free_port
from e2e.test_cloud import CloudWorker

WORKER_STEPS = {"transcription job", "download audio", "engine run", "upload result"}


class Receiver:
    """A few lines of OTLP/HTTP collector: every exported span, by trace id."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

        self.spans: list[dict] = []
        lock = threading.Lock()
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with lock:
                    for resource in request.resource_spans:
                        service = next((a.value.string_value for a in resource.resource.attributes if a.key == "service.name"), "")
                        for scope in resource.scope_spans:
                            for span in scope.spans:
                                spans.append({
                                    "service": service, "name": span.name, "trace": span.trace_id.hex(), "id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex(),
                                    "attributes": {a.key: a.value for a in span.attributes},
                                })
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def trace(self, trace_id: str, wanted: set[str], timeout: float = 60) -> list[dict]:
        """The spans of one trace, once every name in `wanted` has arrived (spans are exported in batches)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [span for span in self.spans if span["trace"] == trace_id]
            if wanted <= {span["name"] for span in found}:
                return found
            time.sleep(0.5)
        raise AssertionError(f"trace {trace_id}: wanted {wanted}, got {[(s['service'], s['name']) for s in self.spans]}")

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def receiver():
    server = Receiver()
    yield server
    server.stop()


def traced_submit(api, key, path) -> tuple[str, str]:
    """Submits with a `traceparent` of the caller's own, as an instrumented client would; returns the trace id and the
    transcription's id."""
    trace_id = secrets.token_hex(16)
    with open(path, "rb") as handle:
        response = requests.post(
            api.base + "/api/v1/transcribe", files={"file": (path.name, handle)}, timeout=60,
            headers={"Authorization": f"Bearer {key}", "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert response.status_code == 202, response.text
    return trace_id, response.json()["data"]["transcriptionId"]


def assert_one_tree(spans: list[dict]) -> None:
    """Every span's parent is in the trace, except the root's (the caller's span, outside this service)."""
    ids = {span["id"] for span in spans}
    roots = [span for span in spans if span["parent"] not in ids]
    assert len(roots) == 1, [(s["service"], s["name"], s["parent"]) for s in roots]


def test_one_trace_covers_the_request_the_queue_and_a_swift_worker(receiver, redis, server_factory, tmp_path, audio):
    env = {"REDIS_URL": redis.url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, **FAST}
    api = server_factory(env=env, workers=0, data_dir=tmp_path / "shared").start()
    workers = WorkerProcesses(tmp_path / "shared", env)
    try:
        worker = workers.add()
        key = api.bootstrap_key
        trace_id, transcription_id = traced_submit(api, key, audio["wav"])
        assert api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED"
        spans = receiver.trace(trace_id, {"/api/v1/transcribe", "upload audio", "enqueue job"} | WORKER_STEPS)
        by_name = {span["name"]: span for span in spans}
        assert by_name["/api/v1/transcribe"]["service"] == "whisperapi"
        assert by_name["upload audio"]["parent"] == by_name["enqueue job"]["parent"] == by_name["/api/v1/transcribe"]["id"]
        assert {by_name[name]["service"] for name in WORKER_STEPS} == {"whisperapi-worker"}
        assert by_name["transcription job"]["parent"] == by_name["enqueue job"]["id"]
        for step in WORKER_STEPS - {"transcription job"}:
            assert by_name[step]["parent"] == by_name["transcription job"]["id"], step
        assert by_name["engine run"]["attributes"]["whisperapi.engine"].string_value == "faster-whisper"
        assert_one_tree(spans)
        assert worker.completed_jobs() == 1
    finally:
        workers.kill_all()


@pytest.mark.skipif(not os.environ.get("TEST_S3_ENDPOINT"), reason="needs TEST_S3_ENDPOINT (make test starts moto)")
def test_the_python_cloud_worker_continues_the_trace(receiver, redis, server_factory, tmp_path, audio):
    import boto3

    bucket = "traces-" + uuid.uuid4().hex[:8]
    boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"], aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    env = {
        "REDIS_URL": redis.url, "S3_BUCKET": bucket, "S3_ENDPOINT": os.environ["TEST_S3_ENDPOINT"], "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s", "S3_FORCE_PATH_STYLE": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
    }
    api = server_factory(env=env, workers=0).start()
    cloud = CloudWorker(tmp_path / "cloud", env)
    try:
        trace_id, transcription_id = traced_submit(api, api.bootstrap_key, audio["wav"])
        assert api.wait_for(api.bootstrap_key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED"
        spans = receiver.trace(trace_id, {"/api/v1/transcribe", "enqueue job"} | WORKER_STEPS)
        by_name = {span["name"]: span for span in spans}
        assert {by_name[name]["service"] for name in WORKER_STEPS} == {"whisperapi-cloud-worker"}
        assert by_name["transcription job"]["parent"] == by_name["enqueue job"]["id"]
        assert by_name["engine run"]["parent"] == by_name["transcription job"]["id"]
        assert_one_tree(spans)
    finally:
        assert cloud.stop() == 0, cloud.log()[-2000:]
