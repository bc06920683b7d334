"""JSON-lines server: requests on stdin, messages on stdout; many jobs at once, batched by the scheduler.

Requests: {"id": "...", "audio": "/path", "model": "tiny.en", "language": null, "task": "transcribe",
           "prompt": null, "word_timestamps": false} to transcribe, {"type": "cancel", "id": "..."} to stop one.
Messages: {"type": "ready"} once at start, {"type": "batch", "model", "size"} after each batch is decoded, then per
          job any number of {"type": "progress", "id", "progress", "segment"} and exactly one of {"type": "result",
          "id", "result"} or {"type": "error", "id", "code", "message"}. A cancelled job gets no further messages.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from .errors import BAD_REQUEST, EngineError
from .runner import load_model, scheduler


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    """Answers requests until stdin closes."""
    for name in filter(None, os.environ.get("WHISPER_PRELOAD", "").split(",")):
        try:
            load_model(name)
        except EngineError:
            pass
    writing = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")) + "\n"
        with writing:
            stdout.write(line)
            stdout.flush()

    jobs = scheduler()
    jobs.on_batch(lambda model, rows: send({"type": "batch", "model": model, "size": rows}))
    send({"type": "ready", "pid": os.getpid(), "batch_size": jobs.batch_size})
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            send({"type": "error", "id": None, "code": BAD_REQUEST, "message": "request is not valid JSON"})
            continue
        if not isinstance(request, dict):
            send({"type": "error", "id": None, "code": BAD_REQUEST, "message": "request must be a JSON object"})
        elif request.get("type") == "cancel":
            jobs.cancel(str(request.get("id")))
        else:
            jobs.submit(request, send)


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process when its parent (the worker) dies."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


if __name__ == "__main__":
    _die_with_parent()
    # Keep stdout for protocol messages only.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    serve(sys.stdin, protocol_out)
