"""Runs one transcription with faster-whisper and builds the canonical result."""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

from .errors import BAD_REQUEST, INVALID_AUDIO, UNSUPPORTED_TASK, EngineError
from .models import MULTILINGUAL, canonical_name, model_path

SAMPLE_RATE = 16000
#: Shorter audio than this is treated as broken, not as silence.
MIN_SECONDS = 0.1
ProgressCallback = Callable[[int, dict[str, Any]], None]

_models: dict[str, Any] = {}
_lock = threading.Lock()


def _device() -> str:
    wanted = os.environ.get("WHISPER_DEVICE", "cpu")
    if wanted != "auto":
        return wanted
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # pragma: no cover - depends on the machine
        return "cpu"


def load_model(name: str) -> Any:
    """Loads a model once per process and keeps it for every later job."""
    from faster_whisper import WhisperModel

    name = canonical_name(name)
    with _lock:
        if name not in _models:
            device = _device()
            compute = os.environ.get("WHISPER_COMPUTE_TYPE", "int8" if device == "cpu" else "float16")
            threads = int(os.environ.get("WHISPER_CPU_THREADS", "0"))
            _models[name] = WhisperModel(model_path(name), device=device, compute_type=compute, cpu_threads=threads)
        return _models[name]


def decode(path: str):
    """Decodes any PyAV-readable file to 16 kHz mono samples, or raises INVALID_AUDIO."""
    from faster_whisper import decode_audio

    if not os.path.exists(path):
        raise EngineError(INVALID_AUDIO, "audio file is missing")
    try:
        audio = decode_audio(path, sampling_rate=SAMPLE_RATE)
    except Exception as error:  # PyAV raises many types for bad input
        raise EngineError(INVALID_AUDIO, f"audio could not be decoded: {type(error).__name__}") from None
    decoded = len(audio) / SAMPLE_RATE
    if decoded < MIN_SECONDS:
        raise EngineError(INVALID_AUDIO, f"audio is empty or truncated: only {decoded:.3f} s could be decoded")
    declared = _declared_duration(path)
    if declared and declared > 1 and decoded < declared * 0.5:
        raise EngineError(
            INVALID_AUDIO, f"audio is truncated: {decoded:.1f} s of the declared {declared:.1f} s could be decoded"
        )
    return audio


def _declared_duration(path: str) -> float | None:
    """The duration the container's header claims, when it claims one."""
    import av

    try:
        with av.open(path) as container:
            if container.duration:
                return container.duration / 1_000_000
    except Exception:
        return None
    return None


def transcribe(request: dict[str, Any], on_progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Transcribes ``request['audio']`` and returns the canonical result JSON object."""
    name = canonical_name(request.get("model"))
    task = request.get("task") or "transcribe"
    if task not in ("transcribe", "translate"):
        raise EngineError(BAD_REQUEST, f"unknown task '{task}'")
    if task == "translate" and name not in MULTILINGUAL:
        raise EngineError(UNSUPPORTED_TASK, f"model '{name}' is English-only and cannot translate")
    language = request.get("language") or None
    if name.endswith(".en"):
        language = "en"
    model = load_model(name)
    audio = decode(str(request.get("audio", "")))
    duration = len(audio) / SAMPLE_RATE
    words_wanted = bool(request.get("word_timestamps"))
    segments_iter, info = model.transcribe(
        audio,
        language=language,
        task=task,
        initial_prompt=request.get("prompt") or None,
        word_timestamps=words_wanted,
        beam_size=int(os.environ.get("WHISPER_BEAM_SIZE", "5")),
        vad_filter=False,
    )
    segments = []
    for index, segment in enumerate(segments_iter):
        item: dict[str, Any] = {
            "id": index,
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "text": segment.text.strip(),
            "avg_logprob": segment.avg_logprob,
            "no_speech_prob": segment.no_speech_prob,
        }
        if words_wanted and segment.words:
            item["words"] = [
                {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3), "probability": w.probability}
                for w in segment.words
            ]
        segments.append(item)
        if on_progress:
            progress = int(min(99, max(0, segment.end / duration * 100))) if duration > 0 else 99
            on_progress(progress, item)
    return {
        "text": " ".join(s["text"] for s in segments if s["text"]).strip(),
        "language": info.language,
        "duration": round(duration, 3),
        "model": name,
        "task": task,
        "segments": segments,
    }
