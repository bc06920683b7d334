"""The whisper.cpp engine end to end: a `whisperapi worker` with WHISPER_ENGINE=whisper.cpp, started with a cleared
environment (no .venv, no Python on its PATH, WHISPER_PYTHON pointing nowhere), takes jobs from Redis next to a
faster-whisper worker."""
from __future__ import annotations

import json
import time

import pytest
import requests

from e2e.conftest import ENGLISH, LONG, SECOND
from e2e.support import ROOT, Redis, WorkerProcess, WorkerProcesses, cancel_on_worker, overlap, parse_srt, parse_vtt

FAST = {"QUEUE_LOCK_DURATION": "3000", "QUEUE_STALLED_INTERVAL": "1000", "QUEUE_RETRY_DELAY": "500"}
#: Everything a whisper.cpp worker is given: no Python anywhere.
NO_PYTHON = {"WHISPER_ENGINE": "whisper.cpp", "WHISPER_PYTHON": "/nonexistent/python", "ENGINE_ROOT": str(ROOT)}


@pytest.fixture()
def cluster(tmp_path, server_factory):
    redis = Redis(tmp_path / "redis").start()
    env = {"REDIS_URL": redis.url, **FAST}
    api = server_factory(env={**env, "WHISPER_ENGINE": "whisper.cpp"}, workers=0, data_dir=tmp_path / "shared").start()
    workers = WorkerProcesses(tmp_path / "shared", env)

    def add_worker(engine: str) -> WorkerProcess:
        return workers.add(NO_PYTHON, inherit_env=False) if engine == "whisper.cpp" else workers.add()

    yield api, add_worker
    workers.kill_all()
    redis.stop()


def result(api, key, transcription_id, fmt):
    response = api.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format={fmt}")
    assert response.status_code == 200, response.text
    return response.text


def test_both_engines_take_jobs_from_one_queue_and_render_alike(cluster, audio):
    api, add_worker = cluster
    key = api.bootstrap_key
    cpp = add_worker("whisper.cpp")
    assert ".venv" not in json.dumps(cpp.env) and set(cpp.env["PATH"].split(":")) == {"/usr/bin", "/bin"}
    faster = add_worker("faster-whisper")
    clips = [(audio["wav"], ENGLISH), (audio["ogg"], SECOND), (audio["mp3"], ENGLISH), (audio["wav"], ENGLISH)]
    ids = [(api.submitted(key, path, word_timestamps="true"), reference) for path, reference in clips]
    by_engine: dict[str, list[str]] = {}
    for transcription_id, reference in ids:
        status = api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)
        assert status["status"] == "COMPLETED", status
        canonical = api.get(key, f"/api/v1/transcriptions/{transcription_id}/result?redirect=1").json()  # the stored document
        by_engine.setdefault(canonical["engine"], []).append(transcription_id)
        assert overlap(reference, canonical["text"]) >= 0.8, canonical["text"]
        assert json.loads(result(api, key, transcription_id, "json"))["text"] == canonical["text"]
        assert overlap(reference, result(api, key, transcription_id, "text")) >= 0.8
        for cues in (parse_srt(result(api, key, transcription_id, "srt")), parse_vtt(result(api, key, transcription_id, "vtt"))):
            assert cues and all(start < end for start, end, _ in cues)
            assert overlap(reference, " ".join(text for _, _, text in cues)) >= 0.8
        words = [word for segment in canonical["segments"] for word in segment.get("words") or []]
        assert words and [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert cpp.completed_jobs() >= 1 and faster.completed_jobs() >= 1, (cpp.completed_jobs(), faster.completed_jobs())
    assert set(by_engine) == {"whisper.cpp", "faster-whisper"}, by_engine
    assert cpp.engine_pids() == [], "the whisper.cpp worker starts no Python engine"
    models = requests.get(f"{api.base}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    assert {model["engine"] for model in models["data"]} == {"whisper.cpp"}


def test_progress_cancel_and_bad_audio_on_the_whisper_cpp_worker(cluster, audio):
    api, add_worker = cluster
    key = api.bootstrap_key
    cpp = add_worker("whisper.cpp")

    long_id = api.submitted(key, audio["long"])
    seen: list[int] = []
    deadline = time.time() + 240
    while time.time() < deadline:
        status = api.status(key, long_id)
        seen.append(status["progress"])
        if status["status"] in {"COMPLETED", "FAILED"}:
            break
        time.sleep(0.05)
    assert status["status"] == "COMPLETED", status
    assert seen == sorted(seen) and any(0 < p < 100 for p in seen), seen
    assert overlap(LONG, result(api, key, long_id, "text")) >= 0.8

    cancel_id = api.submitted(key, audio["long"], model="base")
    api.wait_for(key, cancel_id, {"PROCESSING"}, timeout=60)
    time.sleep(1)
    assert cancel_on_worker(api, key, cancel_id, cpp) < 4
    assert api.status(key, cancel_id)["status"] == "CANCELLED"

    assert api.submit(key, audio["text"]).status_code == 415
    broken = api.submitted(key, audio["truncated"])
    status = api.wait_for(key, broken, {"COMPLETED", "FAILED"}, timeout=60)
    assert status["status"] == "FAILED" and "INVALID_AUDIO" in status["errorMessage"], status
    after = api.submitted(key, audio["wav"])
    assert api.wait_for(key, after, {"COMPLETED", "FAILED"}, timeout=120)["status"] == "COMPLETED"
