"""End to end: the real `whisperapi serve` binary, real Whisper, real speech, over HTTP."""
from __future__ import annotations

import os
import signal
import sqlite3
import time

import requests

from e2e.conftest import ENGLISH, LONG, SECOND
from e2e.support import overlap, parse_srt, parse_vtt, pid_alive


def test_first_start_prints_one_admin_key_that_works(server):
    key = server.bootstrap_key
    assert key, server.log()
    assert server.log().count(key) == 1
    assert server.get(key, "/api/v1/transcriptions").status_code == 200
    database = (server.data_dir / "whisperapi.sqlite").read_bytes()
    assert key.encode() not in database, "the plaintext key must never be stored"


def test_speech_in_wav_mp3_and_ogg_transcribes(server, audio):
    key = server.bootstrap_key
    submitted = {}
    for kind, reference in (("wav", ENGLISH), ("mp3", ENGLISH), ("ogg", SECOND)):
        response = server.submit(key, audio[kind])
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["success"] is True and body["data"]["status"] == "QUEUED"
        submitted[kind] = (body["data"]["transcriptionId"], reference)
    for kind, (transcription_id, reference) in submitted.items():
        status = server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})
        assert status["status"] == "COMPLETED", status
        assert status["progress"] == 100
        assert status["durationSeconds"] > 3
        text = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text
        assert overlap(reference, text) >= 0.8, (kind, text)

    transcription_id = submitted["wav"][0]
    srt = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=srt")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    cues = parse_srt(srt.text)
    assert cues and overlap(ENGLISH, " ".join(c[2] for c in cues)) >= 0.8
    vtt = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert len(parse_vtt(vtt.text)) == len(cues)
    as_json = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=json").json()
    assert overlap(ENGLISH, as_json["text"]) >= 0.8
    verbose = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=verbose_json").json()
    assert verbose["language"] == "en" and verbose["segments"] and verbose["duration"] > 3
    listing = server.get(key, "/api/v1/transcriptions").json()["data"]["items"]
    assert [item["id"] for item in listing][-1] == submitted["wav"][0], "newest first"


def test_base_model_detects_german(server, audio):
    key = server.bootstrap_key
    response = server.submit(key, audio["german"], model="base")
    assert response.status_code == 202, response.text
    transcription_id = response.json()["data"]["transcriptionId"]
    status = server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})
    assert status["status"] == "COMPLETED", status
    detail = server.get(key, f"/api/v1/transcriptions/{transcription_id}").json()["data"]
    assert detail["language"] == "de"
    text = server.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text
    assert overlap("guten morgen wie geht es dir heute", text) >= 0.6, text


def test_payg_job_overtakes_waiting_free_jobs(server_factory, audio):
    server = server_factory(env={"QUEUE_CONCURRENCY": "1"})
    free = server.new_key("free@example.com", "FREE")
    payg = server.new_key("payg@example.com", "PAYG")
    server.start()
    jobs = []
    for _ in range(3):
        jobs.append(("free", server.submit(free, audio["wav"]).json()["data"]["transcriptionId"]))
    jobs.append(("payg", server.submit(payg, audio["wav"]).json()["data"]["transcriptionId"]))
    keys = {"free": free, "payg": payg}
    finished: list[str] = []
    deadline = time.time() + 240
    while len(finished) < len(jobs) and time.time() < deadline:
        for owner, transcription_id in jobs:
            if transcription_id not in finished and server.status(keys[owner], transcription_id)["status"] == "COMPLETED":
                finished.append(transcription_id)
        time.sleep(0.1)
    assert len(finished) == 4, server.log()[-3000:]
    payg_id, last_free_id = jobs[3][1], jobs[2][1]
    assert finished.index(payg_id) < finished.index(last_free_id), finished


def test_cancelling_a_running_job_stops_it_in_the_shared_engine_which_serves_on(server_factory, audio):
    server = server_factory(env={"QUEUE_CONCURRENCY": "2"}).start()
    key = server.bootstrap_key
    long_id = server.submit(key, audio["long"], model="base").json()["data"]["transcriptionId"]
    server.wait_for(key, long_id, {"PROCESSING"}, timeout=60)
    deadline = time.time() + 30
    while not server.child_pids() and time.time() < deadline:
        time.sleep(0.1)
    engines = server.child_pids()
    assert len(engines) == 1, "one engine process serves every slot of the worker"
    short_id = server.submit(key, audio["wav"]).json()["data"]["transcriptionId"]
    time.sleep(1.0)
    cancelled_at = time.time()
    response = requests.delete(
        f"{server.base}/api/v1/transcribe/{long_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.json()["data"] == {"transcriptionId": long_id, "cancelled": True, "status": "CANCELLED"}
    while "job stopped: cancelled" not in server.log() and time.time() - cancelled_at < 5:
        time.sleep(0.05)
    assert time.time() - cancelled_at < 2.0, "the worker stops the job within 2 s"
    assert server.wait_for(key, short_id, {"COMPLETED", "FAILED"}, timeout=120)["status"] == "COMPLETED"
    assert server.child_pids() == engines and all(pid_alive(pid) for pid in engines), "the engine goes on serving"
    assert server.status(key, long_id)["status"] == "CANCELLED"


def test_an_engine_crash_mid_batch_fails_only_its_attempts_which_complete_on_retry(server_factory, audio):
    server = server_factory(env={"QUEUE_CONCURRENCY": "2", "QUEUE_RETRY_DELAY": "200"}).start()
    key = server.bootstrap_key
    ids = [server.submit(key, audio["long"]).json()["data"]["transcriptionId"] for _ in range(2)]
    for transcription_id in ids:
        server.wait_for(key, transcription_id, {"PROCESSING"}, timeout=60)
    engines = server.child_pids()
    assert len(engines) == 1
    time.sleep(1.0)
    os.kill(engines[0], signal.SIGKILL)
    for transcription_id in ids:
        final = server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=300)
        assert final["status"] == "COMPLETED", final
    assert server.child_pids() and server.child_pids() != engines, "a new engine took over"
    assert server.log().count("ENGINE_CRASHED") >= 2, "both attempts in the crashed engine failed and were retried"


def test_job_survives_kill_9_of_the_server_and_completes_exactly_once(server_factory, audio):
    env = {"QUEUE_CONCURRENCY": "1", "QUEUE_LOCK_DURATION": "3000"}
    first = server_factory(env=env).start()
    key = first.bootstrap_key
    transcription_id = first.submit(key, audio["long"]).json()["data"]["transcriptionId"]
    first.wait_for(key, transcription_id, {"PROCESSING"}, timeout=60)
    engines = first.child_pids()
    first.kill9()
    deadline = time.time() + 5
    while any(pid_alive(pid) for pid in engines) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in engines), "engines die with their server"

    second = server_factory(env=env, data_dir=first.data_dir)
    second.port = first.port
    second.start()
    status = second.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=300)
    assert status["status"] == "COMPLETED", status
    text = second.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text
    assert overlap(LONG, text) >= 0.8, text
    with sqlite3.connect(first.data_dir / "whisperapi.sqlite") as db:
        completions = db.execute(
            "SELECT COUNT(*) FROM queue_events WHERE job_id = ? AND kind = 'completed'", (transcription_id,)
        ).fetchone()[0]
        state = db.execute("SELECT state FROM queue_jobs WHERE job_id = ?", (transcription_id,)).fetchone()[0]
    assert completions == 1
    assert state == "completed"
    assert "completed=1" in second.cli("queue", "stats")


def test_bad_inputs_get_clear_errors_and_the_server_stays_up(server, audio):
    key = server.bootstrap_key
    empty = server.submit(key, audio["empty"])
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "EMPTY_FILE"
    text = server.submit(key, audio["text"])
    assert text.status_code == 415 and text.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    missing = requests.post(
        server.base + "/api/v1/transcribe", headers={"Authorization": f"Bearer {key}"}, data={"model": "tiny.en"}, timeout=10
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] in {"MISSING_FILE", "INVALID_MULTIPART"}
    bad_key = server.submit("wapi_AAAAAAAA_" + "B" * 32, audio["wav"])
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "INVALID_API_KEY"
    no_key = requests.get(server.base + "/api/v1/transcriptions", timeout=10)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "UNAUTHORIZED"
    bad_model = server.submit(key, audio["wav"], model="gigantic")
    assert bad_model.status_code == 400 and "tiny.en" in bad_model.json()["error"]["allowed"]

    truncated = server.submit(key, audio["truncated"])
    assert truncated.status_code == 202, truncated.text
    transcription_id = truncated.json()["data"]["transcriptionId"]
    status = server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})
    assert status["status"] == "FAILED"
    assert "INVALID_AUDIO" in status["errorMessage"]
    assert server.get(key, f"/api/v1/transcriptions/{transcription_id}/result").status_code == 409
    assert requests.get(server.base + "/health", timeout=5).status_code == 200
    good = server.submit(key, audio["wav"]).json()["data"]["transcriptionId"]
    assert server.wait_for(key, good, {"COMPLETED", "FAILED"})["status"] == "COMPLETED"


def test_cli_keys_work_against_a_running_server(server):
    key = server.new_key("cli@example.com", "PRO")
    assert server.get(key, "/api/v1/transcriptions").status_code == 200
    prefix = key.rsplit("_", 1)[0]
    assert f"revoked {prefix}" in server.cli("keys", "revoke", prefix)
    assert server.get(key, "/api/v1/transcriptions").status_code == 401
    stats = server.cli("queue", "stats")
    assert "waiting=" in stats and "completed=" in stats
