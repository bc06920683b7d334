"""Webhooks end to end: a receiver on loopback, signed deliveries retried through the queue, the record."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from e2e.support import Redis, free_port


def verify(header: str, body: bytes, secret: str, tolerance: float = 300) -> bool:
    """Checks `WhisperAPI-Signature: t=…,v1=…` as the README tells receivers to."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver:
    """An HTTP receiver that answers 500 to its first `failures` requests, then 200."""

    def __init__(self, failures: int = 0, port: int | None = None) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.port = port or free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/whisperapi"

    def wait_for(self, count: int, timeout: float = 60) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.requests)} of {count} webhook requests arrived")

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(params=["embedded", "redis"])
def webhook_server(request, server_factory, tmp_path):
    env = {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_DELAY": "300"}
    redis = None
    if request.param == "redis":
        redis = Redis(tmp_path / "redis").start()
        env["REDIS_URL"] = redis.url
    yield server_factory(env=env).start()
    if redis:
        redis.stop()


def test_a_failing_receiver_gets_one_signed_delivery_after_retries(webhook_server, audio):
    server = webhook_server
    key, secret = server.new_key_with_secret("hooks@example.com", "PRO")
    other_key, _ = server.new_key_with_secret("other@example.com", "PRO")
    receiver = Receiver(failures=2)
    try:
        submitted = server.submit(key, audio["wav"], webhook_url=receiver.url)
        assert submitted.status_code == 202, submitted.text
        transcription_id = submitted.json()["data"]["transcriptionId"]
        assert server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
        requests_seen = receiver.wait_for(3)
        time.sleep(2)  # nothing more may come once one delivery succeeded
        assert len(receiver.requests) == 3, receiver.requests
    finally:
        receiver.stop()

    bodies = {body for _, body in requests_seen}
    assert len(bodies) == 1, "every attempt sends the same event"
    headers, body = requests_seen[-1]
    import json

    event = json.loads(body)
    assert event["event"] == "transcription.completed" and event["transcriptionId"] == transcription_id
    assert event["status"] == "COMPLETED" and event["resultUrl"].endswith(f"/transcriptions/{transcription_id}/result")
    assert headers["whisperapi-event"] == "transcription.completed"
    assert len({h["whisperapi-delivery"] for h, _ in requests_seen}) == 1
    assert [h["whisperapi-attempt"] for h, _ in requests_seen] == ["1", "2", "3"]
    for h, b in requests_seen:
        assert verify(h["whisperapi-signature"], b, secret), "signed with the key's secret"
    assert not verify(headers["whisperapi-signature"], body.replace(b"COMPLETED", b"FAILED"), secret), "a tampered body"
    assert not verify(headers["whisperapi-signature"], body, "whsec_not_the_secret"), "another secret"

    record = server.get(key, f"/api/v1/transcriptions/{transcription_id}/webhooks")
    assert record.status_code == 200, record.text
    attempts = record.json()["data"]["items"]
    assert [(a["attempt"], a["statusCode"], a["succeeded"], a["willRetry"]) for a in attempts] == [
        (1, 500, False, True),
        (2, 500, False, True),
        (3, 200, True, False),
    ], attempts
    assert server.get(other_key, f"/api/v1/transcriptions/{transcription_id}/webhooks").status_code == 404


def test_a_cancel_is_reported_once_to_the_keys_default_url(webhook_server, audio):
    import requests

    server = webhook_server
    key, secret = server.new_key_with_secret("cancel@example.com", "PRO")
    receiver = Receiver()
    try:
        response = requests.put(
            server.base + "/api/v1/keys/current/webhook",
            json={"url": receiver.url},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        transcription_id = server.submit(key, audio["long"]).json()["data"]["transcriptionId"]
        server.wait_for(key, transcription_id, {"PROCESSING"})
        cancelled = requests.delete(
            server.base + f"/api/v1/transcribe/{transcription_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert cancelled.json()["data"]["cancelled"] is True
        seen = receiver.wait_for(1)
        time.sleep(2)  # the cancel route and the status sync both queue it; one is sent
        assert len(receiver.requests) == 1, receiver.requests
    finally:
        receiver.stop()
    headers, body = seen[0]
    assert headers["whisperapi-event"] == "transcription.cancelled"
    assert verify(headers["whisperapi-signature"], body, secret)


def test_a_webhook_outlives_a_server_killed_while_its_receiver_is_down(webhook_server, audio):
    server = webhook_server
    key, secret = server.new_key_with_secret("outage@example.com", "PRO")
    port = free_port()  # nothing listens here yet
    url = f"http://127.0.0.1:{port}/hooks/whisperapi"
    transcription_id = server.submit(key, audio["wav"], webhook_url=url).json()["data"]["transcriptionId"]
    assert server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"
    deadline = time.time() + 30
    while not server.get(key, f"/api/v1/transcriptions/{transcription_id}/webhooks").json()["data"]["items"]:
        assert time.time() < deadline, "a first attempt is recorded"
        time.sleep(0.2)
    server.kill9()
    receiver = Receiver(port=port)
    try:
        server.start()
        headers, body = receiver.wait_for(1)[0]
        time.sleep(2)
        assert len(receiver.requests) == 1, receiver.requests
    finally:
        receiver.stop()
    assert headers["whisperapi-event"] == "transcription.completed"
    assert verify(headers["whisperapi-signature"], body, secret)
    attempts = server.get(key, f"/api/v1/transcriptions/{transcription_id}/webhooks").json()["data"]["items"]
    assert attempts[0]["succeeded"] is False and attempts[-1]["succeeded"] is True, attempts
