"""A backing service that goes away: typed 503s with nothing half-stored, and recovery when it returns."""
from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from e2e.support import ROOT, Redis, free_port


def postgres(directory, command: str, port: int | None = None) -> str:
    args = [str(ROOT / "scripts" / "test-postgres.sh"), command, str(directory)] + ([str(port)] if port else [])
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (make test installs it)")
def test_an_unreachable_database_is_a_503_and_the_api_recovers(tmp_path, server_factory, audio):
    import shutil
    import tempfile

    # Outside pytest's own (root-only) folder: the server runs as the postgres user.
    cluster = tempfile.mkdtemp(prefix="whisperapi-pg-")
    port = free_port()
    url = postgres(cluster, "start", port)
    redis = Redis(tmp_path / "redis").start()
    try:
        server = server_factory(env={"DATABASE_URL": url, "REDIS_URL": redis.url}, workers=0).start()
        key = server.bootstrap_key
        assert server.get(key, "/api/v1/transcriptions").status_code == 200
        assert requests.get(server.base + "/ready", timeout=10).status_code == 200
        postgres(cluster, "stop")
        ready = requests.get(server.base + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["error"]["allowed"] == ["database"], ready.text
        assert "database" in ready.json()["error"]["message"]
        for answer in (server.get(key, "/api/v1/transcriptions"), server.submit(key, audio["wav"])):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "DATABASE_UNAVAILABLE", answer.text
        postgres(cluster, "start", port)
        deadline = time.time() + 30
        while server.get(key, "/api/v1/transcriptions").status_code != 200 and time.time() < deadline:
            time.sleep(0.5)
        assert server.submit(key, audio["wav"]).status_code == 202
        assert requests.get(server.base + "/ready", timeout=10).status_code == 200
        assert "unhandled error" not in server.log()
    finally:
        postgres(cluster, "stop")
        redis.stop()
        shutil.rmtree(cluster, ignore_errors=True)


def test_an_unreachable_object_store_is_a_503_and_keeps_nothing(server_factory, audio):
    dead = f"http://127.0.0.1:{free_port()}"
    server = server_factory(
        env={
            "S3_BUCKET": "gone",
            "S3_ENDPOINT": dead,
            "S3_ACCESS_KEY_ID": "k",
            "S3_SECRET_ACCESS_KEY": "s",
            "S3_FORCE_PATH_STYLE": "true",
        }
    ).start()
    key = server.bootstrap_key
    ready = requests.get(server.base + "/ready", timeout=10)
    assert ready.status_code == 503 and ready.json()["error"]["allowed"] == ["storage"], ready.text
    answer = server.submit(key, audio["wav"])
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
    listed = requests.get(server.base + "/api/v1/transcriptions", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert listed.json()["data"]["items"] == [], "no transcription without its audio"


def test_a_setting_with_a_typo_stops_the_start_with_a_message_naming_it(tmp_path):
    from e2e.support import BINARY

    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": "80a", "S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s"}
    done = subprocess.run([str(BINARY), "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr  # an error exit, not a crash signal
    assert "PORT must be a whole number" in done.stderr and "'80a'" in done.stderr
    env.update(PORT=str(free_port()), S3_ENDPOINT="htp//minio:9000")
    done = subprocess.run([str(BINARY), "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "S3_ENDPOINT must be" in done.stderr and "htp//minio:9000" in done.stderr, done.stdout + done.stderr
