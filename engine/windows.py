"""A job's audio cut into windows for batched decoding: decoded, cut at speech by faster-whisper's bundled Silero
VAD model (as its batched pipeline does), each window up to 30 s of speech with its log-Mel features."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import diarize
from .errors import BAD_REQUEST, UNSUPPORTED_TASK, EngineError
from .models import MULTILINGUAL, canonical_name

SAMPLE_RATE = 16000
#: A window with at most this much speech keeps its samples, so that it can share a 30 s slot with others.
PACKABLE_SECONDS = 20.0


@dataclass
class Window:
    """Up to 30 s of one job's speech: its features and where it sits in the job's speech-only timeline."""

    index: int
    features: np.ndarray
    #: Seconds from the start of the job's speech-only audio.
    offset: float
    duration: float
    #: The samples of a short window (up to PACKABLE_SECONDS), which may be packed with others into one slot.
    audio: np.ndarray | None = None


@dataclass
class Job:
    """One transcription request, prepared: its options, tokenizer, prompt and windows."""

    id: str
    model_name: str
    task: str
    language: str
    word_timestamps: bool
    #: Whether the job wants segments of a sentence or so (all but text-only jobs): its windows are aligned word by
    #: word, and each window's text is cut where sentences end or the speaker pauses. Otherwise a segment is a window.
    fine_segments: bool
    duration: float
    #: The speech regions found by the VAD, in samples of the original audio (to map times back).
    speech: list[dict[str, int]]
    windows: list[Window]
    tokenizer: Any = None
    #: The decoder prompt for this job's windows (start of transcript, language, task, the prompt's tokens).
    prompt: list[int] = field(default_factory=list)
    #: Windows handed to a batch so far, and finished results waiting to be sent in order.
    next_window: int = 0
    finished: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_to_send: int = 0
    segments: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    #: Speaker diarization, when asked: the turns being found beside the transcription (a Future), the caller's
    #: known speaker names, and the segments as faster-whisper gave them (with words) to lay the turns over.
    diarization: Any = None
    speaker_names: list[str] = field(default_factory=list)
    timed: list[Any] = field(default_factory=list)
    #: The shares of the transcription and of the diarization done, and the last progress sent.
    transcribed: float = 0.0
    diarized: float = 0.0
    progress: int = 0

    @property
    def waiting(self) -> bool:
        """Whether windows are left to hand to a batch."""
        return not self.cancelled and self.next_window < len(self.windows)

    @property
    def done(self) -> bool:
        return self.next_to_send >= len(self.windows)

    def overall_progress(self) -> int:
        """0–99: the transcription's share, with the diarization's last 15 % when there is one."""
        share = self.transcribed if self.diarization is None else 0.85 * self.transcribed + 0.15 * self.diarized
        self.progress = max(self.progress, int(min(99, max(0, share * 100))))
        return self.progress

    def batch_key(self) -> tuple:
        """Jobs whose windows may share a batch: the same model, language (aligned words are split by the language's
        rules) and prompt length (the decoder wants the start of transcript at one position in a batch), and the same
        need of fine segments."""
        return (self.model_name, self.language, len(self.prompt), self.fine_segments)


#: Silence between windows packed into one slot, in seconds.
PACKING_GAP = 1.0
SLOT_SECONDS = 30.0


class Slot:
    """One row of a batch: a window, or several short windows (of jobs with the same prompt) one after another with
    a second of silence between them, which the model hears as one 30 s window."""

    def __init__(self) -> None:
        self.pieces: list[tuple[Job, Window]] = []

    @property
    def packed(self) -> bool:
        return len(self.pieces) > 1

    @property
    def duration(self) -> float:
        return sum(window.duration for _, window in self.pieces) + PACKING_GAP * (len(self.pieces) - 1)

    def starts(self) -> list[float]:
        """Where each window begins in the slot."""
        found, at = [], 0.0
        for _, window in self.pieces:
            found.append(at)
            at += window.duration + PACKING_GAP
        return found

    def fits(self, job: Job, window: Window) -> bool:
        """Whether the window may join this slot. The same audio twice never shares a slot: the decoder hears the
        repeat as already said and leaves it out (the same file submitted twice at once, say)."""
        return (
            bool(self.pieces) and window.audio is not None and all(other.audio is not None for _, other in self.pieces)
            and self.pieces[0][0].prompt == job.prompt and self.duration + PACKING_GAP + window.duration <= SLOT_SECONDS
            and not any(np.array_equal(window.audio, other.audio) for _, other in self.pieces)
        )

    def features(self, model: Any) -> np.ndarray:
        if not self.packed:
            return self.pieces[0][1].features
        gap = np.zeros(int(PACKING_GAP * SAMPLE_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        for _, window in self.pieces:
            parts += [window.audio, gap]
        return model.feature_extractor(np.concatenate(parts[:-1]))[..., :-1]

    def split(self, segment: dict[str, Any]) -> list[dict[str, Any]]:
        """The slot's decoded segment as one segment a window: a packed slot's words go to the window they fall in,
        with their times moved to that window's place in its job's speech."""
        if not self.packed:
            return [segment]
        starts = self.starts()
        owned: list[list[dict[str, Any]]] = [[] for _ in self.pieces]
        for word in segment.get("words") or []:
            middle = (word["start"] + word["end"]) / 2
            index = max([i for i, start in enumerate(starts) if middle >= start - PACKING_GAP / 2] or [0])
            window = self.pieces[index][1]
            shift = window.offset - starts[index]
            start, end = (min(max(time + shift, window.offset), window.offset + window.duration) for time in (word["start"], word["end"]))
            owned[index].append({**word, "start": round(start, 3), "end": round(end, 3)})
        return [
            {**segment, "text": "".join(w["word"] for w in words), "tokens": [],
             "start": words[0]["start"] if words else window.offset, "end": words[-1]["end"] if words else window.offset,
             "seek": 0, "words": words}
            for words, (_, window) in zip(owned, self.pieces)
        ]


#: Audio at least this long is searched for speech in two halves at once: the VAD model runs on one core, and on a
#: lone long file the other one would wait for it.
HALVED_VAD_SECONDS = 60.0
#: The halves meet at the quietest half second within this many seconds of the middle.
SPLIT_SEARCH_SECONDS = 5.0
_vad_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="engine-vad")


def speech_regions(audio: np.ndarray, longest: float) -> list[dict[str, int]]:
    """Where the audio has speech (Silero VAD, regions of at most ``longest`` seconds), in samples."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=longest, min_silence_duration_ms=160)
    if len(audio) < HALVED_VAD_SECONDS * SAMPLE_RATE:
        return get_speech_timestamps(audio, options)
    split = quietest_point(audio, len(audio) // 2, int(SPLIT_SEARCH_SECONDS * SAMPLE_RATE))
    first, second = _vad_threads.map(lambda part: get_speech_timestamps(part, options), (audio[:split], audio[split:]))
    return first + [{"start": region["start"] + split, "end": region["end"] + split} for region in second]


def quietest_point(audio: np.ndarray, middle: int, reach: int) -> int:
    """The middle of the quietest half second of the audio within ``reach`` samples of ``middle`` (the middle of a
    pause, so that the speech on either side keeps the VAD's padding)."""
    frame = SAMPLE_RATE // 50
    start = max(0, middle - reach)
    span = audio[start:middle + reach]
    energy = np.square(span[: len(span) // frame * frame].reshape(-1, frame)).mean(axis=1)
    smoothed = np.convolve(energy, np.ones(25) / 25, mode="same")
    return start + int(np.argmin(smoothed)) * frame


def validate(request: dict[str, Any]) -> tuple[str, str, str | None]:
    """The request's model, task and language, or a typed refusal."""
    name = canonical_name(request.get("model"))
    task = request.get("task") or "transcribe"
    if task not in ("transcribe", "translate"):
        raise EngineError(BAD_REQUEST, f"unknown task '{task}'")
    if task == "translate" and name not in MULTILINGUAL:
        raise EngineError(UNSUPPORTED_TASK, f"model '{name}' is English-only and cannot translate")
    if diarize.asked(request):
        diarize.require_available()
    language = request.get("language") or None
    if name.endswith(".en"):
        language = "en"
    return name, task, language


def prepare(request: dict[str, Any], model: Any, audio: np.ndarray) -> Job:
    """Cuts decoded audio into windows, detects the language where none is given, and builds the decoder prompt."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.vad import collect_chunks

    name, task, language = validate(request)
    chunk_length = model.feature_extractor.chunk_length
    if request.get("vad_filter", True) is False:
        # Every 30 s of the audio, silence included, as sequential Whisper decodes it.
        step = chunk_length * SAMPLE_RATE
        speech = [{"start": start, "end": min(start + step, len(audio))} for start in range(0, len(audio), step)]
    else:
        speech = speech_regions(audio, chunk_length)
    chunks, metadata = collect_chunks(audio, speech, max_duration=chunk_length) if speech else ([], [])
    speech_chunks = [(chunk, meta) for chunk, meta in zip(chunks, metadata) if meta["duration"] > 0]
    windows = [
        Window(index, model.feature_extractor(chunk)[..., :-1], meta["offset"], meta["duration"],
               chunk if meta["duration"] <= PACKABLE_SECONDS else None)
        for index, (chunk, meta) in enumerate(speech_chunks)
    ]
    if language is None:
        if model.model.is_multilingual and windows:
            padding = np.full((model.model.n_mels, 1), -1.5, dtype="float32")
            language, _, _ = model.detect_language(features=np.concatenate([w.features for w in windows] + [padding], axis=1))
        else:
            language = "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=task, language=language)
    prompt_text = (request.get("prompt") or "").strip() or None
    previous = tokenizer.encode(" " + prompt_text) if prompt_text else []
    job = Job(
        id=str(request.get("id")), model_name=name, task=task, language=language,
        word_timestamps=bool(request.get("word_timestamps")),
        fine_segments=bool(request.get("word_timestamps") or diarize.asked(request) or not request.get("text_only")),
        duration=len(audio) / SAMPLE_RATE,
        speech=speech,
        windows=windows, tokenizer=tokenizer,
    )
    # As faster-whisper's batched pipeline decodes: text only, no timestamp tokens (a window is decoded once, and
    # with timestamps the model drops words at window ends; measured: word accuracy 0.87 against 0.98 without).
    job.prompt = model.get_prompt(tokenizer, previous_tokens=previous, without_timestamps=True)
    return job
