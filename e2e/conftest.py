from __future__ import annotations

from pathlib import Path

import pytest

from e2e.support import Redis, Server, WorkerProcesses, convert, speak

#: Short locks and sweeps, so that tests on Redis see a dead worker's job taken again within seconds.
FAST = {"QUEUE_LOCK_DURATION": "3000", "QUEUE_STALLED_INTERVAL": "1000", "QUEUE_RETRY_DELAY": "500"}
ENGLISH = "Please send the report to the office before noon on Monday. Thank you very much for your help."
SECOND = "Hello world. This is a test of the speech recognition service. We are going to the park today."
GERMAN = "Guten Morgen. Wie geht es dir heute? Ich möchte gerne einen Kaffee mit Milch trinken."
LONG = " ".join(
    [
        "This is a long recording that keeps the worker busy for a while.",
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Every morning the baker opens his shop and sells fresh bread to the neighbours.",
        "In the afternoon the children play football in the park until the sun goes down.",
    ]
    * 6
)


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("audio")
    english = speak(ENGLISH, folder / "english.wav")
    files = {
        "wav": english,
        "mp3": convert(english, folder / "english.mp3", "libmp3lame", "mp3"),
        "ogg": convert(speak(SECOND, folder / "second.wav"), folder / "second.ogg", "libopus", "ogg"),
        "german": speak(GERMAN, folder / "german.wav", voice="de"),
        "long": speak(LONG, folder / "long.wav"),
    }
    text = folder / "notes.mp3"
    text.write_text("these are meeting notes, not audio\n" * 20)
    files["text"] = text
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    files["empty"] = empty
    truncated = folder / "truncated.mp3"
    truncated.write_bytes(files["mp3"].read_bytes()[:600])
    files["truncated"] = truncated
    return files


@pytest.fixture()
def server_factory(tmp_path: Path):
    started: list[Server] = []

    def make(env: dict[str, str] | None = None, workers: int | None = None, data_dir: Path | None = None) -> Server:
        server = Server(data_dir or tmp_path / f"data{len(started)}", env=env, workers=workers)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture()
def server(server_factory) -> Server:
    return server_factory().start()


@pytest.fixture()
def redis(tmp_path):
    server = Redis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture()
def cluster(tmp_path, redis, server_factory):
    """An API server with no workers on Redis, and a way to add `whisperapi worker` processes (all killed at the end)."""
    env = {"REDIS_URL": redis.url, **FAST}
    api = server_factory(env=env, workers=0, data_dir=tmp_path / "shared").start()
    workers = WorkerProcesses(tmp_path / "shared", env)
    yield api, workers.add
    workers.kill_all()
