"""Plans enforced the same on every API server: two servers on one PostgreSQL + Redis share one rate limit
and one concurrency limit, a revoked key is refused at once everywhere, and usage is metered exactly once."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from e2e.support import Redis


def call(server, method: str, path: str, key: str, **kwargs) -> requests.Response:
    return requests.request(method, server.base + path, headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)


@pytest.fixture()
def two_servers(tmp_path, server_factory):
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs TEST_DATABASE_URL (make test starts PostgreSQL)")
    database = "limits_" + uuid.uuid4().hex[:10]
    admin_url = os.environ["TEST_DATABASE_URL"]
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {database}"], check=True)
    redis = Redis(tmp_path / "redis").start()
    env = {
        "DATABASE_URL": admin_url.rsplit("/", 1)[0] + "/" + database,
        "REDIS_URL": redis.url,
        "PLAN_FREE_CONCURRENT_JOBS": "1",
        "PLAN_FREE_REQUESTS_PER_MINUTE": "25",
        "RATE_LIMIT_WINDOW_SECONDS": "6",
    }
    servers = [server_factory(env=env, workers=0, data_dir=tmp_path / name) for name in ("a", "b")]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda server: server.start(), servers))
    yield servers
    redis.stop()
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], check=False)


def test_two_servers_enforce_one_rate_limit_one_concurrency_limit_and_revocation(two_servers, audio):
    a, b = two_servers
    admin = a.bootstrap_key or b.bootstrap_key
    created = call(a, "POST", "/api/v1/admin/users", admin, json={"email": "free@example.com", "plan": "FREE"})
    assert created.status_code == 201, created.text
    submit_key = call(b, "POST", "/api/v1/admin/users/free@example.com/keys", admin, json={"name": "submits"}).json()["data"]["key"]
    read_key = call(a, "POST", "/api/v1/admin/users/free@example.com/keys", admin, json={"name": "reads"}).json()["data"]
    assert call(b, "GET", "/api/v1/admin/users", submit_key).status_code == 403, "not an admin"

    # 20 simultaneous submits, alternating between the servers: exactly one is accepted.
    def submit(index: int) -> requests.Response:
        server = (a, b)[index % 2]
        with open(audio["wav"], "rb") as handle:
            return call(server, "POST", "/api/v1/transcribe", submit_key, files={"file": ("speech.wav", handle)})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(submit, range(20)))
    codes = [answer.status_code for answer in answers]
    assert codes.count(202) == 1, [answer.text for answer in answers]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(refused) == 19 and all(r.json()["error"]["code"] == "TOO_MANY_CONCURRENT_JOBS" for r in refused)
    assert all("Retry-After" in r.headers for r in refused)

    # One rate limit for the key across both servers: 25 allowed, the 26th refused, whichever server.
    remaining = []
    for index in range(25):
        answer = call((a, b)[index % 2], "GET", "/api/v1/usage", read_key["key"])
        assert answer.status_code == 200, (index, answer.text)
        assert answer.headers["RateLimit-Limit"] == "25"
        remaining.append(int(answer.headers["RateLimit-Remaining"]))
    assert remaining == list(range(24, -1, -1))
    over = call(b, "GET", "/api/v1/usage", read_key["key"])
    assert over.status_code == 429 and over.json()["error"]["code"] == "RATE_LIMITED", over.text
    assert call(a, "GET", "/api/v1/usage", read_key["key"]).status_code == 429
    wait = int(over.headers["Retry-After"])
    assert 1 <= wait <= 6 and over.headers["RateLimit-Reset"] == str(wait)
    time.sleep(wait + 0.5)
    again = call(a, "GET", "/api/v1/usage", read_key["key"])
    assert again.status_code == 200 and again.headers["RateLimit-Remaining"] == "24"

    # A key revoked through one server is refused at once by both.
    revoked = call(b, "DELETE", f"/api/v1/admin/keys/{read_key['prefix']}", admin)
    assert revoked.status_code == 200, revoked.text
    assert call(a, "GET", "/api/v1/usage", read_key["key"]).status_code == 401
    assert call(b, "GET", "/api/v1/usage", read_key["key"]).status_code == 401


def test_usage_is_the_sum_of_completed_audio_after_retries_and_a_restart(server_factory, audio):
    server = server_factory(env={"QUEUE_RETRY_DELAY": "200"}).start()
    key = server.bootstrap_key
    completed = [server.submit(key, audio[name]).json()["data"]["transcriptionId"] for name in ("wav", "ogg")]
    failing = server.submit(key, audio["truncated"]).json()["data"]["transcriptionId"]
    durations = []
    for transcription_id in completed:
        status = server.wait_for(key, transcription_id, {"COMPLETED", "FAILED"})
        assert status["status"] == "COMPLETED", status
        durations.append(status["durationSeconds"])
    assert server.wait_for(key, failing, {"COMPLETED", "FAILED"})["status"] == "FAILED"
    assert call(server, "POST", f"/api/v1/transcriptions/{failing}/retry", key).status_code == 200
    assert server.wait_for(key, failing, {"COMPLETED", "FAILED"})["status"] == "FAILED"
    server.stop()
    server.start()
    usage = call(server, "GET", "/api/v1/usage", key).json()["data"]
    assert usage["jobs"] == 2, usage
    assert abs(usage["audioSeconds"] - sum(durations)) < 0.01, (usage, durations)
    assert usage["quotaMinutes"] is None and usage["remainingMinutes"] is None, "PAYG: unlimited, metered"
    admin_view = call(server, "GET", "/api/v1/admin/users/admin@localhost/usage", key).json()["data"]
    assert admin_view["jobs"] == 2
    listed = server.cli("users", "usage", "--user", "admin@localhost")
    assert "2 job(s)" in listed, listed


def test_ten_identical_submits_with_one_idempotency_key_across_two_servers_make_one_job(two_servers, audio):
    a, b = two_servers
    admin = a.bootstrap_key or b.bootstrap_key
    assert call(a, "POST", "/api/v1/admin/users", admin, json={"email": "pro@example.com", "plan": "PRO"}).status_code == 201
    key = call(b, "POST", "/api/v1/admin/users/pro@example.com/keys", admin, json={"name": "retries"}).json()["data"]["key"]
    waiting_before = call(a, "GET", "/api/v1/admin/queue", admin).json()["data"]["waiting"]

    def submit(index: int) -> requests.Response:
        with open(audio["wav"], "rb") as handle:
            return requests.post((a, b)[index % 2].base + "/api/v1/transcribe", files={"file": ("speech.wav", handle)}, timeout=60,
                                 headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "upload-7f3a"})

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(submit, range(10)))
    assert [answer.status_code for answer in answers] == [202] * 10, [answer.text for answer in answers]
    assert len({answer.json()["data"]["transcriptionId"] for answer in answers}) == 1
    assert len(call(b, "GET", "/api/v1/transcriptions", key).json()["data"]["items"]) == 1
    assert call(a, "GET", "/api/v1/admin/queue", admin).json()["data"]["waiting"] == waiting_before + 1, "one job queued"
    # The same key with another request is refused on either server.
    with open(audio["mp3"], "rb") as handle:
        other = requests.post(b.base + "/api/v1/transcribe", files={"file": ("speech.mp3", handle)}, timeout=60,
                              headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "upload-7f3a"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
