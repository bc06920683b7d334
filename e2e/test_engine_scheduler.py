"""The engine's window scheduler, through the engine process's own JSON-lines protocol with real Whisper: results of
jobs batched together equal those of each file run alone, each job's progress rises and its word timings stay
ordered, a cancel leaves the other jobs of a shared batch intact, and two models run at once. (The worker's side, an
engine crash mid-batch, is in test_embedded.py; accuracy against raw faster-whisper is in bench/.) Speed is measured
in bench/, never here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import numpy as np

from e2e.support import LIBRIVOX, ROOT, librivox_audio, overlap
from engine.scheduler import COALESCE_LIMIT_SECONDS, COALESCE_SECONDS, coalescing_deadline, encoded_frames, rows_waiting
from engine.windows import HALVED_VAD_SECONDS, Job, Slot, Window, quietest_point, speech_regions


class Engine:
    """A `python -m engine` process; messages are collected per job id."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "WHISPER_CPU_THREADS": "2", **(env or {})},
        )
        self.messages: dict[str, list[dict]] = {}
        self.finished: dict[str, threading.Event] = {}
        self.ready = threading.Event()
        self.info: dict = {}
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(120), "the engine never said ready"

    def _read(self) -> None:
        for line in self.process.stdout:
            message = json.loads(line)
            if message["type"] == "ready":
                self.info = message
                self.ready.set()
                continue
            job = str(message.get("id"))
            self.messages.setdefault(job, []).append(message)
            if message["type"] in ("result", "error"):
                self.finished.setdefault(job, threading.Event()).set()

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def submit(self, job: str, audio: Path, **options) -> None:
        self.finished.setdefault(job, threading.Event())
        self.send({"id": job, "audio": str(audio), "model": "tiny.en", **options})

    def outcome(self, job: str, timeout: float = 300) -> dict:
        assert self.finished.setdefault(job, threading.Event()).wait(timeout), f"job {job} did not finish"
        return self.messages[job][-1]

    def result(self, job: str, timeout: float = 300) -> dict:
        last = self.outcome(job, timeout)
        assert last["type"] == "result", last
        return last["result"]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture()
def engine():
    started = Engine()
    yield started
    started.close()


@pytest.fixture(scope="module")
def librivox() -> list[Path]:
    clips = sorted(LIBRIVOX.glob("*.wav"))
    if not clips:
        pytest.skip("needs Debian's pocketsphinx-testdata (make test installs it)")
    return clips


@pytest.fixture(scope="module")
def alone():
    """Each file's text from an engine that runs it alone, one window at a time (WHISPER_BATCH_SIZE=1): the
    reference a batched run must match."""
    reference = Engine({"WHISPER_BATCH_SIZE": "1"})
    done: dict[tuple[str, str], str] = {}

    def text(audio: Path, model: str = "tiny.en") -> str:
        if (str(audio), model) not in done:
            job = f"alone{len(done)}"
            reference.submit(job, audio, model=model)
            done[(str(audio), model)] = reference.result(job)["text"]
        return done[(str(audio), model)]

    yield text
    reference.close()


def test_batched_results_equal_those_of_each_file_alone_and_progress_rises_per_job(engine, alone, librivox, audio):
    files = [*librivox, audio["long"], audio["wav"]]
    for index, path in enumerate(files):
        engine.submit(f"job{index}", path)
    results = [engine.result(f"job{index}") for index in range(len(files))]
    # Short windows of different jobs share a slot, so a word may come out otherwise than alone (the neighbours'
    # speech is context; on these clips it comes out righter: bench/RESULTS.md): the whole run matches, each file
    # nearly.
    together = " ".join(result["text"] for result in results)
    assert overlap(" ".join(alone(path) for path in files), together) >= 0.97, together
    for path, result in zip(files, results):
        assert overlap(alone(path), result["text"]) >= 0.7, (path.name, alone(path), result["text"])
        assert result["duration"] > 0 and result["language"] == "en"
        # Times are the file's own, wherever its windows sat in a batch.
        assert all(0 <= seg["start"] <= seg["end"] <= result["duration"] + 0.1 for seg in result["segments"]), result["segments"]
    for index in range(len(files)):
        progress = [m for m in engine.messages[f"job{index}"] if m["type"] == "progress"]
        values = [m["progress"] for m in progress]
        assert values == sorted(values) and all(0 <= v <= 99 for v in values), values
        starts = [m["segment"]["start"] for m in progress]
        assert starts == sorted(starts)
        assert [m["segment"]["id"] for m in progress] == list(range(len(progress)))
        assert [m["segment"] for m in progress] == results[index]["segments"]


def test_word_timestamps_are_ordered_and_inside_their_segments(engine, librivox):
    engine.submit("words", librivox[0], word_timestamps=True, prompt="Sense and Sensibility, by Jane Austen.")
    engine.submit("plain", librivox[1])
    result = engine.result("words")
    assert "words" not in engine.result("plain")["segments"][0]
    previous = 0.0
    for segment in result["segments"]:
        assert segment["words"], segment
        for word in segment["words"]:
            assert segment["start"] - 0.01 <= word["start"] <= word["end"] <= segment["end"] + 0.01, (segment, word)
            assert word["start"] >= previous - 0.01
            previous = word["start"]
    assert overlap("and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them",
                   result["text"]) >= 0.85


def test_cancelling_one_job_of_a_shared_batch_leaves_the_others_intact(engine, alone, audio):
    engine.submit("long", audio["long"])
    engine.submit("short", audio["wav"])
    engine.submit("cancelled", audio["long"])
    time.sleep(0.5)
    engine.send({"type": "cancel", "id": "cancelled"})
    assert overlap(alone(audio["wav"]), engine.result("short")["text"]) >= 0.97
    assert overlap(alone(audio["long"]), engine.result("long")["text"]) >= 0.97
    time.sleep(1.0)
    assert not any(m["type"] in ("result", "error") for m in engine.messages.get("cancelled", [])), "a cancelled job ends silently"
    # The engine goes on serving.
    engine.submit("after", audio["wav"])
    assert engine.result("after")["text"]


def test_two_models_at_once_both_work_and_bad_requests_fail_alone(engine, alone, audio):
    engine.submit("english", audio["wav"])
    engine.submit("german", audio["german"], model="base")
    engine.submit("translate", audio["german"], model="base", task="translate")
    engine.submit("broken", audio["text"])
    engine.submit("english-only", audio["wav"], task="translate")
    assert engine.result("german")["language"] == "de"
    assert engine.result("translate")["task"] == "translate"
    assert overlap(alone(audio["wav"]), engine.result("english")["text"]) >= 0.97
    assert overlap(alone(audio["german"], "base"), engine.result("german")["text"]) >= 0.97
    assert engine.outcome("broken")["code"] == "INVALID_AUDIO"
    assert engine.outcome("english-only")["code"] == "UNSUPPORTED_TASK"
    assert engine.info["batch_size"] == 8


def test_a_short_job_gets_its_turn_while_a_long_one_runs(librivox):
    # One window a batch, so the long job takes several batches: the short job, admitted after it, takes the next one.
    engine = Engine({"WHISPER_BATCH_SIZE": "1"})
    try:
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"fairness-{os.getpid()}"
        folder.mkdir(exist_ok=True)
        long_file, _, _, _ = librivox_audio(folder)
        engine.submit("long", long_file)
        while not any(m["type"] == "progress" for m in engine.messages.get("long", [])):
            time.sleep(0.05)
        engine.submit("short", librivox[1])
        assert engine.result("short")["text"]
        assert not engine.finished["long"].is_set(), "the short job finished while the long one still ran"
        progress = [m["progress"] for m in engine.messages["long"] if m["type"] == "progress"]
        assert progress[-1] < 50, progress
        engine.send({"type": "cancel", "id": "long"})
    finally:
        engine.close()


# MARK: - How batches are filled (the rules alone, no model)


def short_job(name: str, samples: np.ndarray) -> Job:
    """A job of one short (packable) window holding ``samples``."""
    seconds = len(samples) / 16000
    window = Window(0, np.zeros((80, 10), dtype=np.float32), 0.0, seconds, samples)
    return Job(id=name, model_name="tiny.en", task="transcribe", language="en", word_timestamps=False,
               fine_segments=False, duration=seconds, speech=[], windows=[window], prompt=[1, 2, 3])


def test_the_same_audio_twice_never_shares_a_slot_but_other_short_windows_do():
    rng = np.random.default_rng(1)
    clip, other = rng.standard_normal(16000 * 4).astype(np.float32), rng.standard_normal(16000 * 4).astype(np.float32)
    first, copy, different = short_job("a", clip), short_job("b", clip.copy()), short_job("c", other)
    slot = Slot()
    slot.pieces.append((first, first.windows[0]))
    # The decoder hears a repeat in one 30 s window as already said and leaves it out.
    assert not slot.fits(copy, copy.windows[0])
    assert slot.fits(different, different.windows[0])


def test_a_burst_of_short_files_counts_as_few_rows_so_its_first_batch_waits_for_the_rest():
    rng = np.random.default_rng(2)
    clips = [short_job(str(i), rng.standard_normal(16000 * seconds).astype(np.float32)) for i, seconds in enumerate([3, 5, 6, 7] * 2)]
    # 8 short windows of 3-7 s (about 46 s with the gaps) fill two 30 s rows: a batch of 8 would not be full.
    assert rows_waiting(clips) == 2
    long = Job(id="long", model_name="tiny.en", task="transcribe", language="en", word_timestamps=False, fine_segments=False,
               duration=300.0, speech=[], windows=[Window(i, np.zeros((80, 10), dtype=np.float32), 26.0 * i, 26.0) for i in range(10)])
    long.next_window = 4
    assert rows_waiting([long]) == 6 and rows_waiting([long, *clips]) == 8


def test_the_wait_for_jobs_being_prepared_goes_on_while_they_keep_coming_and_no_longer_than_the_limit():
    since = 100.0
    assert coalescing_deadline(since, last_prepared=0.0) == since + COALESCE_SECONDS
    # Each preparation that ends moves the deadline on...
    assert coalescing_deadline(since, last_prepared=since + 0.15) == since + 0.15 + COALESCE_SECONDS
    # ...up to the limit.
    assert coalescing_deadline(since, last_prepared=since + 5.0) == since + COALESCE_LIMIT_SECONDS


def test_a_batch_is_encoded_as_long_as_its_longest_slot_and_a_margin_between_20_and_30_seconds():
    def slot(seconds: float) -> Slot:
        job = short_job("x", np.zeros(16000, dtype=np.float32))
        found = Slot()
        found.pieces.append((job, Window(0, np.zeros((80, 10), dtype=np.float32), 0.0, seconds)))
        return found

    assert encoded_frames([slot(26.0), slot(12.0)], 100) == 2700  # the longest and a second, not 30 s
    assert encoded_frames([slot(25.97)], 100) == 2698  # an even number of frames: the encoder halves them
    assert encoded_frames([slot(4.0)], 100) == 2000  # never under 20 s: shorter inputs make the model hallucinate
    assert encoded_frames([slot(29.6)], 100) == 3000  # never over the model's 30 s


def test_a_burst_with_the_same_file_twice_gives_each_copy_its_whole_text(engine, alone, librivox):
    files = [*librivox, *librivox]
    for index, path in enumerate(files):
        engine.submit(f"burst{index}", path, text_only=True)
    texts = [engine.result(f"burst{index}")["text"] for index in range(len(files))]
    # As in the test above: the whole burst matches, each file nearly (its neighbours in a slot are context).
    assert overlap(" ".join(alone(path) for path in files), " ".join(texts)) >= 0.97, texts
    for path, text in zip(files, texts):
        assert overlap(alone(path), text) >= 0.7, (path.name, alone(path), text)


def test_long_audio_is_searched_for_speech_in_two_halves_that_meet_in_a_pause(tmp_path):
    from faster_whisper import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if not list(LIBRIVOX.glob("*.wav")):
        pytest.skip("needs Debian's pocketsphinx-testdata (make test installs it)")
    long_file, _, _, _ = librivox_audio(tmp_path)
    audio = decode_audio(str(long_file))
    assert len(audio) >= HALVED_VAD_SECONDS * 16000
    whole = get_speech_timestamps(audio, VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160))
    halves = speech_regions(audio, 30)

    def seconds(regions: list[dict]) -> float:
        return sum(region["end"] - region["start"] for region in regions) / 16000

    # The same speech, give or take the padding of the pause where the halves meet.
    assert abs(seconds(halves) - seconds(whole)) < 0.5, (seconds(halves), seconds(whole))
    assert all(a["end"] <= b["start"] for a, b in zip(halves, halves[1:])), "regions overlap or are out of order"
    assert abs(len(halves) - len(whole)) <= 1


def test_the_halves_meet_in_the_quietest_half_second_near_the_middle():
    rng = np.random.default_rng(3)
    audio = rng.standard_normal(16000 * 20).astype(np.float32)
    audio[16000 * 12: 16000 * 13] = 0.0  # one second of silence, 2 s after the middle
    point = quietest_point(audio, len(audio) // 2, 16000 * 5)
    # Inside the silence, a fifth of a second or more from the noise on either side.
    assert 16000 * 12.2 <= point <= 16000 * 12.8, point / 16000
