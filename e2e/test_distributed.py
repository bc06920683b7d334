"""End to end on Redis: `whisperapi serve --workers 0` plus standalone `whisperapi worker` processes."""
from __future__ import annotations

import signal
import time

import pytest

from e2e.conftest import ENGLISH, FAST, LONG, SECOND
from e2e.support import WorkerProcess, cancel_on_worker, overlap, pid_alive

def test_two_worker_processes_share_the_queue_and_every_job_completes(cluster, audio):
    api, add_worker = cluster
    key = api.bootstrap_key
    workers = [add_worker(), add_worker()]
    clips = [(audio["wav"], ENGLISH), (audio["ogg"], SECOND), (audio["mp3"], ENGLISH), (audio["wav"], ENGLISH)]
    ids = [(api.submitted(key, path), reference) for path, reference in clips]
    for transcription_id, reference in ids:
        status = api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=240)
        assert status["status"] == "COMPLETED", status
        text = api.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text
        assert overlap(reference, text) >= 0.8, text
    assert all(worker.completed_jobs() >= 1 for worker in workers), [w.completed_jobs() for w in workers]
    assert sum(worker.completed_jobs() for worker in workers) == len(clips)


def test_cancelling_a_job_running_on_a_worker_process_stops_it_in_the_engine_which_serves_on(cluster, audio):
    api, add_worker = cluster
    key = api.bootstrap_key
    worker = add_worker()
    long_id = api.submitted(key, audio["long"], model="base")
    api.wait_for(key, long_id, {"PROCESSING"}, timeout=60)
    deadline = time.time() + 30
    while not worker.engine_pids() and time.time() < deadline:
        time.sleep(0.1)
    engines = worker.engine_pids()
    assert engines
    assert cancel_on_worker(api, key, long_id, worker) < 4, "a cancel reaches another process's engine within a lock renewal"
    assert api.status(key, long_id)["status"] == "CANCELLED"
    short_id = api.submitted(key, audio["wav"])
    assert api.wait_for(key, short_id, {"COMPLETED", "FAILED"}, timeout=120)["status"] == "COMPLETED"
    assert worker.engine_pids() == engines and all(pid_alive(pid) for pid in engines), "the engine goes on serving"
    assert api.status(key, long_id)["status"] == "CANCELLED"


def test_a_worker_killed_mid_job_is_recovered_by_the_stalled_sweep_exactly_once(cluster, audio, redis):
    api, add_worker = cluster
    key = api.bootstrap_key
    doomed = add_worker()
    transcription_id = api.submitted(key, audio["long"])
    api.wait_for(key, transcription_id, {"PROCESSING"}, timeout=60)
    doomed.stop(signal.SIGKILL)
    survivor = add_worker()
    status = api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=300)
    assert status["status"] == "COMPLETED", status
    assert survivor.completed_jobs() == 1
    events = redis.client().xrange("bull:transcription:events")
    completions = [fields for _, fields in events if fields.get("event") == "completed" and fields.get("jobId") == transcription_id]
    assert len(completions) == 1
    assert any(fields.get("event") == "stalled" and fields.get("jobId") == transcription_id for _, fields in events)
    text = api.get(key, f"/api/v1/transcriptions/{transcription_id}/result?format=text").text
    assert overlap(LONG, text) >= 0.8


def test_jobs_complete_across_a_redis_restart(cluster, audio, redis):
    api, add_worker = cluster
    key = api.bootstrap_key
    add_worker()
    ids = [api.submitted(key, audio["wav"]) for _ in range(3)]
    api.wait_for(key, ids[0], {"PROCESSING", "COMPLETED"}, timeout=60)
    redis.restart()
    ids += [submit_with_retry(api, key, audio["mp3"])]
    for transcription_id in ids:
        assert api.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=300)["status"] == "COMPLETED"
    listed = api.get(key, "/api/v1/transcriptions?limit=100").json()["data"]["items"]
    assert sorted(item["id"] for item in listed) == sorted(ids), "a refused upload leaves no row behind"


def submit_with_retry(api, key, path) -> str:
    """The API answers 503 QUEUE_UNAVAILABLE while Redis is away; a client retries."""
    for _ in range(50):
        response = api.submit(key, path)
        if response.status_code == 202:
            return response.json()["data"]["transcriptionId"]
        assert response.status_code == 503 and response.json()["error"]["code"] == "QUEUE_UNAVAILABLE", response.text
        time.sleep(0.2)
    raise AssertionError("the queue did not come back")


def test_the_api_catches_up_on_events_that_happened_while_it_was_down(tmp_path, redis, server_factory, audio):
    env = {"REDIS_URL": redis.url, **FAST}
    api = server_factory(env=env, workers=0, data_dir=tmp_path / "shared").start()
    key = api.bootstrap_key
    transcription_id = api.submitted(key, audio["wav"])
    api.stop()
    worker = WorkerProcess(tmp_path / "shared", env)
    try:
        deadline = time.time() + 120
        while worker.completed_jobs() < 1 and time.time() < deadline:
            time.sleep(0.2)
        assert worker.completed_jobs() == 1
        again = server_factory(env=env, workers=0, data_dir=tmp_path / "shared")
        again.port = api.port
        again.start()
        assert again.wait_for(key, transcription_id, {"COMPLETED", "FAILED"}, timeout=30)["status"] == "COMPLETED"
    finally:
        worker.stop(signal.SIGKILL)
