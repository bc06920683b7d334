"""Intake beyond uploads: `audio_url` downloaded by the API server from a local HTTP server started here, and
`vad_filter` skipping silence."""
from __future__ import annotations

import subprocess
import threading
import time
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
