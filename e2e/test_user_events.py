"""`GET /api/v1/events`: one Server-Sent Events stream per user with every change to any of their transcriptions,
resumable with Last-Event-ID, and nothing of another user's."""
from __future__ import annotations

import json
import threading
import time

import requests

from e2e.support import Server


def read_events(server: Server, key: str, stop_when, last_event_id: str | None = None, timeout: float = 180) -> list[dict]:
    """Reads the user's stream until `stop_when(events)` is true; each event is `{id, event, data}`."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict] = []
    current: dict = {}
    deadline = time.time() + timeout
    with requests.get(server.base + "/api/v1/events", headers=headers, stream=True, timeout=(5, 30)) as response:
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        for line in response.iter_lines(decode_unicode=True):
            assert time.time() < deadline, f"stream did not finish: {events}"
            if line == "":
                if "data" in current:
                    current["data"] = json.loads(current["data"])
                    events.append(current)
                    if stop_when(events):
                        return events
                current = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                current[name] = value.strip()
    return events


def test_one_stream_carries_every_change_of_the_callers_jobs_and_resumes(server, audio):
    key = server.bootstrap_key
    other = server.new_key("bystander@example.com", "PRO")
    ids: list[str] = []
    holder: dict = {}

    def finished(events) -> bool:
        done = {e["data"]["id"] for e in events if e["event"] == "completed"}
        return len(ids) == 2 and set(ids) <= done

    reader = threading.Thread(target=lambda: holder.setdefault("events", read_events(server, key, finished)))
    reader.start()
    time.sleep(0.5)
    for name in ("wav", "ogg"):
        response = server.submit(key, audio[name])
        assert response.status_code == 202, response.text
        ids.append(response.json()["data"]["transcriptionId"])
    bystander = server.submit(other, audio["mp3"]).json()["data"]["transcriptionId"]
    reader.join(timeout=240)
    events = holder["events"]
    assert {e["data"]["id"] for e in events} <= set(ids), "another user's job is in the stream"
    assert bystander not in {e["data"]["id"] for e in events}
    for job in ids:
        names = [e["event"] for e in events if e["data"]["id"] == job]
        assert names[-1] == "completed" and len(names) >= 2, names
        assert {"queued", "progress"} & set(names), names
    completed = next(e for e in events if e["event"] == "completed")
    assert completed["data"]["resultUrl"].endswith("/result") and completed["data"]["status"] == "COMPLETED"
    # Reconnecting with the id of an early event replays what came after it (the completions included).
    first_id = events[0]["id"]
    replay = read_events(server, key, lambda got: {e["data"]["id"] for e in got if e["event"] == "completed"} >= set(ids), last_event_id=first_id, timeout=30)
    assert {e["data"]["id"] for e in replay if e["event"] == "completed"} >= set(ids)
    assert all(int(e["id"]) >= int(first_id) - 2000 for e in replay)


def test_the_stream_needs_a_key(server):
    response = requests.get(server.base + "/api/v1/events", timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"
