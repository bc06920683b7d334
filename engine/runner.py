"""Loads models and decodes audio for the scheduler, and runs a transcription as one blocking call (the cloud worker's
way in; the engine process speaks JSON lines to the scheduler directly)."""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

from .errors import INVALID_AUDIO, EngineError
from .models import canonical_name, model_path
from .scheduler import Scheduler, default_batch_size
from .windows import SAMPLE_RATE
#: Shorter audio than this is treated as broken, not as silence.
MIN_SECONDS = 0.1
ProgressCallback = Callable[[int, "dict[str, Any] | None"], None]

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
    loaded = _models.get(name)
    if loaded is not None:  # no lock once loaded: the batch thread never waits for another model's load
        return loaded
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


_scheduler: Scheduler | None = None


def scheduler() -> Scheduler:
    """The process's one scheduler: every job of this process shares its batches and its loaded models."""
    global _scheduler
    with _lock:
        if _scheduler is None:
            _scheduler = Scheduler(
                load_model, decode, batch_size=default_batch_size(_device()), beam_size=int(os.environ.get("WHISPER_BEAM_SIZE", "5"))
            )
        return _scheduler


def transcribe(request: dict[str, Any], on_progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Transcribes ``request['audio']`` and returns the canonical result JSON object, batched with whatever else this
    process is transcribing at the same time. Blocks the calling thread; raises ``EngineError`` for a typed failure."""
    done = threading.Event()
    outcome: dict[str, Any] = {}
    request = {**request, "id": request.get("id") or f"local-{id(done)}"}

    def listen(message: dict[str, Any]) -> None:
        if message["type"] == "progress":
            if on_progress:
                on_progress(message["progress"], message.get("segment"))  # none while speakers are being found
            return
        outcome.update(message)
        done.set()

    scheduler().submit(request, listen)
    done.wait()
    if outcome["type"] == "error":
        raise EngineError(outcome["code"], outcome["message"])
    return outcome["result"]
