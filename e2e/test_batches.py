"""Batches: several files and URLs in one call, one status, one `batch.completed` webhook, one zip of results, and
refusal up front when the batch cannot fit the plan."""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
import requests

from e2e.support import Redis, overlap, speak
from e2e.test_intake import MediaServer
from e2e.test_webhooks import Receiver, verify

# Sentences that tiny.en transcribes word for word from espeak-ng alone (checked with beam 5 and beam 1): a batch's
# items are packed into shared windows, and a sentence that is borderline alone ("apples and oranges" came back
# as "are in just") can fall below any threshold there.
SENTENCES = [
    "Please close the door when you leave the room.",
    "Please open the window in the kitchen.",
    "My brother plays the guitar every evening.",
    "Our teacher wrote a long letter to the school.",
    "The music was loud and the people were happy.",
    "Turn left at the bank and walk to the station.",
    "The children read a story about a green dragon.",
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("batch-audio")
    return [speak(text, folder / f"clip{index}.wav") for index, text in enumerate(SENTENCES)]


def post_batch(server, key: str, files: list[Path], urls: list[str] = (), headers: dict | None = None, **fields: str) -> requests.Response:
    parts = [("file", (path.name, path.read_bytes())) for path in files]
    parts += [("audio_url", (None, url)) for url in urls]
    parts += [(name, (None, value)) for name, value in fields.items()]
    return requests.post(server.base + "/api/v1/batches", files=parts, timeout=120,
                         headers={"Authorization": f"Bearer {key}", **(headers or {})})


def wait_for_batch(server, key: str, batch_id: str, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        batch = server.get(key, f"/api/v1/batches/{batch_id}").json()["data"]
        if batch["status"] == "COMPLETED":
            return batch
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} did not complete: {batch}")


def stored_files(server) -> list[Path]:
    return sorted(path for path in (server.data_dir / "storage").rglob("*") if path.is_file())


@pytest.mark.parametrize("queue", ["embedded", "redis"])
def test_five_files_and_two_urls_make_one_batch_with_one_webhook_and_one_zip(queue, server_factory, spoken, tmp_path):
    env = {"INTAKE_ALLOW_PRIVATE": "true", "WEBHOOK_ALLOW_PRIVATE": "true"}
    redis = None
    if queue == "redis":
        redis = Redis(tmp_path / "redis").start()
        env["REDIS_URL"] = redis.url
    media = MediaServer({"clip5.wav": spoken[5], "clip6.wav": spoken[6]})
    receiver = Receiver()
    try:
        server = server_factory(env=env).start()
        key, secret = server.new_key_with_secret("batch@example.com", "PAYG")
        response = post_batch(server, key, spoken[:5], [media.base + "/clip5.wav", media.base + "/clip6.wav"],
                              webhook_url=receiver.url, format="text")
        assert response.status_code == 202, response.text
        batch = response.json()["data"]
        assert batch["total"] == 7 and len(batch["items"]) == 7 and batch["status"] in {"QUEUED", "PROCESSING"}
        assert [item["originalFilename"] for item in batch["items"]] == [f"clip{i}.wav" for i in range(7)]

        early = server.get(key, f"/api/v1/batches/{batch['id']}/result")
        done = wait_for_batch(server, key, batch["id"])
        if early.status_code != 200:
            assert early.status_code == 409 and early.json()["error"]["code"] == "NOT_READY"
        assert done["counts"]["COMPLETED"] == 7 and sum(done["counts"].values()) == done["total"] == 7
        assert done["progress"] == 100 and done["resultUrl"] == f"/api/v1/batches/{batch['id']}/result"
        items = server.get(key, "/api/v1/transcriptions?limit=20").json()["data"]["items"]
        assert sorted(item["id"] for item in items if item.get("batchId") == batch["id"]) == sorted(i["transcriptionId"] for i in done["items"])

        # Exactly one webhook, for the batch, signed with the key's secret; none per item.
        receiver.wait_for(1, timeout=60)
        time.sleep(3)
        assert len(receiver.requests) == 1, [body for _, body in receiver.requests]
        headers, body = receiver.requests[0]
        assert verify(headers["whisperapi-signature"], body, secret)
        event = json.loads(body)
        assert event["event"] == "batch.completed" and event["batchId"] == batch["id"] and event["total"] == 7
        assert event["counts"]["COMPLETED"] == 7 and len(event["items"]) == 7

        # The zip: one result per item in the requested format, named in order, each matching its audio.
        archive = server.get(key, f"/api/v1/batches/{batch['id']}/result?format=text")
        assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
            names = sorted(name for name in bundle.namelist() if name != "manifest.json")
            assert names == [f"{i + 1:02d}-clip{i}.txt" for i in range(7)]
            for index, name in enumerate(names):
                text = bundle.read(name).decode()
                assert overlap(SENTENCES[index], text) >= 0.6, (name, text)
            manifest = json.loads(bundle.read("manifest.json"))
            assert [entry["file"] for entry in manifest] == names and all(e["status"] == "COMPLETED" for e in manifest)
        srt = server.get(key, f"/api/v1/batches/{batch['id']}/result?format=srt")
        with zipfile.ZipFile(io.BytesIO(srt.content)) as bundle:
            assert sum(name.endswith(".srt") for name in bundle.namelist()) == 7
            assert "-->" in bundle.read("01-clip0.srt").decode()
        assert server.get(key, f"/api/v1/batches/{batch['id']}/result?format=docx").status_code == 400

        # Another user sees none of it.
        other = server.new_key("other@example.com", "PAYG")
        for path in (f"/api/v1/batches/{batch['id']}", f"/api/v1/batches/{batch['id']}/result"):
            assert server.get(other, path).status_code == 404

        # Deleting the batch deletes every item with its audio and result.
        gone = requests.delete(f"{server.base}/api/v1/batches/{batch['id']}", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert gone.status_code == 204
        assert server.get(key, f"/api/v1/batches/{batch['id']}").status_code == 404
        for item in done["items"]:
            assert server.get(key, f"/api/v1/status/{item['transcriptionId']}").status_code == 404
        if queue == "embedded":
            assert stored_files(server) == []
    finally:
        media.stop()
        receiver.stop()
        if redis:
            redis.stop()


def test_a_batch_that_cannot_fit_the_plan_is_refused_up_front(server_factory, spoken):
    # The plans' own concurrency (the test servers otherwise relax it): FREE 1, PRO 3.
    server = server_factory(env={"PLAN_FREE_CONCURRENT_JOBS": "1", "PLAN_PRO_CONCURRENT_JOBS": "3"}).start()
    free = server.new_key("free@example.com", "FREE")
    before = stored_files(server)
    refused = post_batch(server, free, spoken[:3])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "BATCH_TOO_LARGE" and "free" in error["message"].lower() and "at most 1" in error["message"], error
    assert stored_files(server) == before, "a refused batch stores nothing"
    assert server.get(free, "/api/v1/transcriptions").json()["data"]["items"] == []

    # A PRO user (3 at once) with one job running may send a batch of 2, not 3: 429 with the reason and Retry-After.
    pro = server.new_key("pro@example.com", "PRO")
    running = server.submitted(pro, spoken[0])
    busy = post_batch(server, pro, spoken[:3])
    assert busy.status_code == 429 and busy.json()["error"]["code"] == "TOO_MANY_CONCURRENT_JOBS", busy.text
    assert "Retry-After" in busy.headers
    two = post_batch(server, pro, spoken[:2])
    assert two.status_code == 202, two.text
    server.wait_for(pro, running, {"COMPLETED"})
    wait_for_batch(server, pro, two.json()["data"]["id"])

    stored = stored_files(server)
    for bad, code in ((post_batch(server, pro, [], format="text"), "EMPTY_BATCH"), (post_batch(server, pro, spoken[:1], model="large-v9"), "INVALID_MODEL")):
        assert bad.status_code == 400 and bad.json()["error"]["code"] == code, bad.text
    assert stored_files(server) == stored, "a refused batch leaves nothing behind"


def test_a_json_batch_of_urls_with_an_idempotency_key_is_made_once(server_factory, spoken):
    media = MediaServer({"clip0.wav": spoken[0], "clip1.wav": spoken[1]})
    try:
        server = server_factory(env={"INTAKE_ALLOW_PRIVATE": "true"}).start()
        key = server.bootstrap_key
        body = {"audio_urls": [media.base + "/clip0.wav", media.base + "/clip1.wav"], "format": "text", "word_timestamps": False}
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "batch-once-1"}
        first = requests.post(server.base + "/api/v1/batches", json=body, headers=headers, timeout=60)
        again = requests.post(server.base + "/api/v1/batches", json=body, headers=headers, timeout=60)
        assert first.status_code == 202 and again.status_code == 202, (first.text, again.text)
        assert again.json()["data"]["id"] == first.json()["data"]["id"]
        assert [i["transcriptionId"] for i in again.json()["data"]["items"]] == [i["transcriptionId"] for i in first.json()["data"]["items"]]
        changed = requests.post(server.base + "/api/v1/batches", json={**body, "audio_urls": body["audio_urls"][:1]}, headers=headers, timeout=60)
        assert changed.status_code == 422 and changed.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        missing = requests.post(server.base + "/api/v1/batches", json={**body, "audio_urls": [media.base + "/nothing.wav"]},
                                headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert missing.status_code == 422 and missing.json()["error"]["code"] == "AUDIO_URL_UNREACHABLE"
        done = wait_for_batch(server, key, first.json()["data"]["id"])
        assert done["counts"]["COMPLETED"] == 2
        items = server.get(key, "/api/v1/transcriptions?limit=20").json()["data"]["items"]
        assert len(items) == 2, "the replay and the refused batch made nothing"
    finally:
        media.stop()
