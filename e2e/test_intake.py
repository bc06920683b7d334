"""Intake beyond uploads: `audio_url` downloaded by the API server from a local HTTP server started here, and
`vad_filter` skipping silence, and deletion that leaves nothing in storage."""
from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import requests

from e2e.conftest import ENGLISH
from e2e.support import free_port, overlap, read_wav, write_wav


class MediaServer:
    """Serves the test's audio, and answers badly on purpose: a redirect, a 404, a slow answer, an endless body."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.requests: list[str] = []
        media = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                media.requests.append(self.path)
                name = self.path.lstrip("/")
                if name == "redirect":
                    self.answer(302, b"", {"Location": "/english.wav"})
                elif name == "slow":
                    time.sleep(6)
                    self.answer(200, files["english.wav"].read_bytes())
                elif name == "endless.wav":
                    # A WAV header and then more data than any plan allows, without a Content-Length.
                    self.send_response(200)
                    self.end_headers()
                    try:
                        self.wfile.write(files["english.wav"].read_bytes()[:44])
                        for _ in range(200):
                            self.wfile.write(bytes(1 << 20))
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif name in files:
                    self.answer(200, files[name].read_bytes())
                else:
                    self.answer(404, b"not here")

            def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def media(audio):
    server = MediaServer({"english.wav": audio["wav"], "english.mp3": audio["mp3"], "notes.mp3": audio["text"]})
    yield server
    server.stop()


def submit_url(server, key: str, url: str, as_json: bool = False, **fields: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if as_json:
        return requests.post(server.base + "/api/v1/transcribe", json={"audio_url": url, **fields}, headers=headers, timeout=60)
    return requests.post(server.base + "/api/v1/transcribe", files={"audio_url": (None, url), **{k: (None, v) for k, v in fields.items()}},
                         headers=headers, timeout=60)


def stored_files(server) -> list[Path]:
    return [path for path in (server.data_dir / "storage").rglob("*") if path.is_file()]


def test_an_audio_url_is_downloaded_and_transcribed(server_factory, media):
    server = server_factory(env={"INTAKE_ALLOW_PRIVATE": "true", "INTAKE_TIMEOUT_SECONDS": "3", "PLAN_PRO_MAX_FILE_SIZE": str(50 * 1024 * 1024)}).start()
    key = server.bootstrap_key
    pro = server.new_key("pro@example.com", "PRO")
    ids = []
    for url, as_json in ((media.base + "/english.mp3", False), (media.base + "/redirect", True)):
        response = submit_url(server, key, url, as_json=as_json, format="text")
        assert response.status_code == 202, response.text
        ids.append(response.json()["data"]["transcriptionId"])
    for transcription_id in ids:
        assert server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=180)["status"] == "COMPLETED"
        assert overlap(ENGLISH, server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text) >= 0.8
    assert server.get(key, f"/api/v1/transcriptions/{ids[0]}").json()["data"]["originalFilename"] == "english.mp3"
    assert "/redirect" in media.requests and media.requests.count("/english.wav") == 1

    before = stored_files(server)
    failures = {
        "missing.wav": (422, "AUDIO_URL_UNREACHABLE", "404"),
        "slow": (422, "AUDIO_URL_UNREACHABLE", "in time"),
        "notes.mp3": (415, "UNSUPPORTED_MEDIA_TYPE", ""),
        "endless.wav": (413, "FILE_TOO_LARGE", "50 MB"),
    }
    for name, (status, code, said) in failures.items():
        started = time.time()
        response = submit_url(server, pro, f"{media.base}/{name}")
        assert response.status_code == status and response.json()["error"]["code"] == code, (name, response.text)
        assert said in response.json()["error"]["message"], response.text
        assert time.time() - started < 10, f"{name} took {time.time() - started:.1f} s"
    assert stored_files(server) == before, "a refused download stores nothing"
    for bad in ("ftp://example.com/a.wav", "not a url", "http://user:secret@127.0.0.1/a.wav"):
        response = submit_url(server, key, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_AUDIO_URL", response.text
    both = requests.post(server.base + "/api/v1/transcribe", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                         files={"file": ("a.wav", b"RIFF"), "audio_url": (None, media.base + "/english.wav")})
    assert both.status_code == 400


def test_internal_addresses_are_refused_by_default(server, media):
    for url in (media.base + "/english.wav", "http://169.254.169.254/latest/meta-data", "http://[::1]/a.wav", "http://localhost/a.wav"):
        response = submit_url(server, server.bootstrap_key, url)
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_AUDIO_URL", (url, response.text)
        assert "internal address" in response.json()["error"]["message"]
    assert media.requests == [], "nothing was fetched"


def test_vad_filter_skips_silence_with_the_same_words_and_original_timestamps(server_factory, tmp_path, audio):
    server = server_factory(workers=1).start()  # one job at a time, so that the two runs' times compare
    key = server.bootstrap_key
    resampled = tmp_path / "speech16.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(audio["wav"]), "-ar", "16000", "-ac", "1", str(resampled)], check=True)
    speech = read_wav(resampled)
    silence = np.zeros(60 * 16000, dtype=np.int16)
    clip = write_wav(tmp_path / "mostly-silence.wav", np.concatenate([silence, speech, silence]))
    speech_end = 60 + len(speech) / 16000
    server.wait_for(key, server.submitted(key, audio["wav"]), {"COMPLETED"}, timeout=180)  # the model is loaded

    def run(vad: str) -> tuple[float, dict]:
        started = time.time()
        transcription_id = server.submitted(key, clip, vad_filter=vad)
        assert server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)["status"] == "COMPLETED"
        elapsed = time.time() - started
        return elapsed, server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=verbose_json").json()

    timings = {"false": [], "true": []}
    results = {}
    for vad in ("false", "true", "false", "true"):
        elapsed, results[vad] = run(vad)
        timings[vad].append(elapsed)
    print("vad_filter timings (s):", timings)
    assert min(timings["true"]) < min(timings["false"]), timings
    for vad, result in results.items():
        assert overlap(ENGLISH, result["text"]) >= 0.8, (vad, result["text"])
    segments = results["true"]["segments"]
    assert segments and all(59.0 <= s["start"] and s["end"] <= speech_end + 1.0 for s in segments), segments
    assert results["true"]["duration"] >= 120, "the duration is the original audio's"
    bad = server.submit(key, clip, vad_filter="sometimes")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_VAD_FILTER"


@pytest.mark.skipif(not os.environ.get("TEST_S3_ENDPOINT"), reason="needs TEST_S3_ENDPOINT (make test starts moto)")
def test_a_deleted_transcription_leaves_nothing_in_the_bucket(server_factory, audio):
    import boto3

    bucket = "deletes-" + uuid.uuid4().hex[:8]
    s3 = boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"], aws_access_key_id="k", aws_secret_access_key="s",
                      region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    server = server_factory(env={
        "S3_BUCKET": bucket, "S3_ENDPOINT": os.environ["TEST_S3_ENDPOINT"], "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "k",
        "S3_SECRET_ACCESS_KEY": "s", "S3_FORCE_PATH_STYLE": "true"}, workers=1).start()
    key = server.bootstrap_key

    def objects() -> list[str]:
        return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    done = server.submitted(key, audio["wav"])
    assert server.wait_for(key, done, {"COMPLETED"}, timeout=180)["status"] == "COMPLETED"
    assert any(name.startswith("results/") for name in objects()) and any(name.startswith("audio/") for name in objects())
    running = server.submitted(key, audio["long"], model="base")
    server.wait_for(key, running, {"PROCESSING"}, timeout=120)
    for transcription_id in (running, done):
        response = requests.delete(f"{server.base}/api/v1/transcriptions/{transcription_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert response.status_code == 204, response.text
        assert server.get(key, f"/api/v1/status/{transcription_id}").status_code == 404
    time.sleep(3)  # the worker stops the cancelled run within a lock renewal; nothing of it may appear afterwards
    assert objects() == []
    # The service goes on: a new upload transcribes.
    after = server.submitted(key, audio["wav"])
    assert server.wait_for(key, after, {"COMPLETED"}, timeout=180)["status"] == "COMPLETED"


@pytest.mark.parametrize("store", ["local", "s3"])
def test_audio_and_results_are_deleted_after_their_plans_retention(store, server_factory, audio):
    env = {"PLAN_PAYG_AUDIO_RETENTION_HOURS": str(4 / 3600), "PLAN_PAYG_RESULT_RETENTION_DAYS": str(12 / 86400),
           "RETENTION_SWEEP_SECONDS": "1"}
    if store == "s3":
        if not os.environ.get("TEST_S3_ENDPOINT"):
            pytest.skip("needs TEST_S3_ENDPOINT (make test starts moto)")
        import boto3

        bucket = "retention-" + uuid.uuid4().hex[:8]
        s3 = boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT"], aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        env.update({"S3_BUCKET": bucket, "S3_ENDPOINT": os.environ["TEST_S3_ENDPOINT"], "S3_REGION": "us-east-1",
                    "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s", "S3_FORCE_PATH_STYLE": "true"})
    server = server_factory(env=env).start()
    key = server.bootstrap_key  # the admin is on PAYG

    def objects() -> list[str]:
        if store == "s3":
            return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return [str(path.relative_to(server.data_dir / "storage")) for path in stored_files(server)]

    transcription_id = server.submitted(key, audio["wav"])
    assert server.wait_for(key, transcription_id, {"COMPLETED"}, timeout=180)["status"] == "COMPLETED"
    used = server.get(key, "/api/v1/usage").json()["data"]["audioSeconds"]
    assert used > 0 and {name.split("/")[0] for name in objects()} == {"audio", "results"}

    def wait_until(condition, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while not condition() and time.time() < deadline:
            time.sleep(0.5)
        assert condition(), objects()

    # The audio goes first (4 s); the result still answers until the result retention (12 s).
    wait_until(lambda: not any(name.startswith("audio/") for name in objects()))
    if server.get(key, f"/api/v1/status/{transcription_id}").json()["data"]["status"] == "COMPLETED":
        assert server.get(key, f"/api/v1/transcriptions/{transcription_id}/audio").status_code == 410
        assert overlap(ENGLISH, server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text) >= 0.8
    wait_until(lambda: objects() == [])
    wait_until(lambda: server.get(key, f"/api/v1/status/{transcription_id}").json()["data"]["status"] == "EXPIRED")
    expired = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text")
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "EXPIRED"
    row = server.get(key, f"/api/v1/transcriptions/{transcription_id}").json()["data"]
    assert row["originalFilename"] == "english.wav" and row["durationSeconds"] > 0, "the metadata stays"
    assert server.get(key, "/api/v1/usage").json()["data"]["audioSeconds"] == used, "usage records stay"
