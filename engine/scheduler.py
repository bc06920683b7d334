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
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import numpy as np

from . import diarize
from .errors import INTERNAL, EngineError
from .results import job_result, segment_item, sentences
from .windows import PACKING_GAP, SAMPLE_RATE, SLOT_SECONDS, Job, Slot, Window, prepare, validate

#: Receives a job's messages (``progress``, ``result``, ``error``) as dicts.
Listener = Callable[[dict[str, Any]], None]

#: Threads that decode and cut up admitted jobs (smallest file first).
PREPARERS = 2
#: While its batch would not be full and jobs are still being prepared, the batch thread waits for them as long as one
#: more is ready within COALESCE_SECONDS of the last, and no longer than COALESCE_LIMIT_SECONDS in all: a burst of
#: short files, prepared one after another, shares its first batch.
COALESCE_SECONDS = 0.2
COALESCE_LIMIT_SECONDS = 1.0
#: A batch is encoded as long as its longest slot and this margin (see ``encoded_frames``), never shorter than
#: MIN_ENCODED_SECONDS: much shorter inputs than the model's 30 s make it hallucinate (measured on espeak-ng speech
#: trimmed to its length and a second: word accuracy 0.80 against 0.92 at 30 s; from 20 s on, the same or better,
#: with `tiny.en` and `base`).
ENCODED_MARGIN_SECONDS = 1.0
MIN_ENCODED_SECONDS = 20.0
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def default_batch_size(device: str) -> int:
    """WHISPER_BATCH_SIZE, else 8 windows on a CPU and 16 on a GPU."""
    configured = os.environ.get("WHISPER_BATCH_SIZE")
    if configured:
        return max(1, int(configured))
    return 16 if device == "cuda" else 8


def rows_waiting(jobs: Iterable[Job]) -> int:
    """About how many batch rows the jobs' waiting windows fill: one for each long window, and the short ones packed
    30 s a row."""
    rows, packed = 0, 0.0
    for job in jobs:
        if not job.waiting:
            continue
        for window in job.windows[job.next_window:]:
            if window.audio is None:
                rows += 1
            else:
                packed += window.duration + PACKING_GAP
    return rows + math.ceil(packed / SLOT_SECONDS)


def coalescing_deadline(since: float, last_prepared: float) -> float:
    """Until when a batch that would not be full, waiting since ``since``, waits for jobs still being prepared: until
    ``COALESCE_SECONDS`` after the last preparation ended, and no longer than ``COALESCE_LIMIT_SECONDS`` in all."""
    return min(since + COALESCE_LIMIT_SECONDS, max(since, last_prepared) + COALESCE_SECONDS)


def encoded_frames(batch: list[Slot], frames_per_second: int) -> int:
    """How many log-Mel frames of each slot the encoder hears: the batch's longest slot and a margin, between
    ``MIN_ENCODED_SECONDS`` and 30 s (an even number: the encoder halves it). Whisper pads every window to 30 s; the
    padding's share of the encoder's work (and of the decoder's attention over its output) is saved."""
    seconds = min(SLOT_SECONDS, max(MIN_ENCODED_SECONDS, max(slot.duration for slot in batch) + ENCODED_MARGIN_SECONDS))
    return 2 * math.ceil(seconds * frames_per_second / 2)


class Scheduler:
    """Admits jobs, prepares them on threads of their own (smallest file first) and runs batches on another."""

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
        self._preparing_now = 0
        #: When a preparation last ended (monotonic seconds).
        self._last_prepared = 0.0
        self._dropped: set[str] = set()
        #: Where the next batch starts taking windows, so that every job gets its turn.
        self._turn = 0
        #: Who hears of each decoded batch (model name, rows): the processes' metrics.
        self._batch_listeners: list[Callable[[str, int], None]] = []
        #: Diarization runs beside the transcription, one job at a time; jobs whose text is done wait here for it.
        self._diarizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-diarize")
        self._awaiting_speakers: dict[str, Job] = {}
        # Two preparers: a short file admitted while a long one is being cut up need not wait for it.
        for index in range(PREPARERS):
            threading.Thread(target=self._prepare_loop, name=f"engine-prepare-{index}", daemon=True).start()
        threading.Thread(target=self._batch_loop, name="engine-batches", daemon=True).start()

    # MARK: - Admission and cancel

    def on_batch(self, listener: Callable[[str, int], None]) -> None:
        """Calls ``listener(model_name, rows)`` after each batch is decoded (from the batch thread)."""
        self._batch_listeners.append(listener)

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
            job = self._jobs.pop(request_id, None) or self._awaiting_speakers.pop(request_id, None)
            if job:
                job.cancelled = True

    # MARK: - Preparation

    def _prepare_loop(self) -> None:
        while True:
            with self._lock:
                while not self._preparing:
                    self._lock.wait()
                _, _, request = heapq.heappop(self._preparing)
                self._preparing_now += 1
            request_id = str(request.get("id"))
            try:
                name, _, _ = validate(request)
                model = self._load_model(name)
                audio = self._decode(str(request.get("audio", "")))
                job = prepare(request, model, audio)
            except EngineError as error:
                self._prepared()
                self._fail(request_id, error.code, error.message)
                continue
            except Exception as error:  # a job's preparation never stops the engine
                self._prepared()
                self._fail(request_id, INTERNAL, f"{type(error).__name__}: {error}")
                continue
            with self._lock:
                self._preparation_ended()
                if request_id in self._dropped:
                    self._dropped.discard(request_id)
                    continue
                self._jobs[request_id] = job
                if diarize.asked(request):
                    self._start_diarization(job, audio, request["diarize"])
                if not job.windows:
                    self._send_ready(job)
                self._lock.notify_all()

    def _prepared(self) -> None:
        with self._lock:
            self._preparation_ended()
            self._lock.notify_all()

    def _preparation_ended(self) -> None:
        """Counts a preparation out, and when (called with the lock held)."""
        self._preparing_now -= 1
        self._last_prepared = time.monotonic()

    # MARK: - Diarization

    def _start_diarization(self, job: Job, audio: np.ndarray, asked: Any) -> None:
        """Finds the job's speaker turns on the diarization thread while its windows are transcribed. Called with the
        lock held."""
        options = diarize.Options.from_request(asked)
        job.speaker_names = list(options.names)

        def advanced(share: float) -> None:
            if job.cancelled:
                raise EngineError(INTERNAL, "cancelled")
            with self._lock:
                job.diarized = share
                before = job.progress
                listener = self._listeners.get(job.id)
                if listener and job.overall_progress() > before:
                    listener({"type": "progress", "id": job.id, "progress": job.progress})

        job.diarization = self._diarizer.submit(diarize.diarize, audio, options, advanced)

    def _send_with_speakers(self, job: Job) -> None:
        """Sends a diarized job's result once both its text and its speaker turns are in."""
        with self._lock:
            self._awaiting_speakers.pop(job.id, None)
            listener = self._listeners.pop(job.id, None)
        if not listener or job.cancelled:
            return
        try:
            result = job_result(job, job.diarization.result())
        except EngineError as error:
            listener({"type": "error", "id": job.id, "code": error.code, "message": error.message})
        except Exception as error:  # a diarization failure fails this job only, and never leaves it waiting
            listener({"type": "error", "id": job.id, "code": INTERNAL, "message": f"diarization: {type(error).__name__}: {error}"})
        else:
            listener({"type": "result", "id": job.id, "result": result})

    # MARK: - Batches

    def _take_batch(self) -> list[Slot]:
        """Up to ``batch_size`` slots of windows of jobs that can share a batch. Windows are taken one from each job in
        turn, the jobs that have had the fewest first (a job just admitted goes before one that has run a while);
        short windows of jobs with the same prompt share a slot while they fit in 30 s. A batch that starts a job
        takes one window from each job, so that the new job's first text comes about as soon as it would alone; while
        other jobs are still being prepared, no job takes more than a quarter of the batch, so that the next batch
        comes soon with them."""
        waiting = [job for job in self._jobs.values() if job.waiting]
        if not waiting:
            return []
        turn = self._turn % len(waiting)
        waiting = waiting[turn:] + waiting[:turn]
        waiting.sort(key=lambda job: job.next_window)  # stable: the turn order breaks ties
        group = [job for job in waiting if job.batch_key() == waiting[0].batch_key()]
        if len(group) > 1 and any(job.next_window == 0 for job in group):
            cap = 1
        elif self._being_prepared():
            cap = max(1, self.batch_size // 4)
        else:
            cap = self.batch_size
        taken = {job.id: 0 for job in group}
        slots: list[Slot] = []
        while True:
            takers = [job for job in group if job.waiting and taken[job.id] < cap]
            placed = False
            for job in takers:
                window = job.windows[job.next_window]
                slot = next((slot for slot in slots if slot.fits(job, window)), None)
                if slot is None and len(slots) < self.batch_size:
                    slot = Slot()
                    slots.append(slot)
                if slot is None:
                    continue
                slot.pieces.append((job, window))
                job.next_window += 1
                taken[job.id] += 1
                placed = True
            if not placed:
                break
        self._turn += 1
        return slots

    def _being_prepared(self) -> bool:
        return bool(self._preparing) or self._preparing_now > 0

    def _next_batch(self) -> list[Slot]:
        """The next batch (called with the lock held): waits for windows, and while jobs are being prepared and the
        batch would not be full, for them too (see ``COALESCE_SECONDS``), so that a burst shares its first batch."""
        since: float | None = None
        while True:
            if any(job.waiting for job in self._jobs.values()):
                now = time.monotonic()
                if self._being_prepared() and rows_waiting(self._jobs.values()) < self.batch_size:
                    since = since or now
                    deadline = coalescing_deadline(since, self._last_prepared)
                    if now < deadline:
                        self._lock.wait(deadline - now)
                        continue
                return self._take_batch()
            since = None
            self._lock.wait()

    def _batch_loop(self) -> None:
        while True:
            with self._lock:
                batch = self._next_batch()
            try:
                outputs = self._decode_batch(batch)
            except Exception as error:  # a failed batch fails its jobs, not the engine
                for slot in batch:
                    for job, _ in slot.pieces:
                        self._fail(job.id, INTERNAL, f"{type(error).__name__}: {error}")
                continue
            for listener in self._batch_listeners:
                listener(batch[0].pieces[0][0].model_name, len(batch))
            with self._lock:
                for job, window, segments in outputs:
                    if job.cancelled or self._jobs.get(job.id) is not job:
                        continue
                    job.finished[window.index] = segments
                    self._send_ready(job)

    def _decode_batch(self, batch: list[Slot]) -> list[tuple[Job, Window, list[dict[str, Any]]]]:
        """Encodes the slots once, decodes them together (each with its jobs' prompt), aligns words where segments of
        a sentence are wanted or a slot holds several windows (to hand each window its words), and returns each
        window's segments."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        first = batch[0].pieces[0][0]
        model = self._load_model(first.model_name)
        frames = encoded_frames(batch, model.frames_per_second)
        features = np.stack([pad_or_trim(slot.features(model))[:, :frames] for slot in batch])
        encoder_output = model.encode(features)
        results = model.model.generate(
            encoder_output,
            [list(slot.pieces[0][0].prompt) for slot in batch],
            beam_size=self.beam_size,
            patience=1,
            length_penalty=1,
            max_length=model.max_length,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(first.tokenizer, [-1]),
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=0.0,
            repetition_penalty=1,
            no_repeat_ngram_size=0,
        )
        outputs: list[list[dict[str, Any]]] = []
        for slot, result in zip(batch, results):
            tokens = result.sequences_ids[0]
            text = first.tokenizer.decode(tokens)
            start = slot.pieces[0][1].offset if not slot.packed else 0.0
            outputs.append([{
                "text": text,
                "tokens": tokens,
                "start": start,
                "end": start + slot.duration,
                "avg_logprob": result.scores[0] * len(tokens) / (len(tokens) + 1),
                "no_speech_prob": result.no_speech_prob,
                "compression_ratio": get_compression_ratio(text),
                "seek": int(start * model.frames_per_second),
            }])
        if first.fine_segments or any(slot.packed for slot in batch):
            sizes = [min(frames, int(math.ceil(slot.duration) * model.frames_per_second)) for slot in batch]
            model.add_word_timestamps(outputs, first.tokenizer, encoder_output, sizes, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS, 0.0)
        pieces: list[tuple[Job, Window, list[dict[str, Any]]]] = []
        unheard: list[Slot] = []
        for slot, output in zip(batch, outputs):
            for (job, window), segment in zip(slot.pieces, slot.split(output[0])):
                if slot.packed and not segment["words"]:
                    # The decoder may end a packed slot early and never reach a later window's speech: that window
                    # is decoded again on its own rather than lose its text.
                    alone = Slot()
                    alone.pieces.append((job, window))
                    unheard.append(alone)
                    continue
                pieces.append((job, window, sentences(segment) if job.fine_segments else ([segment] if segment["text"].strip() else [])))
        return pieces + (self._decode_batch(unheard) if unheard else [])

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
            for segment in restore_speech_timestamps(segments, job.speech, SAMPLE_RATE):
                item = segment_item(len(job.segments), segment, job.word_timestamps)
                job.segments.append(item)
                if job.diarization is not None:
                    job.timed.append(segment)
                if listener:
                    job.transcribed = item["end"] / job.duration if job.duration > 0 else 1.0
                    listener({"type": "progress", "id": job.id, "progress": job.overall_progress(), "segment": item})
        if job.done:
            self._jobs.pop(job.id, None)
            if job.diarization is not None:
                self._awaiting_speakers[job.id] = job
                job.diarization.add_done_callback(lambda _: self._send_with_speakers(job))
                return
            self._listeners.pop(job.id, None)
            if listener:
                listener({"type": "result", "id": job.id, "result": job_result(job)})

    def _fail(self, request_id: str, code: str, message: str) -> None:
        with self._lock:
            job = self._jobs.pop(request_id, None)
            if job:
                job.cancelled = True  # its diarization, if any, stops
            listener = self._listeners.pop(request_id, None)
        if listener:
            listener({"type": "error", "id": request_id, "code": code, "message": message})
