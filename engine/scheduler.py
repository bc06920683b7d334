"""The engine's window scheduler: every admitted job's audio is cut into windows, and windows of all running jobs that
share a model are encoded and decoded together in batches. A lone long file is batched with itself; a burst of short
clips is batched across jobs. Batches take windows from the jobs in turn, so a long file does not starve short ones.

Each job still gets its own messages, in order: a ``progress`` message with each finished segment, then one
``result`` (or one ``error``). A cancelled job's windows leave the queue at once; its place in a running batch is
dropped when the batch ends.
"""
from __future__ import annotations

import heapq
import itertools
import math
import os
import threading
from typing import Any, Callable

import numpy as np

from .errors import INTERNAL, EngineError
from .windows import Job, Window, prepare, validate

#: Receives a job's messages (``progress``, ``result``, ``error``) as dicts.
Listener = Callable[[dict[str, Any]], None]

PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def default_batch_size(device: str) -> int:
    """WHISPER_BATCH_SIZE, else 8 windows on a CPU and 16 on a GPU."""
    configured = os.environ.get("WHISPER_BATCH_SIZE")
    if configured:
        return max(1, int(configured))
    return 16 if device == "cuda" else 8


class Scheduler:
    """Admits jobs, prepares them on a thread of their own (smallest file first) and runs batches on another."""

    def __init__(self, load_model: Callable[[str], Any], decode: Callable[[str], np.ndarray], batch_size: int, beam_size: int):
        self._load_model = load_model
        self._decode = decode
        self.batch_size = batch_size
        self.beam_size = beam_size
        self._lock = threading.Condition()
        #: Admitted jobs in admission order, and who hears of each.
        self._jobs: dict[str, Job] = {}
        self._listeners: dict[str, Listener] = {}
        #: Requests waiting to be prepared, smallest audio file first; ids cancelled before they were admitted.
        self._preparing: list[tuple[int, int, dict[str, Any]]] = []
        self._order = itertools.count()
        self._dropped: set[str] = set()
        #: Where the next batch starts taking windows, so that every job gets its turn.
        self._turn = 0
        threading.Thread(target=self._prepare_loop, name="engine-prepare", daemon=True).start()
        threading.Thread(target=self._batch_loop, name="engine-batches", daemon=True).start()

    # MARK: - Admission and cancel

    def submit(self, request: dict[str, Any], listener: Listener) -> None:
        """Queues a request; its messages go to ``listener`` (from the scheduler's threads)."""
        request_id = str(request.get("id"))
        try:
            size = os.path.getsize(str(request.get("audio", "")))
        except OSError:
            size = 0
        with self._lock:
            self._dropped.discard(request_id)
            self._listeners[request_id] = listener
            heapq.heappush(self._preparing, (size, next(self._order), request))
            self._lock.notify_all()

    def cancel(self, request_id: str) -> None:
        """Stops a job: its windows leave the queue, and it gets no further messages."""
        with self._lock:
            if request_id in self._listeners and request_id not in self._jobs:
                self._dropped.add(request_id)  # still being prepared: not admitted when it is ready
            self._listeners.pop(request_id, None)
            job = self._jobs.pop(request_id, None)
            if job:
                job.cancelled = True

    def running(self) -> int:
        """Jobs admitted or waiting to be prepared."""
        with self._lock:
            return len(self._jobs) + len(self._preparing)

    # MARK: - Preparation

    def _prepare_loop(self) -> None:
        while True:
            with self._lock:
                while not self._preparing:
                    self._lock.wait()
                _, _, request = heapq.heappop(self._preparing)
            request_id = str(request.get("id"))
            try:
                name, _, _ = validate(request)
                model = self._load_model(name)
                job = prepare(request, model, self._decode(str(request.get("audio", ""))))
            except EngineError as error:
                self._fail(request_id, error.code, error.message)
                continue
            except Exception as error:  # a job's preparation never stops the engine
                self._fail(request_id, INTERNAL, f"{type(error).__name__}: {error}")
                continue
            with self._lock:
                if request_id in self._dropped:
                    self._dropped.discard(request_id)
                    continue
                self._jobs[request_id] = job
                if not job.windows:
                    self._send_ready(job)
                self._lock.notify_all()

    # MARK: - Batches

    def _take_batch(self) -> list[tuple[Job, Window]]:
        """Up to ``batch_size`` windows of jobs that can share a batch, one from each job in turn."""
        waiting = [job for job in self._jobs.values() if job.waiting]
        if not waiting:
            return []
        first = waiting[self._turn % len(waiting)]
        group = [job for job in waiting if job.batch_key() == first.batch_key()]
        start = group.index(first)
        group = group[start:] + group[:start]
        batch: list[tuple[Job, Window]] = []
        while len(batch) < self.batch_size and any(job.waiting for job in group):
            for job in group:
                if job.waiting and len(batch) < self.batch_size:
                    batch.append((job, job.windows[job.next_window]))
                    job.next_window += 1
        self._turn += 1
        return batch

    def _batch_loop(self) -> None:
        while True:
            with self._lock:
                batch = self._take_batch()
                while not batch:
                    self._lock.wait()
                    batch = self._take_batch()
            try:
                outputs = self._decode_batch(batch)
            except Exception as error:  # a failed batch fails its jobs, not the engine
                for job, _ in batch:
                    self._fail(job.id, INTERNAL, f"{type(error).__name__}: {error}")
                continue
            with self._lock:
                for (job, window), segments in zip(batch, outputs):
                    if job.cancelled or self._jobs.get(job.id) is not job:
                        continue
                    job.finished[window.index] = segments
                    self._send_ready(job)

    def _decode_batch(self, batch: list[tuple[Job, Window]]) -> list[list[dict[str, Any]]]:
        """Encodes the windows once, decodes them together (each with its job's prompt), splits the text at the
        timestamps the model predicted, and adds word timings where the jobs asked for them."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        model = self._load_model(batch[0][0].model_name)
        tokenizer = batch[0][0].tokenizer
        features = np.stack([pad_or_trim(window.features) for _, window in batch])
        encoder_output = model.encode(features)
        results = model.model.generate(
            encoder_output,
            [list(job.prompt) for job, _ in batch],
            beam_size=self.beam_size,
            patience=1,
            length_penalty=1,
            max_length=model.max_length,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=0.0,
            repetition_penalty=1,
            no_repeat_ngram_size=0,
        )
        outputs: list[list[dict[str, Any]]] = []
        sizes: list[int] = []
        for (job, window), result in zip(batch, results):
            tokens = result.sequences_ids[0]
            average = result.scores[0] * len(tokens) / (len(tokens) + 1)
            size = int(math.ceil(window.duration) * model.frames_per_second)
            sizes.append(size)
            text = job.tokenizer.decode(tokens)
            outputs.append([{
                "text": text,
                "tokens": tokens,
                "start": window.offset,
                "end": window.offset + window.duration,
                "avg_logprob": average,
                "no_speech_prob": result.no_speech_prob,
                "compression_ratio": get_compression_ratio(text),
                "seek": int(window.offset * model.frames_per_second),
            }])
        if batch[0][0].fine_segments:
            model.add_word_timestamps(outputs, tokenizer, encoder_output, sizes, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS, 0.0)
            outputs = [[piece for segment in window for piece in sentences(segment)] for window in outputs]
        return outputs

    # MARK: - Messages

    def _send_ready(self, job: Job) -> None:
        """Sends the job's finished windows in order (times mapped back from speech-only to the original audio), and
        its result once every window is in. Called with the lock held."""
        from faster_whisper.transcribe import Segment, Word, restore_speech_timestamps

        listener = self._listeners.get(job.id)
        while job.next_to_send in job.finished:
            raw = job.finished.pop(job.next_to_send)
            job.next_to_send += 1
            segments = [
                Segment(
                    id=0, seek=item["seek"], start=item["start"], end=item["end"], text=item["text"], tokens=item["tokens"],
                    avg_logprob=item["avg_logprob"], compression_ratio=item["compression_ratio"],
                    no_speech_prob=item["no_speech_prob"], temperature=0.0,
                    words=[Word(**word) for word in item["words"]] if item.get("words") else None,
                )
                for item in raw
            ]
            for segment in restore_speech_timestamps(segments, job.speech, 16000):
                item = segment_item(len(job.segments), segment, job.word_timestamps)
                job.segments.append(item)
                if listener:
                    progress = int(min(99, max(0, item["end"] / job.duration * 100))) if job.duration > 0 else 99
                    listener({"type": "progress", "id": job.id, "progress": progress, "segment": item})
        if job.done:
            self._jobs.pop(job.id, None)
            self._listeners.pop(job.id, None)
            if listener:
                listener({"type": "result", "id": job.id, "result": job_result(job)})

    def _fail(self, request_id: str, code: str, message: str) -> None:
        with self._lock:
            self._jobs.pop(request_id, None)
            listener = self._listeners.pop(request_id, None)
        if listener:
            listener({"type": "error", "id": request_id, "code": code, "message": message})


#: Where a fine segment ends: after a sentence's last word, at a pause this long, or past this length.
SENTENCE_ENDS = (".", "?", "!", "。", "？", "！")
PAUSE_SECONDS = 0.8
LONGEST_SECONDS = 12.0


def sentences(segment: dict[str, Any]) -> list[dict[str, Any]]:
    """A window's aligned text cut into segments of a sentence or so, each with its words."""
    words = segment.get("words") or []
    if not words:
        return [segment] if segment["text"].strip() else []
    pieces: list[list[dict[str, Any]]] = [[]]
    for index, word in enumerate(words):
        pieces[-1].append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if following is None:
            break
        ended = word["word"].strip().endswith(SENTENCE_ENDS)
        paused = following["start"] - word["end"] >= PAUSE_SECONDS
        too_long = word["end"] - pieces[-1][0]["start"] >= LONGEST_SECONDS
        if ended or paused or too_long:
            pieces.append([])
    return [
        {**segment, "text": "".join(w["word"] for w in piece), "start": piece[0]["start"], "end": piece[-1]["end"], "words": piece}
        for piece in pieces
        if piece
    ]


def segment_item(index: int, segment: Any, with_words: bool) -> dict[str, Any]:
    """A segment as the canonical result holds it."""
    item: dict[str, Any] = {
        "id": index,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text.strip(),
        "avg_logprob": segment.avg_logprob,
        "no_speech_prob": segment.no_speech_prob,
    }
    if with_words and segment.words:
        item["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3), "probability": w.probability}
            for w in segment.words
        ]
    return item


def job_result(job: Job) -> dict[str, Any]:
    """The canonical result of a finished job."""
    return {
        "text": " ".join(s["text"] for s in job.segments if s["text"]).strip(),
        "language": job.language,
        "duration": round(job.duration, 3),
        "model": job.model_name,
        "task": job.task,
        "segments": job.segments,
    }
